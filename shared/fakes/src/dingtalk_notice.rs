//! `asyncsend_v2`: a work notice to at most 100 members. It answers a `task_id` whatever becomes
//! of each member: an unknown member is listed as invalid, and a notice DingTalk drops (the same
//! content to the member the same day: 143106; more than 500 that day: 143105) is accepted and
//! listed as forbidden, visible only through `getsendresult`.
use axum::http::StatusCode;
use chrono::FixedOffset;
use serde_json::{Value, json};

use crate::dingtalk::{FakeDingtalk, SendResult, check_app_token, error};
use crate::record::{AcceptedMessage, Endpoint};
use crate::reply::{Reply, random_alnum};
use herald_core::domain::limits::dingtalk::{NOTICE_MAX_USERS, NOTICE_MSG_MAX_BYTES};

/// DingTalk's day is China's.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"))
}

fn check_msg(fake: &FakeDingtalk, msg: &Value) -> Result<String, Reply> {
    let msgtype = msg["msgtype"].as_str().unwrap_or_default();
    let text = |section: &str, field: &str| msg[section][field].as_str().unwrap_or_default();
    match msgtype {
        "text" if !text("text", "content").is_empty() => {}
        "markdown"
            if !text("markdown", "title").is_empty() && !text("markdown", "text").is_empty() => {}
        "image" => {
            let media = text("image", "media_id");
            if !fake.state().uploads.iter().any(|u| u.key == media) {
                return Err(error(40007, "不合法的媒体文件id"));
            }
        }
        "text" | "markdown" => return Err(error(40035, "不合法的参数 msg")),
        _ => return Err(error(40008, "不合法的消息类型")),
    }
    let size = msg.to_string().len();
    if size > NOTICE_MSG_MAX_BYTES {
        return Err(error(
            40035,
            &format!("msg 长度超过限制 ({size} > {NOTICE_MSG_MAX_BYTES} bytes)"),
        ));
    }
    Ok(msgtype.to_owned())
}

pub(crate) fn handle(fake: &FakeDingtalk, token: Option<&str>, raw: &[u8]) -> Result<Reply, Reply> {
    check_app_token(fake, token)?;
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| error(40035, "不合法的参数: 请求体不是 JSON"))?;
    let config = &fake.inner.config;
    if body["agent_id"].as_i64() != Some(config.agent_id) {
        return Err(error(40056, "不合法的agentid"));
    }
    let users: Vec<String> = body["userid_list"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if users.is_empty() {
        return Err(error(1430000, "接收者为空"));
    }
    if users.len() > NOTICE_MAX_USERS {
        return Err(error(40035, "不合法的参数: userid_list 最大长度100"));
    }
    let msgtype = check_msg(fake, &body["msg"])?;
    let now = fake.now();
    let day = now.with_timezone(&china()).date_naive();
    let content = body["msg"].to_string();
    let mut result = SendResult::default();
    let task_id = {
        let mut state = fake.state();
        for user in &users {
            if !(config.open_directory || config.users.contains(user)) {
                result.invalid.push(user.clone());
                continue;
            }
            let key = (user.clone(), day, content.clone());
            let count = state
                .per_day
                .get(&(user.clone(), day))
                .copied()
                .unwrap_or(0);
            if count >= config.member_per_day {
                result.forbidden.push((user.clone(), "143105".into()));
            } else if state.seen.contains(&key) {
                result.forbidden.push((user.clone(), "143106".into()));
            } else {
                state.per_day.insert((user.clone(), day), count + 1);
                state.seen.insert(key);
                result.delivered.push(user.clone());
            }
        }
        state.next_task += 1;
        let task_id = 256_271_667_526 + state.next_task;
        state.results.insert(task_id, result.clone());
        task_id
    };
    fake.inner.recorder.accept(AcceptedMessage {
        recipients: users,
        msgtype,
        body: body.clone(),
        token: token.map(str::to_owned),
        message_id: task_id.to_string(),
        invalid_users: result.invalid.clone(),
        suppressed_duplicate: result.delivered.is_empty() && !result.forbidden.is_empty(),
        dropped_for: result.forbidden.iter().map(|(u, _)| u.clone()).collect(),
        ..AcceptedMessage::new(now, Endpoint::DingtalkSend)
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "task_id": task_id, "request_id": random_alnum(12)}),
    ))
}
