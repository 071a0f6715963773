//! `POST /cgi-bin/message/send?access_token=…` (provider-apis.md §1.2).
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::TimeDelta;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

use crate::record::{AcceptedMessage, Endpoint};
use crate::reply::{Reply, as_int, random_alnum};
use crate::wecom::{FakeWecom, check_token, errmsg, error};
use crate::wecom_validate::validate_app_body;

const MAX_USERS: usize = 1000;
const MAX_PARTIES_OR_TAGS: usize = 100;
const DEFAULT_DUPLICATE_INTERVAL: i64 = 1800;
const MAX_DUPLICATE_INTERVAL: i64 = 4 * 3600;

pub(crate) async fn send(
    State(fake): State<FakeWecom>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = query.get("access_token").map(String::as_str);
    fake.answer(Endpoint::WecomSend, token, || {
        handle(&fake, &method, token, &body).unwrap_or_else(|reply| reply)
    })
    .await
}

/// Recipients of one send, as sent (split on `|`, empties dropped).
struct Targets {
    users: Vec<String>,
    parties: Vec<String>,
    tags: Vec<String>,
}

fn split_ids(body: &Map<String, Value>, field: &str) -> Result<Vec<String>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split('|')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(_) => Err(error(
            40058,
            &format!("{field} must be a string. invalid Request Parameter"),
        )),
    }
}

fn targets(body: &Map<String, Value>) -> Result<Targets, Reply> {
    let targets = Targets {
        users: split_ids(body, "touser")?,
        parties: split_ids(body, "toparty")?,
        tags: split_ids(body, "totag")?,
    };
    if targets.users.is_empty() && targets.parties.is_empty() && targets.tags.is_empty() {
        return Err(error(82001, "All touser & toparty & totag invalid"));
    }
    if targets.users.len() > MAX_USERS {
        return Err(error(40032, "invalid userid size"));
    }
    if targets.parties.len() > MAX_PARTIES_OR_TAGS {
        return Err(error(82002, "invalid partylist size"));
    }
    if targets.tags.len() > MAX_PARTIES_OR_TAGS {
        return Err(error(82003, "invalid taglist size"));
    }
    Ok(targets)
}

/// Unknown ids, lower-cased (users) and in request order, without repeats.
fn unknown(ids: &[String], known: &[String], fold_case: bool) -> Vec<String> {
    let norm = |id: &str| {
        if fold_case {
            id.to_lowercase()
        } else {
            id.to_owned()
        }
    };
    let known: HashSet<String> = known.iter().map(|id| norm(id)).collect();
    let mut seen = HashSet::new();
    ids.iter()
        .map(|id| norm(id))
        .filter(|id| !known.contains(id) && seen.insert(id.clone()))
        .collect()
}

fn handle(
    fake: &FakeWecom,
    method: &Method,
    token: Option<&str>,
    raw: &[u8],
) -> Result<Reply, Reply> {
    let agent_id = check_token(fake, token)?;
    if method != Method::POST {
        return Err(error(
            40058,
            "http method must be POST. invalid Request Parameter",
        ));
    }
    let value: Value = serde_json::from_slice(raw).map_err(|_| {
        error(
            40058,
            "request body is not valid json. invalid Request Parameter",
        )
    })?;
    let Some(body) = value.as_object() else {
        return Err(error(
            40058,
            "request body must be a json object. invalid Request Parameter",
        ));
    };
    match as_int(body.get("agentid")) {
        None => return Err(error(41011, "missing agentid")),
        // Another app of this corp: the token is not that app's (WxJava's table, path/90313).
        Some(id) if id != agent_id && fake.inner.config.apps.iter().any(|a| a.agent_id == id) => {
            return Err(error(
                301002,
                "not allow operate another agent with this accesstoken.",
            ));
        }
        Some(id) if id != agent_id => return Err(error(40056, "invalid agentid")),
        Some(_) => {}
    }
    let targets = targets(body)?;
    let msgtype = body
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    validate_app_body(msgtype, body)?;
    if msgtype == "news" && body.contains_key("safe") {
        return Err(error(40074, "news msg not support safe"));
    }
    if let Some(media_id) = body
        .get(msgtype)
        .and_then(|section| section.get("media_id"))
        .and_then(Value::as_str)
    {
        crate::uploads::check_media(fake, media_id)?;
    }

    let config = &fake.inner.config;
    let to_all = targets.users.iter().any(|u| u == "@all");
    let (bad_users, bad_parties, bad_tags) = if to_all || config.open_directory {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        (
            unknown(&targets.users, &config.users, true),
            unknown(&targets.parties, &config.parties, false),
            unknown(&targets.tags, &config.tags, false),
        )
    };
    let invaliduser = bad_users.join("|");
    let invalidparty = bad_parties.join("|");
    let invalidtag = bad_tags.join("|");
    let distinct = |ids: &[String], fold: bool| unknown(ids, &[], fold).len();
    let all_invalid = !to_all
        && bad_users.len() == distinct(&targets.users, true)
        && bad_parties.len() == distinct(&targets.parties, false)
        && bad_tags.len() == distinct(&targets.tags, false);
    if all_invalid {
        let text = "user & party & tag all invalid";
        return Err(Reply::json(
            StatusCode::OK,
            81013,
            json!({"errcode": 81013, "errmsg": errmsg(81013, text),
                   "invaliduser": invaliduser, "invalidparty": invalidparty,
                   "invalidtag": invalidtag}),
        ));
    }

    let now = fake.now();
    let check_duplicates = as_int(body.get("enable_duplicate_check")) == Some(1);
    let dup_key = (agent_id, value.to_string());
    let mut msgid = format!("{}{}", random_alnum(24), random_alnum(24));
    let mut suppressed = false;
    if check_duplicates {
        let interval = as_int(body.get("duplicate_check_interval"))
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_DUPLICATE_INTERVAL)
            .min(MAX_DUPLICATE_INTERVAL);
        let mut state = fake.state();
        match state.sent.get(&dup_key) {
            Some((until, earlier, _)) if now < *until => {
                msgid = earlier.clone();
                suppressed = true;
            }
            _ => {
                let until = now + TimeDelta::seconds(interval);
                state
                    .sent
                    .insert(dup_key, (until, msgid.clone(), invaliduser.clone()));
            }
        }
    }

    let dropped_for = if suppressed {
        Vec::new()
    } else {
        over_member_limit(fake, agent_id, &targets.users, &bad_users, now)
    };
    fake.inner.recorder.accept(AcceptedMessage {
        recipients: targets.users,
        parties: targets.parties,
        tags: targets.tags,
        msgtype: msgtype.to_owned(),
        body: value.clone(),
        enable_duplicate_check: as_int(body.get("enable_duplicate_check")),
        safe: as_int(body.get("safe")),
        token: token.map(str::to_owned),
        message_id: msgid.clone(),
        invalid_users: bad_users,
        suppressed_duplicate: suppressed,
        dropped_for,
        ..AcceptedMessage::new(now, Endpoint::WecomSend)
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "ok", "invaliduser": invaliduser,
               "invalidparty": invalidparty, "invalidtag": invalidtag,
               "unlicenseduser": "", "msgid": msgid}),
    ))
}

/// Counts a delivered message for each valid member and returns those it goes beyond WeCom's
/// per-member limits for (30 a minute, 1,000 an hour from one app): WeCom answers ok and does not
/// deliver to them (provider-apis.md §1.4).
fn over_member_limit(
    fake: &FakeWecom,
    agent_id: i64,
    users: &[String],
    invalid: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let config = &fake.inner.config;
    let mut state = fake.state();
    let mut dropped = Vec::new();
    for user in unknown(users, invalid, true) {
        if user == "@all" {
            continue;
        }
        let window = state
            .member_window
            .entry((agent_id, user.clone()))
            .or_default();
        while window
            .front()
            .is_some_and(|t| *t <= now - TimeDelta::hours(1))
        {
            window.pop_front();
        }
        let last_minute = window
            .iter()
            .rev()
            .take_while(|t| **t > now - TimeDelta::minutes(1))
            .count();
        if last_minute >= config.member_per_minute || window.len() >= config.member_per_hour {
            tracing::debug!(
                user,
                "fake wecom: over the per-member limit, dropped silently"
            );
            dropped.push(user);
        } else {
            window.push_back(now);
        }
    }
    dropped
}
