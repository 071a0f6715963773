//! Hostile chart data: text in every sink; only the share link links.
use super::*;
use crate::domain::ticket::TicketStatus;

/// Text a chart's data, a chart's name or a ticket's title could carry to phish or fake an alert.
const HOSTILE: [&str; 5] = [
    "[账号异常，点此验证](https://evil.example/login)",
    "<font color=\"warning\">紧急</font>",
    "<a href=\"https://evil.example\">点此</a>",
    "<at user_id=\"all\"></at><@all>",
    "www.evil-site.com",
];

/// What must never reach a message from hostile text: a link, a tag, a mention, a linkable address.
const FORBIDDEN: [&str; 8] = [
    "](https://evil",
    "<font color=\"warning\">紧急",
    "<a href=\"https://evil",
    "<at user_id",
    "<@all>",
    "https://evil",
    "evil.example",
    "www.evil-site.com",
];

fn hostile_charts() -> (Vec<ChartCheck>, Vec<Option<Figure>>) {
    use crate::domain::report::{Cell, Column};
    let charts = vec![
        chart(HOSTILE[0], ChartState::Ok { rows: 5 }),
        chart("Regions", ChartState::Ok { rows: 5 }),
        chart(
            HOSTILE[2],
            ChartState::AccessError {
                reason: HOSTILE[1].into(),
            },
        ),
    ];
    let table = Figure::Table {
        columns: vec![
            Column {
                name: HOSTILE[3].into(),
                numeric: false,
                format: None,
                rules: Vec::new(),
            },
            Column {
                name: "gmv".into(),
                numeric: true,
                format: None,
                rules: Vec::new(),
            },
        ],
        rows: HOSTILE
            .iter()
            .map(|cell| vec![Cell::Text((*cell).into()), Cell::Number(1.0)])
            .collect(),
        total_rows: 5,
    };
    let bars = Figure::Bar(crate::domain::report::Series {
        label_field: "region".into(),
        labels: HOSTILE.iter().map(|s| (*s).to_owned()).collect(),
        series: vec![crate::domain::report::NamedValues {
            name: HOSTILE[1].into(),
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            format: None,
        }],
        total_rows: 5,
    });
    (charts, vec![Some(table), Some(bars), None])
}

fn assert_harmless(what: &str, text: &str) {
    for forbidden in FORBIDDEN {
        assert!(
            !text.contains(forbidden),
            "{what} carries {forbidden:?}:\n{text}"
        );
    }
}

/// A mail's subject and plain part are shown as they are (no markup), but never as a link.
fn assert_no_links(what: &str, text: &str) {
    for forbidden in ["https://evil", "evil.example", "www.evil-site.com"] {
        assert!(
            !text.contains(forbidden),
            "{what} carries {forbidden:?}:\n{text}"
        );
    }
}

/// Every part of a message held to what its sink shows: mail's plain parts to no links.
fn assert_message_harmless(what: &str, message: &RenderedPush) {
    match message {
        RenderedPush::Email {
            subject,
            text,
            html,
            ..
        } => {
            assert_no_links(what, subject);
            assert_no_links(what, text);
            assert_harmless(what, html.as_deref().unwrap_or_default());
        }
        other => assert_harmless(what, &all_text(other)),
    }
}

#[test]
fn hostile_chart_data_is_text_in_every_sink_and_only_the_share_link_links() {
    let (charts, figures) = hostile_charts();
    let mut v = view(&charts);
    v.figures = &figures;
    v.page_title = HOSTILE[4];
    v.beginning = Some(HOSTILE[0]);
    v.ending = Some(HOSTILE[3]);
    for (channel, template, message) in every(&v) {
        let text = all_text(&message);
        assert_message_harmless(&format!("{channel:?}/{template:?}"), &message);
        // The figures are still there, as text.
        assert!(
            text.contains("账号异常"),
            "{channel:?}/{template:?}: {text}"
        );
        assert!(
            text.contains(URL),
            "{channel:?}/{template:?} lost the share link: {text}"
        );
    }
    // The Feishu card's markdown elements, one by one (its JSON escapes quotes).
    let RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) =
        render_push(Channel::Feishu, Template::Card, &v).unwrap()
    else {
        panic!("not a card")
    };
    let mut markdowns = Vec::new();
    collect_markdown(&card, &mut markdowns);
    assert!(markdowns.len() > 3, "{card:#}");
    for content in markdowns {
        assert_harmless("a Feishu card markdown element", &content);
        assert!(!content.contains("[账号"), "{content}");
    }
}

fn collect_markdown(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("tag").and_then(|t| t.as_str()) == Some("markdown") {
                out.push(map["content"].as_str().unwrap_or_default().to_owned());
            }
            map.values().for_each(|v| collect_markdown(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_markdown(v, out)),
        _ => {}
    }
}

#[test]
fn hostile_chart_names_are_text_in_the_robot_alarm_and_the_owner_note() {
    let charts = vec![
        chart(HOSTILE[0], ChartState::Empty),
        chart(
            HOSTILE[2],
            ChartState::AccessError {
                reason: HOSTILE[1].into(),
            },
        ),
    ];
    for reason in [AlarmReason::Empty, AlarmReason::AccessError] {
        let mut view = alarm(reason, &charts, 2);
        view.task_name = HOSTILE[3];
        assert_harmless("the robot alarm", &robot(&view));
        assert!(
            robot(&view).contains(&format!("]({RECORD})")),
            "{}",
            robot(&view)
        );
        for channel in CHANNELS {
            let note = render_alarm_owner(channel, &view).unwrap();
            assert_message_harmless(&format!("the {channel:?} owner note"), &note);
        }
    }
}

#[test]
fn a_hostile_ticket_title_is_text_on_every_channel() {
    let view = TicketView {
        status: TicketStatus::PendingReview,
        title: HOSTILE[0],
        project: "payments",
        id: "1042",
        actor: Some(HOSTILE[3]),
        reason: Some(HOSTILE[2]),
        occurred_at: at().with_timezone(&chrono::Utc),
        link: Some("https://sqle.example.com/projects/payments/tickets/1042"),
    };
    for channel in CHANNELS {
        for language in [Language::Zh, Language::En] {
            let message = render_ticket(channel, language, &view).unwrap();
            assert_message_harmless(&format!("the {channel:?} ticket"), &message);
            let text = all_text(&message);
            assert!(text.contains("https://sqle.example.com/projects/payments/tickets/1042"));
        }
    }
}
