//! A task's schedule in words, in the page's language: "Mon, Thu at 10:00 (Asia/Shanghai)".
use crate::i18n::Lang;
use minijinja::{State, Value};

const DAYS: [(&str, &str, &str); 7] = [
    ("mon", "Mon", "一"),
    ("tue", "Tue", "二"),
    ("wed", "Wed", "三"),
    ("thu", "Thu", "四"),
    ("fri", "Fri", "五"),
    ("sat", "Sat", "六"),
    ("sun", "Sun", "日"),
];

/// The `words` filter: `{{ task.schedule|words }}`.
pub(crate) fn schedule_filter(state: &State, schedule: Value) -> String {
    let lang = state
        .lookup("lang")
        .and_then(|l| l.as_str().map(Lang::parse))
        .unwrap_or_default();
    let json = serde_json::to_value(&schedule).unwrap_or_default();
    describe(&json, lang)
}

/// Describes a schedule as the API shows it (`every` plus its fields and `timezone`).
pub(crate) fn describe(schedule: &serde_json::Value, lang: Lang) -> String {
    let text = |key: &str| schedule[key].as_str().unwrap_or_default().to_owned();
    let zh = lang == Lang::Zh;
    let at = text("at");
    let what = match text("every").as_str() {
        "hour" => {
            let minute = schedule["minute"].as_u64().unwrap_or(0);
            if zh {
                format!("每小时第 {minute} 分")
            } else {
                format!("Every hour at :{minute:02}")
            }
        }
        "day" => {
            if zh {
                format!("每天 {at}")
            } else {
                format!("Every day at {at}")
            }
        }
        "week" => {
            let days: Vec<&str> = schedule["days"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .filter_map(|d| DAYS.iter().find(|(key, _, _)| *key == d))
                .map(|(_, en, cn)| if zh { *cn } else { *en })
                .collect();
            if zh {
                format!("每周{} {at}", days.join("、"))
            } else {
                format!("{} at {at}", days.join(", "))
            }
        }
        "month" => {
            let day = match &schedule["day_of_month"] {
                serde_json::Value::Number(n) => n.to_string(),
                _ if zh => "最后一".into(),
                _ => "last".into(),
            };
            if zh {
                format!("每月{day}日 {at}")
            } else if day == "last" {
                format!("The last day of each month at {at}")
            } else {
                format!("Day {day} of each month at {at}")
            }
        }
        "cron" => format!("cron {}", text("cron")),
        other => other.to_owned(),
    };
    let zone = text("timezone");
    if zh {
        format!("{what}（{zone}）")
    } else {
        format!("{what} ({zone})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schedules_read_as_people_say_them() {
        let week = json!({"every": "week", "days": ["mon", "thu"], "at": "10:00", "timezone": "Asia/Shanghai"});
        assert_eq!(
            describe(&week, Lang::En),
            "Mon, Thu at 10:00 (Asia/Shanghai)"
        );
        assert_eq!(
            describe(&week, Lang::Zh),
            "每周一、四 10:00（Asia/Shanghai）"
        );
        let hour = json!({"every": "hour", "minute": 5, "timezone": "UTC"});
        assert_eq!(describe(&hour, Lang::En), "Every hour at :05 (UTC)");
        let last =
            json!({"every": "month", "day_of_month": "last", "at": "18:00", "timezone": "UTC"});
        assert_eq!(
            describe(&last, Lang::En),
            "The last day of each month at 18:00 (UTC)"
        );
        assert_eq!(describe(&last, Lang::Zh), "每月最后一日 18:00（UTC）");
        let day = json!({"every": "month", "day_of_month": 15, "at": "09:30", "timezone": "UTC"});
        assert_eq!(describe(&day, Lang::Zh), "每月15日 09:30（UTC）");
    }
}
