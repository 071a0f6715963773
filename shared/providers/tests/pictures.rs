//! Pictures through the real clients and the fakes: uploaded once and shared by every batch,
//! the upload retried with its delivery, a picture refused for good never holding back the
//! figures, and the robot's picture with its MD5.
mod common;

use base64::Engine as _;
use chrono::{Duration, Utc};
use common::{feishu, feishu_creds, wecom, wecom_creds};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::image::{Image, ImageRef};
use herald_core::domain::message::{
    FeishuBody, FeishuMessage, FeishuRecipient, RobotBody, RobotMessage, WecomAppMessage, WecomBody,
};
use herald_core::domain::recipients::{FeishuOpenId, WecomUserId};
use herald_core::domain::task::RobotKey;
use herald_core::ports::{ImageStore, SendFailure};
use herald_fakes::{Endpoint, Fault, FaultRule, FeishuConfig, FeishuUser, WecomConfig};
use herald_providers::Time;
use serde_json::json;

/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async fn stored(images: &impl ImageStore) -> ImageRef {
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let image = Image::png(png, 1, 1);
    let project = ProjectId::parse("payments").unwrap();
    images
        .put_image(&project, &image, Utc::now() + Duration::days(1))
        .await
        .unwrap();
    image.reference(&project, "snapshot")
}

fn batch(users: &[&str], image: Option<ImageRef>) -> WecomAppMessage {
    WecomAppMessage {
        to_users: users
            .iter()
            .map(|u| WecomUserId::parse(*u).unwrap())
            .collect(),
        to_parties: vec![],
        to_tags: vec![],
        body: WecomBody::Markdown {
            content: "**GMV** 1.23M (▲ 12.2%)".into(),
        },
        image,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_batch_of_a_run_shows_the_one_upload() {
    let w = wecom(WecomConfig::default().with_users(["a", "b", "c"])).await;
    let creds = wecom_creds(&w.fake);
    let image = stored(w.images.as_ref()).await;
    let sends: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|u| {
            let (providers, creds, msg) = (
                w.providers.clone(),
                creds.clone(),
                batch(&[u], Some(image.clone())),
            );
            tokio::spawn(async move {
                providers
                    .wecom
                    .send(&creds, &msg, &format!("k-{}", msg.to_users[0]))
                    .await
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    let uploads = w.fake.uploads();
    assert_eq!(
        uploads.len(),
        1,
        "single-flight: one upload for three batches"
    );
    let images: Vec<_> = w
        .fake
        .delivered()
        .into_iter()
        .filter(|m| m.msgtype == "image")
        .collect();
    assert_eq!(images.len(), 3);
    assert!(
        images
            .iter()
            .all(|m| m.body["image"]["media_id"] == json!(uploads[0].key))
    );
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomUpload), 1);
}

#[tokio::test]
async fn a_failed_upload_fails_its_delivery_for_a_retry_and_the_retry_sends_both() {
    let w = wecom(WecomConfig::default().with_users(["a"])).await;
    let creds = wecom_creds(&w.fake);
    let image = stored(w.images.as_ref()).await;
    w.fake
        .inject(FaultRule::next(1, Fault::SystemBusy).on(Endpoint::WecomUpload));
    let msg = batch(&["a"], Some(image));
    let err = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!(err.failure, SendFailure::Transient);
    assert!(
        err.message.contains("uploading the snapshot"),
        "{}",
        err.message
    );
    assert!(
        w.fake.delivered().is_empty(),
        "nothing sent before the picture is up"
    );
    let receipt = w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
    assert!(
        receipt.answer.contains("uploaded the snapshot"),
        "{}",
        receipt.answer
    );
    let sent: Vec<String> = w
        .fake
        .delivered()
        .iter()
        .map(|m| m.msgtype.clone())
        .collect();
    assert_eq!(sent, ["image", "markdown"]);
}

#[tokio::test]
async fn a_picture_gone_from_the_store_does_not_hold_back_the_figures() {
    let w = wecom(WecomConfig::default().with_users(["a"])).await;
    let creds = wecom_creds(&w.fake);
    let mut image = stored(w.images.as_ref()).await;
    image.id = herald_core::domain::image::ImageId::of(b"not stored");
    let receipt = w
        .providers
        .wecom
        .send(&creds, &batch(&["a"], Some(image)), "k")
        .await
        .unwrap();
    assert!(
        receipt.answer.contains("snapshot: not sent"),
        "{}",
        receipt.answer
    );
    let sent: Vec<String> = w
        .fake
        .delivered()
        .iter()
        .map(|m| m.msgtype.clone())
        .collect();
    assert_eq!(sent, ["markdown"]);
    assert!(w.fake.uploads().is_empty());
}

#[tokio::test]
async fn the_fake_refuses_a_media_id_it_never_issued() {
    let w = wecom(WecomConfig::default().with_users(["a"])).await;
    let creds = wecom_creds(&w.fake);
    let image = stored(w.images.as_ref()).await;
    w.providers
        .wecom
        .send(&creds, &batch(&["a"], Some(image)), "k")
        .await
        .unwrap();
    // Straight at the fake: an image message naming a made-up media id.
    let token = w.fake.delivered()[0].token.clone().unwrap();
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/cgi-bin/message/send?access_token={token}",
            w.url
        ))
        .json(
            &json!({"touser": "a", "msgtype": "image", "agentid": creds.settings.agent_id,
                      "image": {"media_id": "made-up"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["errcode"], 40007, "{reply}");
}

#[tokio::test]
async fn a_feishu_card_and_post_show_the_uploaded_image_key() {
    let f = feishu(
        FeishuConfig::default().with_user(FeishuUser::new("ou_a")),
        Time::system(),
    )
    .await;
    let creds = feishu_creds(&f.fake);
    let image = stored(f.images.as_ref()).await;
    let to = FeishuRecipient::OpenId(FeishuOpenId::parse("ou_a").unwrap());
    let card = FeishuMessage {
        to: to.clone(),
        body: FeishuBody::Interactive {
            card: json!({"elements": [{"tag": "markdown", "content": "**GMV** 1.23M"}]}),
            image: Some(image.clone()),
        },
    };
    let post = FeishuMessage {
        to,
        body: FeishuBody::Post {
            title: "Sales".into(),
            paragraphs: vec![],
            image: Some(image),
        },
    };
    let receipt = f.providers.feishu.send(&creds, &card, "k1").await.unwrap();
    assert!(
        receipt.answer.contains("uploaded the snapshot"),
        "{}",
        receipt.answer
    );
    f.providers.feishu.send(&creds, &post, "k2").await.unwrap();
    let uploads = f.fake.uploads();
    assert_eq!(uploads.len(), 1, "one image key for both");
    let sent = f.fake.delivered();
    let card = sent[0].content.clone().unwrap();
    assert_eq!(card["elements"][0]["img_key"], json!(uploads[0].key));
    let post = sent[1].content.clone().unwrap();
    assert_eq!(
        post["zh_cn"]["content"][0][0]["image_key"],
        json!(uploads[0].key)
    );
}

#[tokio::test]
async fn the_robot_gets_the_picture_as_base64_with_its_md5() {
    let key = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa";
    let w = wecom(WecomConfig::default().with_robot_key(key)).await;
    let image = stored(w.images.as_ref()).await;
    let msg = RobotMessage {
        key: RobotKey::parse(key).unwrap().into(),
        body: RobotBody::Image { image },
        group: None,
    };
    w.providers.robot.send(&msg, "k").await.unwrap();
    let sent = w.fake.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msgtype, "image");
    assert_eq!(sent[0].body["image"]["base64"], PNG);
}
