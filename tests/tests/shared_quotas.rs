//! Provider quotas held across processes: four sets of provider clients (four delivery
//! instances) send to one WeCom robot, counting its 20 messages a minute in the DynamoDB table on
//! moto. The fake robot, on the same manual clock, refuses the 21st message of any minute (45009).
//! The same four send app messages to three WeCom members, whose 30 a minute the fake enforces as
//! WeCom does: the excess is dropped silently.
use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::channels::{WecomCredentials, WecomSettings};
use herald_core::domain::message::{RobotBody, RobotMessage, WecomAppMessage, WecomBody};
use herald_core::domain::recipients::WecomUserId;
use herald_core::domain::task::RobotKey;
use herald_fakes::{Endpoint, FakeWecom, WecomConfig, serve, wecom_router};
use herald_providers::{HttpProviders, ProvidersConfig, Rate, SharedWindowsRef, Time, WindowQuota};
use herald_tests::providers::{AGENT_ID, CORP_ID, CORP_SECRET};
use std::sync::Arc;
use std::time::Duration;

const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
const INSTANCES: usize = 4;
const MESSAGES: usize = 48;

fn message(i: usize) -> RobotMessage {
    RobotMessage {
        key: RobotKey::parse(ROBOT_KEY).expect("robot key").into(),
        body: RobotBody::Text {
            content: format!("alarm {i}"),
            mentioned_list: Vec::new(),
        },
        group: None,
    }
}

/// Sends `MESSAGES` alarms, each from the next of `INSTANCES` clients (sharing `shared` when
/// given); answers the fake's robot calls: (seconds after the start, errcode).
async fn send_from_four_instances(shared: Option<SharedWindowsRef>) -> Vec<(f64, Option<i64>)> {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let fake = FakeWecom::with_clock(
        WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).with_robot_key(ROBOT_KEY),
        clock.clone(),
    );
    let (url, server) = serve(wecom_router(fake.clone())).await.expect("fake");
    let instances = four_instances(&url, &clock, shared);
    let start = clock.now();
    for i in 0..MESSAGES {
        let _ = instances[i % INSTANCES]
            .robot
            .send(&message(i), &format!("alarm-{i}"))
            .await;
    }
    server.abort();
    fake.calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::WecomRobot)
        .map(|c| ((c.at - start).as_seconds_f64(), c.code))
        .collect()
}

/// `INSTANCES` sets of provider clients on one manual clock, sharing `shared` when given.
fn four_instances(
    url: &str,
    clock: &Arc<ManualClock>,
    shared: Option<SharedWindowsRef>,
) -> Vec<HttpProviders> {
    let images: Arc<dyn herald_core::ports::ImageStore> = Arc::new(
        herald_embedded::SqliteStore::new(herald_embedded::Db::in_memory().expect("db")),
    );
    (0..INSTANCES)
        .map(|_| {
            let config = ProvidersConfig {
                time: Time::manual(clock.clone()),
                // Wait for a slot however far (the clock is manual: waits are instant).
                robot_quota: WindowQuota::new(
                    [Rate::new(20, Duration::from_secs(60))],
                    Duration::from_secs(600),
                ),
                shared_windows: shared.clone(),
                ..ProvidersConfig::new(url, url, herald_providers::Timeouts::default())
            };
            HttpProviders::new(config, images.clone()).expect("clients")
        })
        .collect()
}

/// The most accepted messages in any 60 s.
fn most_in_a_minute(calls: &[(f64, Option<i64>)]) -> usize {
    let accepted: Vec<f64> = calls
        .iter()
        .filter(|(_, code)| *code == Some(0))
        .map(|(at, _)| *at)
        .collect();
    accepted
        .iter()
        .map(|from| {
            accepted
                .iter()
                .filter(|t| **t >= *from && **t < from + 60.0)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn four_instances_sharing_the_table_keep_to_the_robots_twenty_a_minute() {
    let sdk = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&sdk).await;
    let store = Arc::new(herald_aws::DynamoStore::new(client, table));
    let calls = send_from_four_instances(Some(SharedWindowsRef(store))).await;
    let refused = calls.iter().filter(|(_, code)| *code != Some(0)).count();
    assert_eq!(refused, 0, "no 45009: {calls:?}");
    assert_eq!(calls.len(), MESSAGES, "every alarm sent once");
    assert!(most_in_a_minute(&calls) <= 20, "{calls:?}");
}

#[tokio::test]
async fn four_instances_counting_alone_exceed_it() {
    // The same sends with each instance counting only its own: the robot refuses some. (What the
    // shared record prevents.)
    let calls = send_from_four_instances(None).await;
    let refused = calls.iter().filter(|(_, code)| *code != Some(0)).count();
    assert!(refused > 0, "{calls:?}");
}

const MEMBERS: [&str; 3] = ["alice", "bob", "carol"];

/// What the fake WeCom did with 40 app messages to `MEMBERS`, sent four at a time (one from each
/// instance, concurrently): (accepted by WeCom, held back by Herald, member deliveries WeCom dropped
/// silently).
async fn message_three_members_from_four_instances(
    shared: Option<SharedWindowsRef>,
) -> (usize, usize, usize) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let fake = FakeWecom::with_clock(
        WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).with_users(MEMBERS),
        clock.clone(),
    );
    let (url, server) = serve(wecom_router(fake.clone())).await.expect("fake");
    let instances = four_instances(&url, &clock, shared);
    let creds = WecomCredentials {
        settings: WecomSettings {
            enabled: true,
            corp_id: CORP_ID.into(),
            agent_id: AGENT_ID,
            encrypted: false,
            proxy: None,
        },
        corp_secret: secrecy::SecretString::from(CORP_SECRET),
        proxy: None,
    };
    let message = |i: usize| WecomAppMessage {
        to_users: MEMBERS
            .iter()
            .map(|m| WecomUserId::parse(*m).expect("user id"))
            .collect(),
        to_parties: vec![],
        to_tags: vec![],
        body: WecomBody::Text {
            content: format!("ticket {i} needs review"),
        },
        image: None,
    };
    let mut held = 0;
    for round in 0..10 {
        let sends = instances.iter().enumerate().map(|(n, instance)| {
            let i = round * INSTANCES + n;
            let (creds, msg) = (&creds, message(i));
            async move { instance.wecom.send(creds, &msg, &format!("t{i}")).await }
        });
        held += futures::future::join_all(sends)
            .await
            .iter()
            .filter(|sent| sent.is_err())
            .count();
    }
    server.abort();
    (fake.messages().len(), held, fake.dropped().len())
}

#[tokio::test]
async fn four_instances_sharing_the_table_keep_each_members_thirty_a_minute() {
    let sdk = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&sdk).await;
    let store = Arc::new(herald_aws::DynamoStore::new(client, table));
    let (accepted, held, dropped) =
        message_three_members_from_four_instances(Some(SharedWindowsRef(store))).await;
    assert_eq!(dropped, 0, "WeCom dropped nothing");
    assert_eq!(accepted + held, 40, "each message sent or held back");
    // Races between the instances may hold back a message early (never let one more through).
    assert!((26..=30).contains(&accepted), "{accepted} sent");
}

#[tokio::test]
async fn four_instances_counting_members_alone_lose_messages() {
    let (accepted, held, dropped) = message_three_members_from_four_instances(None).await;
    assert_eq!(
        (accepted, held),
        (40, 0),
        "each instance let its 10 through"
    );
    assert!(dropped > 0, "WeCom dropped the excess silently");
}

/// Feishu calls answered 99991400 (over the app's 50 a second) and messages delivered, when
/// 120 messages go out one after another from the four instances in turn.
async fn message_feishu_from_four_instances(shared: Option<SharedWindowsRef>) -> (usize, usize) {
    use herald_core::domain::channels::{FeishuCredentials, FeishuSettings};
    use herald_core::domain::message::{FeishuBody, FeishuMessage, FeishuRecipient};
    use herald_core::domain::recipients::FeishuOpenId;
    use herald_tests::providers::{APP_ID, APP_SECRET};
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let config = herald_fakes::FeishuConfig {
        enforce_send_rate_limit: true,
        ..herald_fakes::FeishuConfig::new(APP_ID, APP_SECRET).open_directory()
    };
    let fake = herald_fakes::FakeFeishu::with_clock(config, clock.clone());
    let (url, server) = serve(herald_fakes::feishu_router(fake.clone()))
        .await
        .expect("fake");
    let instances = four_instances(&url, &clock, shared);
    let creds = FeishuCredentials {
        settings: FeishuSettings {
            enabled: true,
            app_id: APP_ID.into(),
        },
        app_secret: secrecy::SecretString::from(APP_SECRET),
    };
    for i in 0..120 {
        let msg = FeishuMessage {
            to: FeishuRecipient::OpenId(
                FeishuOpenId::parse(format!("ou_user{i}")).expect("open id"),
            ),
            body: FeishuBody::Text {
                text: format!("report {i}"),
            },
        };
        let _ = instances[i % INSTANCES]
            .feishu
            .send(&creds, &msg, &format!("f{i}"))
            .await;
    }
    server.abort();
    let refused = fake
        .calls()
        .iter()
        .filter(|c| c.code == Some(99991400))
        .count();
    (refused, fake.delivered().len())
}

#[tokio::test]
async fn four_instances_sharing_the_table_keep_to_feishus_fifty_a_second() {
    let sdk = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&sdk).await;
    let store = Arc::new(herald_aws::DynamoStore::new(client, table));
    let (refused, delivered) =
        message_feishu_from_four_instances(Some(SharedWindowsRef(store))).await;
    assert_eq!(refused, 0, "Feishu refused nothing");
    assert_eq!(delivered, 120);
}

#[tokio::test]
async fn four_instances_counting_feishu_alone_are_refused() {
    let (refused, _) = message_feishu_from_four_instances(None).await;
    assert!(refused > 0, "together they exceed 50 a second");
}

/// DingTalk robot calls (seconds after the start, errcode) when `MESSAGES` messages go to one
/// signed robot from the four instances in turn. DingTalk throttles a robot for 10 minutes after
/// its 21st message in a minute (130101), so one miscount costs ten minutes of the group's reports.
async fn send_dingtalk_from_four_instances(
    shared: Option<SharedWindowsRef>,
) -> Vec<(f64, Option<i64>)> {
    use herald_core::domain::dingtalk::{
        DingtalkRobotAddress, DingtalkRobotCredentials, DingtalkRobotSigning, DingtalkRobotToken,
    };
    use herald_core::domain::message::{DingtalkBody, DingtalkRobotMessage};
    use herald_tests::providers::{DINGTALK_ROBOT_SECRET, DINGTALK_ROBOT_TOKEN};
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let fake = herald_fakes::FakeDingtalk::with_clock(
        herald_fakes::DingtalkConfig::default()
            .with_signed_robot(DINGTALK_ROBOT_TOKEN, DINGTALK_ROBOT_SECRET),
        clock.clone(),
    );
    let (url, server) = serve(herald_fakes::dingtalk_router(fake.clone()))
        .await
        .expect("fake");
    let images: Arc<dyn herald_core::ports::ImageStore> = Arc::new(
        herald_embedded::SqliteStore::new(herald_embedded::Db::in_memory().expect("db")),
    );
    let instances: Vec<HttpProviders> = (0..INSTANCES)
        .map(|_| {
            let config = ProvidersConfig {
                time: Time::manual(clock.clone()),
                dingtalk_base_url: url.clone(),
                dingtalk_robot_quota: WindowQuota::new(
                    [Rate::new(20, Duration::from_secs(60))],
                    Duration::from_secs(600),
                ),
                shared_windows: shared.clone(),
                ..ProvidersConfig::default()
            };
            HttpProviders::new(config, images.clone()).expect("clients")
        })
        .collect();
    let start = clock.now();
    for i in 0..MESSAGES {
        let message = DingtalkRobotMessage {
            robot: DingtalkRobotAddress::Given(DingtalkRobotCredentials {
                access_token: DingtalkRobotToken::parse(DINGTALK_ROBOT_TOKEN).expect("token"),
                secret: Some(DingtalkRobotSigning::parse(DINGTALK_ROBOT_SECRET).expect("secret")),
            }),
            body: DingtalkBody::Markdown {
                title: "日报".into(),
                text: format!("report {i}"),
            },
            group: herald_core::domain::robot::GroupName::parse("华东销售").expect("name"),
        };
        let _ = instances[i % INSTANCES]
            .dingtalk_robot
            .send(&message, &format!("d{i}"))
            .await;
    }
    server.abort();
    fake.calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::DingtalkRobot)
        .map(|c| ((c.at - start).as_seconds_f64(), c.code))
        .collect()
}

#[tokio::test]
async fn four_instances_sharing_the_table_never_get_a_dingtalk_robot_throttled() {
    let sdk = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&sdk).await;
    let store = Arc::new(herald_aws::DynamoStore::new(client, table));
    let calls = send_dingtalk_from_four_instances(Some(SharedWindowsRef(store))).await;
    let refused = calls.iter().filter(|(_, code)| *code != Some(0)).count();
    assert_eq!(refused, 0, "no 130101: {calls:?}");
    assert_eq!(calls.len(), MESSAGES, "every message sent once");
    assert!(most_in_a_minute(&calls) <= 20, "{calls:?}");
}

#[tokio::test]
async fn four_instances_counting_alone_get_a_dingtalk_robot_throttled() {
    let calls = send_dingtalk_from_four_instances(None).await;
    assert!(
        calls.iter().any(|(_, code)| *code == Some(130101)),
        "{calls:?}"
    );
}
