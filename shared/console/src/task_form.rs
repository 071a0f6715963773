//! The task form: its fields are named by the paths of the API's task body (`page.title`,
//! `page.charts[0].data_url`, `schedule.at`), so the body is built field by field and an API field
//! error (`schedule.at`) lands at the input of the same name.
use serde_json::{Map, Value, json};

/// Splits a list field (one per line, or separated by commas or spaces).
fn list(text: &str) -> Vec<Value> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect()
}

/// Group targets, one a line: `name = credentials` (`= set` keeps a stored robot). A line without
/// `=` is a name without credentials, which the API refuses naming the line's field.
fn group_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split_once(['=', '＝'])
                .map_or((line, ""), |(n, k)| (n.trim(), k.trim()))
        })
}

/// WeCom groups: `name = key or webhook URL`.
fn wecom_groups(text: &str) -> Vec<Value> {
    group_lines(text)
        .map(|(name, key)| json!({"name": name, "webhook_key": key}))
        .collect()
}

/// DingTalk groups: `name = access_token or webhook URL`, then the signing secret (`SEC…`) after
/// a space when the robot signs.
fn dingtalk_groups(text: &str) -> Vec<Value> {
    group_lines(text)
        .map(|(name, credentials)| {
            let mut parts = credentials.split_whitespace();
            let mut group = json!({"name": name, "access_token": parts.next().unwrap_or("")});
            if let Some(secret) = parts.next() {
                group["secret"] = Value::String(secret.to_owned());
            }
            group
        })
        .collect()
}

/// Number formats, `key: words` separated by `;`: `%` a percentage, a currency code (CNY, USD…)
/// money, a number the decimals, a word in double quotes (or any other word) the unit:
/// `gmv: CNY; rate: % 1; cost: "ms"`. The form writes units quoted, so any unit (`"%"`,
/// `"per day"`, `"100"`) reads back as it was; what the API cannot read it names by its field.
fn formats(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for part in text
        .split([';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (key, words) = part
            .split_once([':', '：'])
            .map_or((part, ""), |(k, w)| (k.trim(), w.trim()));
        let mut format = Map::new();
        for (word, quoted) in format_words(words) {
            let upper = word.to_ascii_uppercase();
            if quoted {
                format.insert("unit".into(), word.into());
            } else if word == "%" || word.eq_ignore_ascii_case("percent") {
                format.insert("style".into(), "percent".into());
            } else if ["CNY", "USD", "EUR", "HKD", "JPY", "GBP"].contains(&upper.as_str()) {
                format.insert("style".into(), "currency".into());
                format.insert("currency".into(), upper.into());
            } else if let Ok(decimals) = word.parse::<u64>() {
                format.insert("decimals".into(), decimals.into());
            } else {
                format.insert("unit".into(), word.into());
            }
        }
        out.insert(key.to_owned(), Value::Object(format));
    }
    out
}

/// Cell colours, `key op value colour` separated by `;`: `rate < 0.05 red; rate >= 0.1 green`
/// (the first rule a cell meets wins). A rule that does not read so goes as typed, so the API
/// names it.
fn thresholds(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for part in text
        .split([';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (key, rule) = match words.as_slice() {
            [key @ .., op, value, color] if !key.is_empty() => (
                key.join(" "),
                json!({
                    "op": op,
                    "value": value.parse::<f64>().map_or_else(|_| json!(value), |v| json!(v)),
                    "color": color,
                }),
            ),
            _ => (part.to_owned(), Value::String(part.to_owned())),
        };
        if let Value::Array(rules) = out.entry(key).or_insert_with(|| json!([])) {
            rules.push(rule);
        }
    }
    out
}

/// The words of a format: bare words split at spaces, or text in double quotes (ASCII or
/// Chinese), kept whole and marked as quoted.
fn format_words(text: &str) -> Vec<(String, bool)> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' || c == '“' {
            let quoted: String = chars
                .by_ref()
                .take_while(|c| *c != '"' && *c != '”')
                .collect();
            words.push((quoted, true));
        } else {
            let mut word = c.to_string();
            while let Some(next) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(next);
            }
            words.push((word, false));
        }
    }
    words
}

/// A number if it reads as one; else the text, so the API names the field it cannot read.
fn number(text: &str) -> Value {
    text.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

struct Fields<'f>(&'f [(String, String)]);

impl Fields<'_> {
    fn text(&self, name: &str) -> String {
        crate::session::form_value(self.0, name)
    }

    /// `name`'s text, or `default` when it is empty.
    fn text_or(&self, name: &str, default: &str) -> String {
        Some(self.text(name))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| default.to_owned())
    }

    fn all(&self, name: &str) -> Vec<Value> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.trim().to_owned()))
            .filter(|v| v.as_str() != Some(""))
            .collect()
    }

    fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v != "off")
    }

    /// Puts `name`'s text under `key` unless it is empty (absent means the API's default).
    fn optional(&self, into: &mut Map<String, Value>, key: &str, name: &str) {
        let value = self.text(name);
        if !value.is_empty() {
            into.insert(key.to_owned(), Value::String(value));
        }
    }
}

/// How many chart rows the form holds (`page.charts[N].…`).
fn chart_rows(fields: &[(String, String)]) -> usize {
    fields
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("page.charts["))
        .filter_map(|rest| rest.split_once(']'))
        .filter_map(|(n, _)| n.parse::<usize>().ok())
        .map(|n| n + 1)
        .max()
        .unwrap_or(0)
        .min(herald_core::domain::task::MAX_CHARTS + 1)
}

fn chart(f: &Fields, i: usize) -> Option<Value> {
    let name = |field: &str| format!("page.charts[{i}].{field}");
    let (title, url) = (f.text(&name("name")), f.text(&name("data_url")));
    let (source, query) = (f.text(&name("source")), f.text(&name("query")));
    if title.is_empty() && url.is_empty() && source.is_empty() {
        return None;
    }
    let mut fields = Map::new();
    f.optional(&mut fields, "label", &name("fields.label"));
    f.optional(&mut fields, "compare", &name("fields.compare"));
    let values = list(&f.text(&name("fields.values")));
    if !values.is_empty() {
        fields.insert("values".into(), Value::Array(values));
    }
    let formats = formats(&f.text(&name("fields.formats")));
    if !formats.is_empty() {
        fields.insert("formats".into(), Value::Object(formats));
    }
    let thresholds = thresholds(&f.text(&name("fields.thresholds")));
    if !thresholds.is_empty() {
        fields.insert("thresholds".into(), Value::Object(thresholds));
    }
    let mut chart = json!({
        "name": title,
        "rows": f.text(&name("rows")),
        "display": f.text_or(&name("display"), "auto"),
        "fields": fields,
    });
    // A report source and its query (JSON; text that is not JSON goes as it is, so the API
    // names the field), else a public address.
    if source.is_empty() {
        chart["data_url"] = Value::String(url);
    } else {
        chart["source"] = Value::String(source);
        chart["query"] = serde_json::from_str(&query).unwrap_or(Value::String(query));
    }
    let max_rows = f.text(&name("max_rows"));
    if !max_rows.is_empty() {
        chart["max_rows"] = number(&max_rows);
    }
    Some(chart)
}

fn schedule(f: &Fields) -> Value {
    let every = f.text("schedule.every");
    let mut schedule = Map::new();
    schedule.insert("every".into(), Value::String(every.clone()));
    schedule.insert(
        "timezone".into(),
        Value::String(f.text("schedule.timezone")),
    );
    f.optional(&mut schedule, "start", "schedule.start");
    f.optional(&mut schedule, "calendar", "schedule.calendar");
    // Only the fields of the chosen kind: the API refuses the others.
    match every.as_str() {
        "hour" => {
            schedule.insert("minute".into(), number(&f.text_or("schedule.minute", "0")));
        }
        "day" => f.optional(&mut schedule, "at", "schedule.at"),
        "week" => {
            schedule.insert("days".into(), Value::Array(f.all("schedule.days")));
            f.optional(&mut schedule, "at", "schedule.at");
        }
        "month" => {
            let day = f.text("schedule.day_of_month");
            let day = if day == "last" {
                Value::String(day)
            } else {
                number(&day)
            };
            schedule.insert("day_of_month".into(), day);
            f.optional(&mut schedule, "at", "schedule.at");
        }
        "cron" => f.optional(&mut schedule, "cron", "schedule.cron"),
        _ => {}
    }
    Value::Object(schedule)
}

fn rule(f: &Fields, name: &str) -> Value {
    json!({
        "range": f.all(&format!("exception_control.{name}.range")),
        "pause": f.checked(&format!("exception_control.{name}.pause")),
        "alarm": f.checked(&format!("exception_control.{name}.alarm")),
    })
}

/// The attachments: a format (none: no attachments), the charts by name separated by commas
/// (none: all), and the rows per chart (a number, or as typed for the API to name).
fn attachments(f: &Fields) -> Option<Value> {
    let format = f.text("content.attachments.format");
    if format.is_empty() {
        return None;
    }
    let text = f.text("content.attachments.charts");
    let names: Vec<&str> = text
        .split([',', '，'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let charts = if names.is_empty() {
        json!("all")
    } else {
        json!(names)
    };
    let mut attachments = json!({"format": format, "charts": charts});
    let rows = f.text("content.attachments.max_rows");
    if !rows.is_empty() {
        attachments["max_rows"] = rows.parse::<u64>().map_or(Value::String(rows), Value::from);
    }
    Some(attachments)
}

/// The conditions: one JSON rule per line; a line that is not JSON goes as it is, so the API
/// names the rule. No rules: none (always push).
fn conditions(f: &Fields) -> Option<Value> {
    let rules: Vec<Value> = f
        .text("conditions.rules")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = line.trim_end_matches(',');
            serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.to_owned()))
        })
        .collect();
    (!rules.is_empty())
        .then(|| json!({"when": f.text_or("conditions.when", "any"), "rules": rules}))
}

/// The API's task body from the posted form.
pub(crate) fn task_body(fields: &[(String, String)]) -> Value {
    let f = Fields(fields);
    let charts: Vec<Value> = (0..chart_rows(fields))
        .filter_map(|i| chart(&f, i))
        .collect();
    let mut owner = Map::new();
    for key in [
        "wecom_user",
        "feishu_user",
        "dingtalk_user",
        "email",
        "contact",
    ] {
        f.optional(&mut owner, key, &format!("owner.{key}"));
    }
    let mut content = json!({
        "share_link": f.checked("content.share_link"),
        "snapshot": f.checked("content.snapshot"),
    });
    for key in ["beginning", "ending", "language"] {
        let value = f.text(&format!("content.{key}"));
        if !value.is_empty() {
            content[key] = Value::String(value);
        }
    }
    if let Some(attachments) = attachments(&f) {
        content["attachments"] = attachments;
    }
    let mut body = json!({
        "name": f.text("name"),
        "page": {"title": f.text("page.title"), "share_url": f.text("page.share_url"), "charts": charts},
        "channel": f.text("channel"),
        "template": f.text_or("template", "card"),
        "recipients": {
            "wecom_users": list(&f.text("recipients.wecom_users")),
            "wecom_parties": list(&f.text("recipients.wecom_parties")),
            "wecom_tags": list(&f.text("recipients.wecom_tags")),
            "feishu_users": list(&f.text("recipients.feishu_users")),
            "feishu_chats": list(&f.text("recipients.feishu_chats")),
            "dingtalk_users": list(&f.text("recipients.dingtalk_users")),
            "emails": list(&f.text("recipients.emails")),
            "contacts": list(&f.text("recipients.contacts")),
        },
        "owner": owner,
        "schedule": schedule(&f),
        "content": content,
        "exception_control": {"empty": rule(&f, "empty"), "access_error": rule(&f, "access_error")},
        "failure_limit": number(&f.text_or("failure_limit", "3")),
    });
    let groups = wecom_groups(&f.text("recipients.wecom_robots"));
    if !groups.is_empty() {
        body["recipients"]["wecom_robots"] = Value::Array(groups);
    }
    let groups = dingtalk_groups(&f.text("recipients.dingtalk_robots"));
    if !groups.is_empty() {
        body["recipients"]["dingtalk_robots"] = Value::Array(groups);
    }
    let robot = f.text("alarm_robot.webhook_key");
    if !robot.is_empty() {
        body["alarm_robot"] = json!({"webhook_key": robot});
    }
    if let Some(conditions) = conditions(&f) {
        body["conditions"] = conditions;
    }
    let version = f.text("version");
    if !version.is_empty() {
        body["version"] = number(&version);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_weekly_task_form_becomes_the_api_body() {
        let body = task_body(&form(&[
            ("name", "Daily sales"),
            ("channel", "email"),
            ("page.title", "Sales"),
            ("page.share_url", "https://bi.example.com/d/1"),
            ("page.charts[0].name", "GMV"),
            ("page.charts[0].data_url", "https://bi.example.com/api/gmv"),
            ("page.charts[0].fields.values", "gmv, orders"),
            ("page.charts[1].name", ""),
            ("page.charts[1].data_url", ""),
            (
                "recipients.emails",
                "a@example.com\nb@example.com, c@example.com",
            ),
            ("schedule.every", "week"),
            ("schedule.days", "mon"),
            ("schedule.days", "thu"),
            ("schedule.at", "10:00"),
            ("schedule.minute", "5"),
            ("schedule.timezone", "Asia/Shanghai"),
            ("content.share_link", "on"),
            ("exception_control.empty.range", "fully"),
            ("exception_control.empty.pause", "on"),
            ("failure_limit", "x"),
            ("version", "4"),
        ]));
        assert_eq!(
            body["page"]["charts"].as_array().unwrap().len(),
            1,
            "the empty row is no chart"
        );
        assert_eq!(
            body["page"]["charts"][0]["fields"]["values"],
            json!(["gmv", "orders"])
        );
        assert_eq!(body["recipients"]["emails"].as_array().unwrap().len(), 3);
        assert_eq!(
            body["schedule"],
            json!({"every": "week", "days": ["mon", "thu"], "at": "10:00", "timezone": "Asia/Shanghai"}),
            "no minute: it is not a field of a weekly schedule"
        );
        assert_eq!(body["content"]["share_link"], true);
        assert_eq!(body["content"]["snapshot"], false);
        assert_eq!(
            body["exception_control"]["empty"],
            json!({"range": ["fully"], "pause": true, "alarm": false})
        );
        assert_eq!(body["failure_limit"], "x", "left for the API to name");
        assert_eq!(body["version"], 4);
        assert!(body.get("alarm_robot").is_none());
    }

    #[test]
    fn wecom_groups_are_one_a_line_name_equals_key() {
        let body = task_body(&form(&[
            ("channel", "wecom"),
            (
                "recipients.wecom_robots",
                "销售群 = https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1\n\n  华东销售＝set \n只有名字",
            ),
        ]));
        assert_eq!(
            body["recipients"]["wecom_robots"],
            json!([
                {"name": "销售群", "webhook_key": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1"},
                {"name": "华东销售", "webhook_key": "set"},
                {"name": "只有名字", "webhook_key": ""}
            ])
        );
        let none = task_body(&form(&[("recipients.wecom_robots", " \n ")]));
        assert!(none["recipients"].get("wecom_robots").is_none());
    }

    #[test]
    fn dingtalk_groups_take_a_token_or_url_and_an_optional_secret() {
        let body = task_body(&form(&[
            ("channel", "dingtalk"),
            (
                "recipients.dingtalk_robots",
                "华东销售 = https://oapi.dingtalk.com/robot/send?access_token=ab12 SECcd34\n旧群 = set\n关键词群 = ef56",
            ),
            ("recipients.dingtalk_users", "manager01, manager02"),
            ("owner.dingtalk_user", "manager01"),
        ]));
        assert_eq!(
            body["recipients"]["dingtalk_robots"],
            json!([
                {"name": "华东销售", "access_token": "https://oapi.dingtalk.com/robot/send?access_token=ab12", "secret": "SECcd34"},
                {"name": "旧群", "access_token": "set"},
                {"name": "关键词群", "access_token": "ef56"}
            ])
        );
        assert_eq!(
            body["recipients"]["dingtalk_users"],
            json!(["manager01", "manager02"])
        );
        assert_eq!(body["owner"]["dingtalk_user"], "manager01");
    }

    #[test]
    fn number_formats_are_written_key_colon_words() {
        let body = task_body(&form(&[
            ("page.charts[0].name", "GMV"),
            ("page.charts[0].data_url", "https://bi.example.com/api/gmv"),
            (
                "page.charts[0].fields.formats",
                "gmv: cny; rate: % 1；cost：ms",
            ),
        ]));
        assert_eq!(
            body["page"]["charts"][0]["fields"]["formats"],
            json!({
                "gmv": {"style": "currency", "currency": "CNY"},
                "rate": {"style": "percent", "decimals": 1},
                "cost": {"unit": "ms"}
            })
        );
    }

    #[test]
    fn conditions_are_one_json_rule_per_line_and_none_when_empty() {
        let body = task_body(&form(&[
            ("conditions.when", "all"),
            (
                "conditions.rules",
                "{\"chart\": \"GMV\", \"field\": \"gmv\", \"op\": \"<\", \"value\": 1000000},\n\n  not json\n",
            ),
        ]));
        assert_eq!(
            body["conditions"],
            json!({"when": "all", "rules": [
                {"chart": "GMV", "field": "gmv", "op": "<", "value": 1000000},
                "not json"
            ]}),
            "a line that is not JSON goes as typed, for the API to name"
        );
        let none = task_body(&form(&[
            ("conditions.when", "any"),
            ("conditions.rules", " \n"),
        ]));
        assert!(none.get("conditions").is_none());
    }

    #[test]
    fn attachments_are_a_format_chart_names_and_rows_or_none() {
        let body = task_body(&form(&[
            ("content.attachments.format", "xlsx"),
            ("content.attachments.charts", "GMV， Orders , "),
            ("content.attachments.max_rows", "500"),
        ]));
        assert_eq!(
            body["content"]["attachments"],
            json!({"format": "xlsx", "charts": ["GMV", "Orders"], "max_rows": 500})
        );
        let all = task_body(&form(&[("content.attachments.format", "csv")]));
        assert_eq!(
            all["content"]["attachments"],
            json!({"format": "csv", "charts": "all"})
        );
        let none = task_body(&form(&[("content.attachments.charts", "GMV")]));
        assert!(none["content"].get("attachments").is_none());
    }

    #[test]
    fn cell_colours_are_written_key_op_value_colour() {
        let body = task_body(&form(&[
            ("page.charts[0].name", "Stores"),
            (
                "page.charts[0].data_url",
                "https://bi.example.com/api/stores",
            ),
            (
                "page.charts[0].fields.thresholds",
                "rate < 0.05 red；rate >= 0.1 green; gross margin <= -2 orange; nonsense",
            ),
        ]));
        assert_eq!(
            body["page"]["charts"][0]["fields"]["thresholds"],
            json!({
                "rate": [
                    {"op": "<", "value": 0.05, "color": "red"},
                    {"op": ">=", "value": 0.1, "color": "green"}
                ],
                "gross margin": [{"op": "<=", "value": -2.0, "color": "orange"}],
                "nonsense": ["nonsense"]
            })
        );
    }
}
