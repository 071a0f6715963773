use crate::common::*;
use herald_fakes::Endpoint;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn gettoken_checks_corpid_and_secret() {
    let w = wecom().await;
    let ok = w
        .get(&format!(
            "/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}"
        ))
        .await;
    assert_eq!(ok["errcode"], 0);
    assert_eq!(ok["errmsg"], "ok");
    assert_eq!(ok["expires_in"], 7200);
    assert!(
        ok["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty() && t.len() <= 512)
    );

    let bad_corp = w
        .get(&format!(
            "/cgi-bin/gettoken?corpid=nope&corpsecret={SECRET}"
        ))
        .await;
    assert_wecom_error(&bad_corp, 40013, "invalid corpid");
    let bad_secret = w
        .get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret=nope"))
        .await;
    assert_wecom_error(&bad_secret, 40001, "invalid credential");
    let missing = w.get("/cgi-bin/gettoken?corpsecret=x").await;
    assert_wecom_error(&missing, 41002, "corpid missing");
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomGettoken), 4);
}

#[tokio::test]
async fn send_reports_unknown_users_lower_cased() {
    let w = wecom().await;
    let token = w.token().await;
    let body = w
        .send_raw(&token, &text_to("ALICE|Dave|carol|EVE|dave", "hi"))
        .await;
    assert_eq!(body["errcode"], 0, "{body}");
    assert_eq!(body["errmsg"], "ok");
    assert_eq!(body["invaliduser"], "dave|eve");
    assert!(body["msgid"].as_str().is_some_and(|m| !m.is_empty()));

    let delivered = w.fake.delivered();
    assert_eq!(delivered.len(), 1);
    let m = &delivered[0];
    assert_eq!(m.recipients, ["ALICE", "Dave", "carol", "EVE", "dave"]);
    assert_eq!(m.msgtype, "text");
    assert_eq!(m.body["text"]["content"], "hi");
    assert_eq!(m.token.as_deref(), Some(token.as_str()));
    assert_eq!(m.invalid_users, ["dave", "eve"]);
    assert_eq!(Some(m.message_id.as_str()), body["msgid"].as_str());
    let calls = w.fake.calls();
    let send = calls
        .iter()
        .find(|c| c.endpoint == Endpoint::WecomSend)
        .expect("send call");
    assert_eq!(
        (send.token.as_deref(), send.code),
        (Some(token.as_str()), Some(0))
    );
}

#[tokio::test]
async fn all_unknown_recipients_is_81013_and_not_delivered() {
    let w = wecom().await;
    let body = w.send(&text_to("Zed|yan", "hi")).await;
    assert_wecom_error(&body, 81013, "user & party & tag all invalid");
    assert_eq!(body["invaliduser"], "zed|yan");
    let mut party = text_to("", "hi");
    party["toparty"] = json!("7");
    assert_eq!(w.send(&party).await["errcode"], 81013);
    assert!(w.fake.messages().is_empty());
}

#[tokio::test]
async fn recipient_list_limits() {
    let w = wecom().await;
    let token = w.token().await;
    let users = |n: usize| {
        (0..n)
            .map(|i| format!("u{i}"))
            .collect::<Vec<_>>()
            .join("|")
    };
    let body = w
        .send_raw(&token, &text_to(&format!("alice|{}", users(999)), "x"))
        .await;
    assert_eq!(body["errcode"], 0, "1000 users are allowed");
    let body = w
        .send_raw(&token, &text_to(&format!("alice|{}", users(1000)), "x"))
        .await;
    assert_wecom_error(&body, 40032, "invalid userid size");

    let empty = w.send_raw(&token, &text_to("", "x")).await;
    assert_wecom_error(&empty, 82001, "All touser & toparty & totag invalid");
    let mut parties = text_to("alice", "x");
    parties["toparty"] = json!(users(101));
    assert_eq!(w.send_raw(&token, &parties).await["errcode"], 82002);
    let mut tags = text_to("alice", "x");
    tags["totag"] = json!(users(101));
    assert_eq!(w.send_raw(&token, &tags).await["errcode"], 82003);
}

#[tokio::test]
async fn token_checks_and_expiry_with_the_movable_clock() {
    let w = wecom().await;
    let token = w.token().await;
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        0
    );
    w.fake.advance(Duration::from_secs(7199));
    assert_eq!(
        w.send_raw(&token, &text_to("alice", "x")).await["errcode"],
        0
    );
    w.fake.advance(Duration::from_secs(1));
    let expired = w.send_raw(&token, &text_to("alice", "x")).await;
    assert_wecom_error(&expired, 42001, "access_token expired");
    let unknown = w.send_raw("bogus", &text_to("alice", "x")).await;
    assert_wecom_error(&unknown, 40014, "invalid access_token");
    let missing = w.send_raw("", &text_to("alice", "x")).await;
    assert_wecom_error(&missing, 41001, "access_token missing");
    let fresh = w.token().await;
    w.fake.revoke_tokens();
    assert_eq!(
        w.send_raw(&fresh, &text_to("alice", "x")).await["errcode"],
        40014
    );
}

#[tokio::test]
async fn agentid_method_and_json_checks() {
    let w = wecom().await;
    let token = w.token().await;
    let mut wrong = text_to("alice", "x");
    wrong["agentid"] = json!(1_000_009);
    assert_wecom_error(&w.send_raw(&token, &wrong).await, 40056, "invalid agentid");
    // The corp's other app: the token is not that app's.
    wrong["agentid"] = json!(1_000_003);
    assert_wecom_error(
        &w.send_raw(&token, &wrong).await,
        301002,
        "not allow operate another agent with this accesstoken.",
    );
    wrong["agentid"] = json!("1000002");
    assert_eq!(
        w.send_raw(&token, &wrong).await["errcode"],
        0,
        "string agentid accepted"
    );
    let mut missing = text_to("alice", "x");
    missing.as_object_mut().map(|o| o.remove("agentid"));
    assert_eq!(w.send_raw(&token, &missing).await["errcode"], 41011);

    let other = w
        .get(&format!(
            "/cgi-bin/gettoken?corpid={CORP}&corpsecret=other-secret"
        ))
        .await;
    let other_token = other["access_token"].as_str().expect("token");
    assert_eq!(
        w.send_raw(other_token, &text_to("alice", "x")).await["errcode"],
        301002
    );

    let get = w
        .get(&format!("/cgi-bin/message/send?access_token={token}"))
        .await;
    assert_eq!(get["errcode"], 40058);
    let url = format!("{}/cgi-bin/message/send?access_token={token}", w.base);
    let resp = w
        .http
        .post(url)
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json")["errcode"],
        40058
    );
}

#[tokio::test]
async fn body_limits_per_msgtype() {
    let w = wecom().await;
    let token = w.token().await;
    let send = |body| {
        let (w, token) = (&w, &token);
        async move {
            w.send_raw(token, &body).await["errcode"]
                .as_i64()
                .expect("errcode")
        }
    };
    // 682 three-byte chars = 2046 bytes, plus 2 = 2048: allowed; one more byte is not.
    let at_limit = format!("{}ab", "汉".repeat(682));
    assert_eq!(send(text_to("alice", &at_limit)).await, 0);
    assert_eq!(send(text_to("alice", &format!("{at_limit}c"))).await, 45002);
    assert_eq!(send(text_to("alice", "")).await, 44004);
    let markdown = |c: &str| json!({"touser": "alice", "msgtype": "markdown", "agentid": AGENT, "markdown": {"content": c}});
    assert_eq!(send(markdown(&"m".repeat(2048))).await, 0);
    assert_eq!(send(markdown(&"m".repeat(2049))).await, 45002);
    let card = |title: &str, description: Option<&str>| {
        let mut card = json!({"title": title, "url": "https://x.test/r"});
        if let Some(d) = description {
            card["description"] = json!(d);
        }
        json!({"touser": "alice", "msgtype": "textcard", "agentid": AGENT, "textcard": card})
    };
    assert_eq!(send(card("t", Some("d"))).await, 0);
    assert_eq!(send(card("t", None)).await, 41033);
    assert_eq!(send(card(&"t".repeat(129), Some("d"))).await, 45002);
    assert_eq!(send(card("t", Some(&"d".repeat(513)))).await, 45002);
    let news = |n: usize| {
        let articles: Vec<_> = (0..n)
            .map(|i| json!({"title": format!("a{i}"), "url": "https://x.test"}))
            .collect();
        json!({"touser": "alice", "msgtype": "news", "agentid": AGENT, "news": {"articles": articles}})
    };
    assert_eq!(send(news(8)).await, 0);
    assert_eq!(send(news(9)).await, 45008);
    assert_eq!(
        send(json!({"touser": "alice", "msgtype": "fax", "agentid": AGENT})).await,
        40008
    );
    assert_wecom_error(
        &w.send_raw(&token, &text_to("alice", &"x".repeat(2049)))
            .await,
        45002,
        "text.content size out of limit 2048 bytes. content size exceeds limit",
    );
}

#[tokio::test]
async fn duplicate_check_suppresses_identical_requests_within_the_interval() {
    let w = wecom().await;
    let token = w.token().await;
    let mut body = text_to("alice", "same");
    body["enable_duplicate_check"] = json!(1);
    body["duplicate_check_interval"] = json!(600);
    body["safe"] = json!(0);
    let first = w.send_raw(&token, &body).await;
    let second = w.send_raw(&token, &body).await;
    assert_eq!(
        (first["errcode"].clone(), second["errcode"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(first["msgid"], second["msgid"]);
    assert_eq!(w.fake.delivered().len(), 1);
    let all = w.fake.messages();
    assert_eq!(all.len(), 2);
    assert!(all[1].suppressed_duplicate);
    assert_eq!(
        (all[0].enable_duplicate_check, all[0].safe),
        (Some(1), Some(0))
    );
    assert_eq!(w.fake.stats().suppressed_duplicates, 1);

    let mut changed = body.clone();
    changed["text"]["content"] = json!("different");
    w.send_raw(&token, &changed).await;
    assert_eq!(
        w.fake.delivered().len(),
        2,
        "a different request is delivered"
    );

    w.fake.advance(Duration::from_secs(601));
    let later = w.send_raw(&token, &body).await;
    assert_ne!(later["msgid"], first["msgid"]);
    assert_eq!(
        w.fake.delivered().len(),
        3,
        "delivered again after the interval"
    );

    let plain = text_to("alice", "no check");
    w.send_raw(&token, &plain).await;
    w.send_raw(&token, &plain).await;
    assert_eq!(
        w.fake.delivered().len(),
        5,
        "without the flag both are delivered"
    );
}

#[tokio::test]
async fn at_all_reaches_everyone_and_stats_count() {
    let w = wecom().await;
    let body = w.send(&text_to("@all", "hi all")).await;
    assert_eq!(
        (body["errcode"].clone(), body["invaliduser"].clone()),
        (json!(0), json!(""))
    );
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 1);
    assert_eq!(stats.delivered, 1);
}
