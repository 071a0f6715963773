//! Rules the OpenAPI document states in JSON Schema that utoipa's types cannot hold: a value that
//! must be `true`, bodies whose fields decide one another (`oneOf`, `anyOf`), and the channel routes
//! written once per channel, each with its own body. Applied to the finished document.
use crate::dto::formats::{EMAIL_MAX, EMAIL_PATTERN, HTTP_URL_MAX, HTTP_URL_PATTERN};
use crate::openapi::{DINGTALK_USER_PATTERN, MOBILE_PATTERN, WECOM_USER_PATTERN};
use serde_json::{Map, Value, json};

/// The channels whose settings and tests have a route each: (channel, settings body, test body).
const CHANNELS: [(&str, &str, &str); 4] = [
    ("smtp", "SmtpBody", "SmtpTestBody"),
    ("wecom", "WecomBody", "WecomTestBody"),
    ("feishu", "FeishuBody", "FeishuTestBody"),
    ("dingtalk", "DingtalkBody", "DingtalkTestBody"),
];

pub(crate) fn add(document: &mut Value) {
    let schemas = &mut document["components"]["schemas"];
    confirm(&mut schemas["ConfirmBody"]);
    key_roles(&mut schemas["CreateKeyBody"]);
    contact_reachable(&mut schemas["ContactBody"]);
    wecom_proxy(&mut schemas["WecomBody"]);
    field_formats(&mut schemas["FieldsBody"]["properties"]["formats"]);
    field_formats(&mut schemas["FieldsBody"]["properties"]["thresholds"]);
    schemas["FieldsBody"]["properties"]["thresholds"]["additionalProperties"]["minItems"] =
        json!(1);
    schemas["FieldsBody"]["properties"]["thresholds"]["additionalProperties"]["maxItems"] =
        json!(5);
    add_test_bodies(schemas);
    request_key(&mut document["paths"]["/v1/projects/{project}/tasks/{task}/push"]["post"]);
    if let Some(paths) = document["paths"].as_object_mut() {
        split_by_channel(paths, "/v1/settings/channels/{channel}", 1);
        split_by_channel(paths, "/v1/settings/channels/{channel}/test", 2);
    }
    single_line(document);
}

/// A pattern `^…$` also matches its text followed by a line break in the ECMA and Python readings
/// (`$` matches before a final `\n`), which the parsers refuse: every single-line pattern says so.
fn single_line(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let single = map
                .get("pattern")
                .and_then(Value::as_str)
                .is_some_and(|p| p != crate::openapi::TEXT_PATTERN);
            // Its parts first: the clause added here is not walked again.
            map.values_mut().for_each(single_line);
            if single && !map.contains_key("not") {
                map.insert("not".into(), json!({"type": "string", "pattern": "\n"}));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(single_line),
        _ => {}
    }
}

/// A chart's `fields.formats` (and `fields.thresholds`): at most 20, each keyed by a row key (1-64 characters, no control
/// character), as `FieldsBody::parse` takes them.
fn field_formats(formats: &mut Value) {
    formats["maxProperties"] = json!(20);
    formats["propertyNames"] = json!({
        "minLength": 1,
        "maxLength": 64,
        "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"
    });
}

/// `{"confirm": true}`: `false` or nothing is a valid JSON body the API answers 422 (API.md).
fn confirm(body: &mut Value) {
    body["properties"]["confirm"] = json!({
        "const": true,
        "description": "`true`: the caller has seen what the action does (without it: 422 saying what)"
    });
    body["required"] = json!(["confirm"]);
}

/// A manual push's `Idempotency-Key`: what `RequestKey::parse` takes.
fn request_key(operation: &mut Value) {
    for parameter in operation["parameters"].as_array_mut().into_iter().flatten() {
        if parameter["name"] == "Idempotency-Key" {
            parameter["schema"] =
                json!({"type": "string", "pattern": "^[!-~]{1,255}$", "maxLength": 255});
        }
    }
}

/// An admin key has no project; an editor or viewer key has one.
fn key_roles(body: &mut Value) {
    body["oneOf"] = json!([
        {"properties": {"role": {"const": "admin"}, "project": {"type": "null"}}},
        {"properties": {"role": {"enum": ["editor", "viewer"]}, "project": {"type": "string"}},
         "required": ["project"]}
    ]);
}

/// A contact has at least one way to reach them.
fn contact_reachable(body: &mut Value) {
    let ways = [
        "email",
        "mobile",
        "wecom_user",
        "feishu_open_id",
        "dingtalk_user",
    ]
    .map(|way| json!({"properties": {way: {"type": "string"}}, "required": [way]}));
    body["anyOf"] = Value::Array(ways.to_vec());
}

/// The proxy: a URL, `""` (remove it) or `"set"` (keep it).
fn wecom_proxy(body: &mut Value) {
    let url = HTTP_URL_PATTERN
        .trim_start_matches('^')
        .trim_end_matches('$');
    let proxy = &mut body["properties"]["proxy"];
    proxy["pattern"] = json!(format!("^(?:set|{url})?$"));
    proxy["maxLength"] = json!(HTTP_URL_MAX);
}

/// Whom each channel's test goes to; a field another channel uses may only be null.
fn add_test_bodies(schemas: &mut Value) {
    let email = json!({"type": "string", "pattern": EMAIL_PATTERN, "maxLength": EMAIL_MAX});
    let absent = json!({"type": "null"});
    schemas["SmtpTestBody"] = json!({
        "type": "object", "additionalProperties": false, "required": ["to"],
        "description": "An e-mail test: the address it goes to.",
        "properties": {"to": email, "mobile": absent, "email": absent}
    });
    schemas["WecomTestBody"] = json!({
        "type": "object", "additionalProperties": false, "required": ["to"],
        "description": "A WeCom test: the member's user id it goes to.",
        "properties": {
            "to": {"type": "string", "pattern": WECOM_USER_PATTERN, "maxLength": 64},
            "mobile": absent, "email": absent
        }
    });
    schemas["DingtalkTestBody"] = json!({
        "type": "object", "additionalProperties": false, "required": ["to"],
        "description": "A DingTalk test: the member's user id the work notice goes to.",
        "properties": {
            "to": {"type": "string", "pattern": DINGTALK_USER_PATTERN, "maxLength": 64},
            "mobile": absent, "email": absent
        }
    });
    schemas["FeishuTestBody"] = json!({
        "type": "object", "additionalProperties": false,
        "description": "A Feishu test: exactly one of the user's e-mail or mobile number.",
        "properties": {
            "to": absent,
            "email": {"type": ["string", "null"], "pattern": EMAIL_PATTERN, "maxLength": EMAIL_MAX},
            "mobile": {"type": ["string", "null"], "pattern": MOBILE_PATTERN, "maxLength": 20}
        },
        "oneOf": [
            {"properties": {"email": {"type": "string"}}, "required": ["email"]},
            {"properties": {"mobile": {"type": "string"}}, "required": ["mobile"]}
        ]
    });
    if let Some(schemas) = schemas.as_object_mut() {
        schemas.remove("ChannelTestBody");
    }
}

/// Writes the route at `path` once per channel, with that channel's body (`which`: 1 the settings,
/// 2 the test), so a generated body always suits the channel in its path.
fn split_by_channel(paths: &mut Map<String, Value>, path: &str, which: usize) {
    let Some(item) = paths.remove(path) else {
        return;
    };
    for channel in CHANNELS {
        let body = if which == 1 { channel.1 } else { channel.2 };
        let mut item = item.clone();
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|i| i.values_mut())
        {
            if let Some(parameters) = operation["parameters"].as_array_mut() {
                parameters.retain(|p| p["name"] != "channel");
            }
            if operation["parameters"]
                .as_array()
                .is_some_and(Vec::is_empty)
                && let Some(operation) = operation.as_object_mut()
            {
                operation.remove("parameters");
            }
            operation["requestBody"]["content"]["application/json"]["schema"] =
                json!({"$ref": format!("#/components/schemas/{body}")});
            if let Some(operation_id) = operation["operationId"].as_str() {
                operation["operationId"] = json!(format!("{operation_id}_{}", channel.0));
            }
            // The channel is in the path: there is nothing left to not find.
            if let Some(responses) = operation["responses"].as_object_mut() {
                responses.remove("404");
            }
        }
        paths.insert(path.replace("{channel}", channel.0), item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_route_is_written_once_per_channel_with_its_body() {
        let document = crate::openapi();
        let paths = document["paths"].as_object().expect("paths");
        assert!(!paths.keys().any(|p| p.contains("{channel}")));
        for (channel, settings, test) in CHANNELS {
            let put = &paths[&format!("/v1/settings/channels/{channel}")]["put"];
            assert_eq!(
                put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/{settings}")
            );
            assert!(put.get("parameters").is_none(), "{put}");
            let post = &paths[&format!("/v1/settings/channels/{channel}/test")]["post"];
            assert_eq!(
                post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/{test}")
            );
            assert!(document["components"]["schemas"][test].is_object());
        }
    }
}
