use crate::common::*;
use axum::Router;
use herald_fakes::{Endpoint, Fault, FaultRule, serve, wecom_router};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn http_5xx_for_the_next_n_calls() {
    let w = wecom().await;
    w.fake
        .inject(FaultRule::next(2, Fault::Http { status: 502 }));
    let url = format!(
        "{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}",
        w.base
    );
    for _ in 0..2 {
        let resp = w.http.get(&url).send().await.expect("get");
        assert_eq!(resp.status(), 502);
    }
    assert_eq!(w.http.get(&url).send().await.expect("get").status(), 200);
    assert_eq!(w.fake.stats().faults_fired, 2);
    assert!(w.fake.fault_rules().is_empty());
}

#[tokio::test]
async fn untrusted_ip_on_every_wecom_call_until_cleared() {
    let w = wecom().await;
    let token = w.token().await;
    w.fake.inject(FaultRule::always(Fault::UntrustedIp));
    let get = w
        .get(&format!(
            "/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"
        ))
        .await;
    assert_wecom_error(&get, 60020, "not allow to access from your ip");
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        60020
    );
    w.fake.clear_faults();
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        0
    );
}

#[tokio::test]
async fn token_rejected_early_then_accepted() {
    let w = wecom().await;
    let token = w.token().await;
    w.fake.inject(FaultRule::next(1, Fault::TokenExpired));
    w.fake
        .inject(FaultRule::next(1, Fault::TokenInvalid).on(Endpoint::WecomSend));
    assert_eq!(
        w.get(&format!(
            "/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"
        ))
        .await["errcode"],
        0
    );
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        42001
    );
    assert_wecom_error(
        &w.send_raw(&token, &text_to("alice", "x")).await,
        40014,
        "invalid access_token",
    );
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        0
    );
    assert_eq!(w.fake.delivered().len(), 1);
}

#[tokio::test]
async fn wecom_rate_limit_and_system_busy() {
    let w = wecom().await;
    let token = w.token().await;
    w.fake
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 60 }));
    w.fake.inject(FaultRule::next(1, Fault::SystemBusy));
    assert_wecom_error(
        &w.send_raw(&token, &text_to("alice", "x")).await,
        45009,
        "api freq out of limit",
    );
    assert_wecom_error(
        &w.robot(
            ROBOT_KEY,
            &json!({"msgtype": "text", "text": {"content": "x"}}),
        )
        .await,
        -1,
        "system busy",
    );
}

#[tokio::test]
async fn delay_slows_the_answer() {
    let w = wecom().await;
    w.fake.inject(FaultRule::next(
        1,
        Fault::Delay {
            delay: Duration::from_millis(300),
        },
    ));
    let started = Instant::now();
    w.token().await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

async fn codes_with_seed(seed: u64) -> Vec<i64> {
    let w = wecom().await;
    let token = w.token().await;
    w.fake.seed_faults(seed);
    w.fake
        .inject(FaultRule::probability(0.5, Fault::SystemBusy).on(Endpoint::WecomSend));
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(
            w.send_raw(&token, &text_to("alice", "x")).await["errcode"]
                .as_i64()
                .expect("code"),
        );
    }
    codes
}

#[tokio::test]
async fn probability_with_a_fixed_seed_is_deterministic() {
    let first = codes_with_seed(42).await;
    assert_eq!(first, codes_with_seed(42).await);
    assert!(first.contains(&0) && first.contains(&-1), "{first:?}");
}

#[tokio::test]
async fn feishu_faults() {
    let f = feishu().await;
    let token = f.token().await;
    f.fake.inject(FaultRule::next(1, Fault::TokenInvalid));
    f.fake
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 7 }).on(Endpoint::FeishuSend));
    f.fake.inject(FaultRule::always(Fault::UntrustedIp));
    let (status, body) = f
        .send(&token, "open_id", &feishu_text("ou_alice", "x"))
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!(99991663)));
    let resp = f
        .post(
            Some(&token),
            "/open-apis/im/v1/messages?receive_id_type=open_id",
            &feishu_text("ou_alice", "x"),
        )
        .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-ogw-ratelimit-reset"], "7");
    assert!(resp.headers().contains_key("x-ogw-ratelimit-limit"));
    assert_eq!(resp.json::<Value>().await.expect("json")["code"], 99991400);
    assert_eq!(
        f.send(&token, "open_id", &feishu_text("ou_alice", "x"))
            .await
            .1["code"],
        0,
        "UntrustedIp is WeCom-only"
    );
}

#[tokio::test]
async fn inspection_api_works_when_nested_in_the_sandbox() {
    let w = wecom().await;
    let app = Router::new().nest("/sandbox/wecom", wecom_router(w.fake.clone()));
    let (base, _server) = serve(app).await.expect("serve");
    let token = w
        .get(&format!(
            "/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"
        ))
        .await;
    let token = token["access_token"].as_str().expect("token");
    let url = format!("{base}/sandbox/wecom/cgi-bin/message/send?access_token={token}");
    let sent: Value = w
        .http
        .post(url)
        .json(&text_to("alice", "nested"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(sent["errcode"], 0);
    let messages: Value = w
        .http
        .get(format!("{base}/sandbox/wecom/_fake/messages"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(messages[0]["body"]["text"]["content"], "nested");
    assert_eq!(messages[0]["endpoint"], "wecom_send");
    let stats: Value = w
        .http
        .get(format!("{base}/sandbox/wecom/_fake/stats"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["calls"]["wecom_send"], 1);
    assert_eq!(stats["calls"]["wecom_gettoken"], 1);
    assert_eq!(stats["delivered"], 1);
}
