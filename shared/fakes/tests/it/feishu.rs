use crate::common::*;
use herald_fakes::Endpoint;
use serde_json::json;
use std::time::Duration;

const BATCH: &str = "/open-apis/contact/v3/users/batch_get_id";

#[tokio::test]
async fn token_is_flat_and_bad_secret_is_10014() {
    let f = feishu().await;
    let (status, body) = f.token_response(APP_SECRET).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["code"].clone(),
            body["msg"].clone(),
            body["expire"].clone()
        ),
        (json!(0), json!("ok"), json!(7200))
    );
    assert!(
        body["tenant_access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("t-"))
    );
    assert!(body.get("data").is_none());
    let (status, bad) = f.token_response("wrong").await;
    assert_eq!((status, bad["code"].clone()), (400, json!(10014)));
}

#[tokio::test]
async fn second_token_when_less_than_30_minutes_remain() {
    let f = feishu().await;
    let first = f.token().await;
    f.fake.advance(Duration::from_secs(90 * 60 - 1));
    let (_, same) = f.token_response(APP_SECRET).await;
    assert_eq!(
        same["tenant_access_token"],
        first.as_str(),
        "30 min left: same token"
    );
    assert!(
        same["expire"]
            .as_i64()
            .is_some_and(|e| (1799..=1801).contains(&e)),
        "{same}"
    );
    f.fake.advance(Duration::from_secs(2));
    let second = f.token().await;
    assert_ne!(second, first, "<30 min left: new token");
    let text = feishu_text("ou_alice", "hi");
    assert_eq!(
        f.send(&first, "open_id", &text).await.1["code"],
        0,
        "old token still valid"
    );
    f.fake.advance(Duration::from_secs(1800));
    let (status, expired) = f.send(&first, "open_id", &text).await;
    assert_eq!((status, expired["code"].clone()), (400, json!(99991663)));
    assert_eq!(f.send(&second, "open_id", &text).await.1["code"], 0);
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuToken), 3);
}

#[tokio::test]
async fn bearer_check() {
    let f = feishu().await;
    let body = json!({"emails": ["alice@x.com"]});
    let (status, missing) = f.post_json(None, BATCH, &body).await;
    assert_eq!((status, missing["code"].clone()), (400, json!(99991661)));
    assert!(missing["error"]["log_id"].is_string());
    let (status, bogus) = f.post_json(Some("t-bogus"), BATCH, &body).await;
    assert_eq!((status, bogus["code"].clone()), (400, json!(99991663)));
    let calls = f.fake.calls();
    assert_eq!(calls[1].token.as_deref(), Some("t-bogus"));
    assert_eq!(calls[1].code, Some(99991663));
}

#[tokio::test]
async fn batch_get_id_answers_one_entry_per_key() {
    let f = feishu().await;
    let token = f.token().await;
    let body = json!({"emails": ["ALICE@x.com", "nobody@x.com", "out@x.com"],
                      "mobiles": ["13800000002", "13900000000"], "include_resigned": false});
    let (status, answer) = f.post_json(Some(&token), BATCH, &body).await;
    assert_eq!(status, 200);
    assert_eq!(
        (answer["code"].clone(), answer["msg"].clone()),
        (json!(0), json!("success"))
    );
    let list = answer["data"]["user_list"].as_array().expect("user_list");
    assert_eq!(list.len(), 5);
    assert_eq!(
        (list[0]["user_id"].clone(), list[0]["email"].clone()),
        (json!("ou_alice"), json!("ALICE@x.com"))
    );
    assert!(list[0]["status"].is_object());
    assert_eq!(list[1], json!({"email": "nobody@x.com"}));
    assert_eq!(
        list[2],
        json!({"email": "out@x.com"}),
        "out of scope: no user_id"
    );
    assert_eq!(
        (list[3]["user_id"].clone(), list[3]["mobile"].clone()),
        (json!("ou_bob"), json!("13800000002"))
    );
    assert!(list[3].get("email").is_none());
    assert_eq!(list[4], json!({"mobile": "13900000000"}));

    let path = format!("{BATCH}?user_id_type=user_id");
    let (_, by_user_id) = f
        .post_json(
            Some(&token),
            &path,
            &json!({"emails": ["alice@x.com", "bob@x.com"]}),
        )
        .await;
    let list = &by_user_id["data"]["user_list"];
    assert_eq!(list[0]["user_id"], "u_alice");
    assert!(list[1].get("user_id").is_none(), "bob has no user_id");
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuBatchGetId), 2);
}

#[tokio::test]
async fn batch_get_id_rejects_more_than_50_keys() {
    let f = feishu().await;
    let token = f.token().await;
    let emails: Vec<String> = (0..51).map(|i| format!("u{i}@x.com")).collect();
    let (status, body) = f
        .post_json(Some(&token), BATCH, &json!({"emails": emails}))
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!(99992402)));
    assert_eq!(body["error"]["field_violations"][0]["field"], "emails");
    let mobiles: Vec<String> = (0..51).map(|i| format!("1380000{i:04}")).collect();
    let (status, body) = f
        .post_json(Some(&token), BATCH, &json!({"mobiles": mobiles}))
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!(99992402)));
    let fifty: Vec<String> = (0..50).map(|i| format!("u{i}@x.com")).collect();
    let (status, _) = f
        .post_json(
            Some(&token),
            BATCH,
            &json!({"emails": fifty, "mobiles": ["1"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = f
        .post_json(
            Some(&token),
            &format!("{BATCH}?user_id_type=email"),
            &json!({"emails": ["a@x.com"]}),
        )
        .await;
    assert_eq!(status, 400);
}
