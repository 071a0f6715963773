//! What the OpenAPI document says the same way for every route, added here once so no route can
//! forget it: the statuses any route can answer (401 without a key, 400 for a bad path, query or
//! body, 404 for a path naming nothing, 413 for a body over the limit, 503 when the store is
//! unavailable), the formats of the path parameters, and the rules of body fields that their
//! types alone do not show, as the parsers that judge them apply them.
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, KnownFormat, OpenApi, Ref, RefOr, Schema};

/// A project, contact or webhook source id (`domain::ids`): 1–64 of `[A-Za-z0-9_-]`, starting
/// with a letter or digit.
const SLUG: &str = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";

/// `YYYY-MM-DD` from 1970 to 2199, with each month's own number of days.
const CALENDAR_DAY: &str = "^(19[7-9][0-9]|2[01][0-9]{2})-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))$";

/// The schema of a path parameter, by its name in the path.
fn path_schema(name: &str) -> Option<Schema> {
    let text = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::String));
    let schema = match name {
        "project" | "user" | "source" => text().pattern(Some(SLUG)).max_length(Some(64)),
        // Task and record ids are UUIDs (v7, or v8 for tickets).
        "task" | "run" => text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        // An API key's public id.
        "id" => text().pattern(Some("^[0-9a-f]{16}$")),
        // A picture's content hash.
        "image" => text().pattern(Some("^[0-9a-f]{64}$")),
        // The snapshot, or an attachment's file name (`file_stem` and a date).
        "name" => text()
            .pattern(Some(r"^(snapshot\.png|[^/\\]{1,100}\.(xlsx|csv))$"))
            .max_length(Some(120)),
        "channel" => text().enum_values(Some(["smtp", "wecom", "feishu", "dingtalk"])),
        // `CalendarName`.
        "calendar" => text()
            .pattern(Some("^[a-z0-9][a-z0-9-]{0,39}$"))
            .max_length(Some(40)),
        // A calendar day in the years a schedule runs in (1970-2199), spelled out by month
        // rather than `format: date`: fuzzers generate that format's own dates (year 0067) and
        // ignore a pattern beside it. 29 February is left out of the pattern, accepted in leap
        // years all the same.
        "date" => text().pattern(Some(CALENDAR_DAY)),
        _ => return None,
    };
    Some(Schema::Object(schema.build()))
}

/// What a body field's parser accepts, where a JSON Schema keyword can say it.
enum Rule {
    /// `check_text`: not blank, at most this many characters, no control characters but tab and
    /// line breaks.
    Text {
        max: usize,
    },
    /// One of these words.
    OneOf(&'static str),
    MinLength(usize),
    /// A project, contact or source id.
    Slug,
    Between(u32, u32),
    /// A pattern, and at most this many characters.
    Pattern(&'static str, usize),
}

use crate::dto::formats::{EMAIL_MAX, EMAIL_PATTERN, HOST_PATTERN, HTTP_URL_MAX, HTTP_URL_PATTERN};

/// A WeCom `userid`, an app's `corp_id` / `app_id`, a Feishu `open_id`, a mobile number.
pub(crate) const WECOM_USER_PATTERN: &str = "^[A-Za-z0-9_@.-]{1,64}$";
/// `DingtalkUserId::parse`.
pub(crate) const DINGTALK_USER_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";
const APP_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
const FEISHU_OPEN_ID_PATTERN: &str = "^ou_[A-Za-z0-9]{1,61}$";
/// `NumberFormat::new`'s unit: no control character, no white space at either end.
const UNIT_PATTERN: &str = "^[^\\s\\u0000-\\u001F\\u007F-\\u009F](?:[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F])?$";

/// `Comparison::parse`.
const COMPARISON: &str = "^(<|<=|>|>=|==|=|!=)$";

pub(crate) const MOBILE_PATTERN: &str = "^(?:\\+[0-9]{4,19}|[0-9]{5,20})$";

/// Fields whose rules the Rust types alone do not show (they are `String` on the wire).
const FIELD_RULES: &[(&str, &str, Rule)] = &[
    ("TaskBody", "name", Rule::Text { max: 100 }),
    (
        "TaskBody",
        "channel",
        Rule::OneOf("^(wecom|feishu|email|dingtalk)$"),
    ),
    (
        "TaskBody",
        "template",
        Rule::OneOf("^(card|markdown|text)$"),
    ),
    ("PageBody", "title", Rule::Text { max: 200 }),
    ("ChartBody", "name", Rule::Text { max: 100 }),
    (
        "ChartBody",
        "display",
        Rule::OneOf("^(auto|kpi|table|bar|line|count|pie|donut|stacked_bar|area|combo|funnel)$"),
    ),
    ("ChartBody", "max_rows", Rule::Between(1, 50)),
    (
        "FormatBody",
        "style",
        Rule::OneOf("^(number|percent|currency)$"),
    ),
    (
        "FormatBody",
        "currency",
        Rule::OneOf("^(CNY|USD|EUR|HKD|JPY|GBP)$"),
    ),
    ("FormatBody", "decimals", Rule::Between(0, 6)),
    ("FormatBody", "unit", Rule::Pattern(UNIT_PATTERN, 16)),
    ("ContentBody", "language", Rule::OneOf("^(zh|en)$")),
    ("AttachmentsBody", "format", Rule::OneOf("^(xlsx|csv)$")),
    ("AttachmentsBody", "max_rows", Rule::Between(1, 20_000)),
    ("ConditionsBody", "when", Rule::OneOf("^(any|all)$")),
    ("DayBody", "kind", Rule::OneOf("^(off|work)$")),
    ("DayBody", "name", Rule::Pattern(LINE_PATTERN, 40)),
    (
        "ScheduleBody",
        "calendar",
        Rule::Pattern("^[a-z0-9][a-z0-9-]{0,39}$", 40),
    ),
    ("ConditionRuleBody", "chart", Rule::Text { max: 100 }),
    ("CellRuleBody", "op", Rule::OneOf(COMPARISON)),
    (
        "CellRuleBody",
        "color",
        Rule::OneOf("^(red|orange|green|grey)$"),
    ),
    ("ConditionRuleBody", "op", Rule::OneOf(COMPARISON)),
    ("ConditionRuleBody", "change", Rule::OneOf(COMPARISON)),
    ("ConditionRuleBody", "rows", Rule::OneOf(COMPARISON)),
    ("ContactBody", "name", Rule::Text { max: 100 }),
    ("ContactBody", "language", Rule::OneOf("^(zh|en)$")),
    (
        "CreateKeyBody",
        "role",
        Rule::OneOf("^(admin|editor|viewer)$"),
    ),
    ("CreateKeyBody", "project", Rule::Slug),
    ("WebhookSourceBody", "secret", Rule::MinLength(16)),
    (
        "PreviewBody",
        "channel",
        Rule::OneOf("^(wecom|feishu|email|dingtalk)$"),
    ),
    (
        "ContactBody",
        "email",
        Rule::Pattern(EMAIL_PATTERN, EMAIL_MAX),
    ),
    ("ContactBody", "mobile", Rule::Pattern(MOBILE_PATTERN, 20)),
    (
        "ContactBody",
        "wecom_user",
        Rule::Pattern(WECOM_USER_PATTERN, 64),
    ),
    (
        "ContactBody",
        "feishu_open_id",
        Rule::Pattern(FEISHU_OPEN_ID_PATTERN, 64),
    ),
    (
        "ContactBody",
        "dingtalk_user",
        Rule::Pattern(DINGTALK_USER_PATTERN, 64),
    ),
    (
        "OwnerBody",
        "dingtalk_user",
        Rule::Pattern(DINGTALK_USER_PATTERN, 64),
    ),
    ("DingtalkRobotBody", "name", Rule::Text { max: 64 }),
    (
        "GlobalSettingsBody",
        "url_prefix",
        Rule::Pattern(HTTP_URL_PATTERN, HTTP_URL_MAX),
    ),
    ("SmtpBody", "host", Rule::Pattern(HOST_PATTERN, 253)),
    ("SmtpBody", "port", Rule::Between(1, 65535)),
    ("SmtpBody", "security", Rule::OneOf("^(starttls|tls|none)$")),
    ("SmtpBody", "username", Rule::Text { max: 254 }),
    ("SmtpBody", "from", Rule::Pattern(EMAIL_PATTERN, EMAIL_MAX)),
    ("WecomBody", "corp_id", Rule::Pattern(APP_ID_PATTERN, 64)),
    ("WecomBody", "agent_id", Rule::Between(1, u32::MAX)),
    ("FeishuBody", "app_id", Rule::Pattern(APP_ID_PATTERN, 64)),
    ("DingtalkBody", "app_key", Rule::Pattern(APP_ID_PATTERN, 64)),
    ("DingtalkBody", "agent_id", Rule::Between(1, u32::MAX)),
    // Secrets: `"set"` or nothing keeps the stored one; an empty one is refused.
    ("SmtpBody", "password", Rule::MinLength(1)),
    ("WecomBody", "corp_secret", Rule::MinLength(1)),
    ("FeishuBody", "app_secret", Rule::MinLength(1)),
    ("DingtalkBody", "app_secret", Rule::MinLength(1)),
];

/// `check_text` as a pattern: no control character (C0 but tab, LF and CR; DEL; C1), and at least
/// one character that is neither a control nor white space.
pub(crate) const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*\
    [^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// One line that may be empty: no control character at all (`CalendarDay::new`).
const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// Adds the statuses, path formats and field rules to the Router's document.
pub(crate) fn add_common_parts(openapi: &mut OpenApi) {
    add_field_rules(openapi);
    for (path, item) in openapi.paths.paths.iter_mut() {
        if let Some(read) = item.get.as_mut() {
            complete(path, read, true);
        }
        let writes = [item.put.as_mut(), item.post.as_mut(), item.delete.as_mut()];
        for write in writes.into_iter().flatten() {
            complete(path, write, false);
        }
    }
}

fn complete(path: &str, operation: &mut Operation, is_read: bool) {
    // The two documents any client may read; they answer 200 whatever comes.
    if path == "/healthz" || path == "/v1/openapi.json" {
        return;
    }
    let mut has_path = false;
    let mut has_input = operation.request_body.is_some();
    for parameter in operation.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter {
            has_input = true;
            if parameter.parameter_in == ParameterIn::Path {
                has_path = true;
                describe_path_parameter(parameter);
            }
        }
    }
    let signed_in = operation.security.as_ref().is_none_or(|s| {
        s.iter()
            .any(|requirement| *requirement != Default::default())
    });
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    };
    if has_input {
        add(
            "400",
            "a path parameter, query parameter or body field is invalid (`field` names it)",
        );
    }
    // Webhooks are not signed in with a key but check their own signature or token.
    add("401", "no valid credentials");
    // Inside a project every role may read, and another project's key gets 404.
    if signed_in && !(is_read && path.starts_with("/v1/projects/")) {
        add("403", "the key's role may not do this");
    }
    if has_path {
        add("404", "nothing by that id, or not in the key's project");
    }
    if operation.request_body.is_some() {
        let limit = format!(
            "the body is over {} KiB",
            crate::extract::MAX_BODY_BYTES / 1024
        );
        add("413", &limit);
    }
    add(
        "503",
        "the store is unavailable; nothing was changed, try again",
    );
}

/// Applies `FIELD_RULES`; answers how many found their field (all of them: a unit test holds it).
fn add_field_rules(openapi: &mut OpenApi) -> usize {
    let Some(components) = openapi.components.as_mut() else {
        return 0;
    };
    let mut applied = 0;
    for (schema, property, rule) in FIELD_RULES {
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(*schema) else {
            continue;
        };
        let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(*property) else {
            continue;
        };
        match rule {
            Rule::Text { max } => {
                field.pattern = Some(TEXT_PATTERN.to_owned());
                field.max_length = Some(*max);
            }
            Rule::OneOf(pattern) => field.pattern = Some((*pattern).to_owned()),
            Rule::MinLength(min) => field.min_length = Some(*min),
            Rule::Slug => {
                field.pattern = Some(SLUG.to_owned());
                field.max_length = Some(64);
            }
            Rule::Between(min, max) => {
                field.minimum = Some((*min).into());
                field.maximum = Some((*max).into());
            }
            Rule::Pattern(pattern, max) => {
                field.pattern = Some((*pattern).to_owned());
                field.max_length = Some(*max);
            }
        }
        applied += 1;
    }
    applied
}

fn describe_path_parameter(parameter: &mut Parameter) {
    if let Some(schema) = path_schema(&parameter.name) {
        parameter.schema = Some(RefOr::T(schema));
    }
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_rule_finds_its_field() {
        let mut document = crate::api_routes().split_for_parts().1;
        assert_eq!(add_field_rules(&mut document), FIELD_RULES.len());
    }

    #[test]
    fn the_text_pattern_is_the_text_check() {
        let pattern = regex::Regex::new(TEXT_PATTERN).expect("a valid pattern");
        for text in ["Daily sales", "  名 ", "a\tb\nc", "x\r\ny"] {
            assert!(pattern.is_match(text), "{text:?} is a text");
            assert!(herald_core::domain::text::check_text(text, 100, false).is_ok());
        }
        for text in ["", "   ", "\t\n", "a\u{7}b", "a\u{85}b", "\u{0}"] {
            assert!(!pattern.is_match(text), "{text:?} is no text");
            assert!(herald_core::domain::text::check_text(text, 100, false).is_err());
        }
    }
}
