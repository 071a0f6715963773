//! DingTalk custom robot: `POST /robot/send?access_token=…[&timestamp=&sign=]`. A signed robot
//! checks `sign` = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)) and a timestamp within
//! an hour (310000); a keyword robot wants a keyword in the message (310000); an unknown or removed
//! robot is 300001; the 21st message in a minute is 130101 and throttles the robot for 10 minutes;
//! a `msgUuid` already posted is answered ok and not posted again.
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::TimeDelta;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

use crate::dingtalk::{DingtalkRobot, FakeDingtalk, error};
use crate::record::{AcceptedMessage, Endpoint};
use crate::reply::{Reply, random_alnum};

/// A robot's request (`message too long, exceed 20000 bytes` beyond).
const ROBOT_MAX_BYTES: usize = 20_000;

pub(crate) async fn send(
    State(fake): State<FakeDingtalk>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").cloned().unwrap_or_default();
    fake.answer(Endpoint::DingtalkRobot, None, || {
        handle(&fake, &method, &token, &query, &body).unwrap_or_else(|reply| reply)
    })
    .await
}

fn robot(fake: &FakeDingtalk, token: &str) -> Result<DingtalkRobot, Reply> {
    let config = &fake.inner.config;
    let known = config.robots.iter().find(|r| r.token == token).cloned();
    let open = config.open_directory && !token.is_empty();
    match known.or_else(|| {
        open.then(|| DingtalkRobot {
            token: token.to_owned(),
            secret: None,
            keywords: Vec::new(),
        })
    }) {
        Some(robot) if !fake.state().removed.contains(token) => Ok(robot),
        _ => Err(error(300001, "token is not exist")),
    }
}

/// `sign` as DingTalk computes it.
pub fn dingtalk_sign(secret: &str, timestamp: &str) -> String {
    use base64::Engine as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(format!("{timestamp}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn check_security(
    fake: &FakeDingtalk,
    robot: &DingtalkRobot,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<(), Reply> {
    if let Some(secret) = &robot.secret {
        // The query's values arrive URL-decoded once, as DingTalk reads them.
        let (Some(timestamp), Some(sign)) = (query.get("timestamp"), query.get("sign")) else {
            return Err(error(310000, "sign not match"));
        };
        let at = timestamp.parse::<i64>().ok();
        let skew = at.map(|ms| (fake.now().timestamp_millis() - ms).abs());
        if skew.is_none_or(|ms| ms > 3_600_000) {
            return Err(error(310000, "invalid timestamp"));
        }
        if dingtalk_sign(secret, timestamp) != *sign {
            return Err(error(310000, "sign not match"));
        }
    }
    if !robot.keywords.is_empty() {
        let text = body.to_string();
        if !robot.keywords.iter().any(|k| text.contains(k.as_str())) {
            return Err(error(
                310000,
                "description:关键词不匹配;solution:请联系群管理员查看此机器人的关键词，并在发送的信息中包含此关键词;",
            ));
        }
    }
    Ok(())
}

fn validate(body: &Value) -> Result<String, Reply> {
    let msgtype = body["msgtype"].as_str().unwrap_or_default();
    let text = |section: &str, field: &str| body[section][field].as_str().unwrap_or_default();
    let ok = match msgtype {
        "text" => !text("text", "content").is_empty(),
        "markdown" => !text("markdown", "title").is_empty() && !text("markdown", "text").is_empty(),
        "link" | "actionCard" | "feedCard" => body[msgtype].is_object(),
        _ => return Err(error(400105, "不支持的消息类型")),
    };
    if ok {
        Ok(msgtype.to_owned())
    } else {
        Err(error(40035, "缺少参数 json"))
    }
}

/// Takes a slot in the robot's minute, or throttles it for 10 minutes (130101).
fn take_slot(fake: &FakeDingtalk, token: &str) -> Result<(), Reply> {
    let now = fake.now();
    let config = &fake.inner.config;
    let too_fast = || error(130101, "send too fast, exceed 20 times per minute");
    let mut state = fake.state();
    if state
        .throttled_until
        .get(token)
        .is_some_and(|until| now < *until)
    {
        return Err(too_fast());
    }
    let window = state.robot_window.entry(token.to_owned()).or_default();
    while window
        .front()
        .is_some_and(|t| *t <= now - TimeDelta::minutes(1))
    {
        window.pop_front();
    }
    if window.len() >= config.robot_per_minute {
        let penalty = TimeDelta::from_std(config.robot_penalty).unwrap_or(TimeDelta::minutes(10));
        state
            .throttled_until
            .insert(token.to_owned(), now + penalty);
        tracing::info!("fake dingtalk robot: throttled for sending too fast");
        return Err(too_fast());
    }
    window.push_back(now);
    Ok(())
}

fn handle(
    fake: &FakeDingtalk,
    method: &Method,
    token: &str,
    query: &HashMap<String, String>,
    raw: &[u8],
) -> Result<Reply, Reply> {
    let robot = robot(fake, token)?;
    if method != Method::POST {
        return Err(error(40035, "缺少参数 json"));
    }
    if raw.len() > ROBOT_MAX_BYTES {
        return Err(error(460101, "message too long, exceed 20000 bytes"));
    }
    let body: Value = serde_json::from_slice(raw).map_err(|_| error(40035, "缺少参数 json"))?;
    check_security(fake, &robot, query, &body)?;
    let msgtype = validate(&body)?;
    let uuid = body["msgUuid"].as_str().map(str::to_owned);
    // A `msgUuid` already posted is answered ok and not posted again.
    let key = uuid.as_ref().map(|u| (token.to_owned(), u.clone()));
    let repeat = key
        .as_ref()
        .is_some_and(|k| fake.state().robot_uuids.contains(k));
    if !repeat {
        take_slot(fake, token)?;
        fake.state().robot_uuids.extend(key);
    }
    fake.inner.recorder.accept(AcceptedMessage {
        msgtype,
        body: body.clone(),
        robot_key: Some(token.to_owned()),
        message_id: random_alnum(16),
        uuid,
        suppressed_duplicate: repeat,
        ..AcceptedMessage::new(fake.now(), Endpoint::DingtalkRobot)
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "ok"}),
    ))
}
