//! Rendering tests: every channel and template, limits, cuts and languages.
use super::*;
use crate::domain::text::ChartName;
use chrono::TimeZone;

const URL: &str = "https://bi.example.com/share/abc";
const RECORD: &str = "https://herald.example.com/records/run-1";
const CHANNELS: [Channel; 4] = [
    Channel::Wecom,
    Channel::Feishu,
    Channel::Email,
    Channel::Dingtalk,
];
const KINDS: [Template; 3] = [Template::Card, Template::Markdown, Template::Text];

fn at() -> DateTime<Tz> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 12, 3, 10, 0, 0)
        .unwrap()
}

fn chart(name: &str, state: ChartState) -> ChartCheck {
    ChartCheck {
        name: ChartName::parse(name).unwrap(),
        state,
        elapsed_ms: 12,
    }
}

fn typical() -> Vec<ChartCheck> {
    vec![
        chart("GMV by region", ChartState::Ok { rows: 1234 }),
        chart("Orders", ChartState::Empty),
        chart(
            "Refunds",
            ChartState::AccessError {
                reason: "HTTP 503".into(),
            },
        ),
    ]
}

/// 50 charts: #7 empty, #31 unreadable, the rest ok; names of `repeat` × 7 Chinese characters.
fn many(repeat: usize) -> Vec<ChartCheck> {
    (0..50)
        .map(|i| {
            let name: String = format!("第{i}号图表{}", "华东区域销售额".repeat(repeat))
                .chars()
                .take(100)
                .collect();
            let state = match i {
                7 => ChartState::Empty,
                31 => ChartState::AccessError {
                    reason: "HTTP 503".into(),
                },
                _ => ChartState::Ok { rows: 1000 + i },
            };
            chart(&name, state)
        })
        .collect()
}

fn view(charts: &[ChartCheck]) -> PushView<'_> {
    PushView {
        task_name: "Daily sales",
        page_title: "Sales overview",
        share_url: Some(URL),
        beginning: Some("Good morning"),
        ending: Some("Questions: #bi-help"),
        charts,
        figures: &[],
        language: Language::En,
        snapshot: None,
        kind: RunKind::Scheduled,
        reference: None,
        at: at(),
    }
}

fn alarm(reason: AlarmReason, charts: &[ChartCheck], total: usize) -> AlarmView<'_> {
    AlarmView {
        task_name: "Daily sales",
        project: "bi",
        reason,
        paused: true,
        charts,
        total_charts: total,
        record_url: Some(RECORD),
        at: at(),
        language: Language::En,
    }
}

/// Every piece of text a message carries, joined.
fn all_text(message: &RenderedPush) -> String {
    match message {
        RenderedPush::Wecom(WecomBody::Text { content })
        | RenderedPush::Wecom(WecomBody::Markdown { content }) => content.clone(),
        RenderedPush::Wecom(WecomBody::File { file })
        | RenderedPush::Feishu(FeishuBody::File { file }) => file.name.clone(),
        RenderedPush::Wecom(WecomBody::Textcard {
            title,
            description,
            url,
            btntxt,
        }) => format!("{title}\n{description}\n{url}\n{btntxt:?}"),
        RenderedPush::Feishu(FeishuBody::Text { text }) => text.clone(),
        RenderedPush::Feishu(FeishuBody::Post {
            title, paragraphs, ..
        }) => {
            let mut out = format!("{title}\n");
            for run in paragraphs.iter().flatten() {
                out.push_str(&run.text);
                if let Some(href) = &run.href {
                    out.push_str(&format!(" <{href}>"));
                }
                out.push('\n');
            }
            out
        }
        RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) => {
            serde_json::to_string_pretty(card).unwrap()
        }
        RenderedPush::Email {
            subject,
            text,
            html,
            ..
        } => format!("{subject}\n{text}\n{}", html.as_deref().unwrap_or("")),
        RenderedPush::Dingtalk(DingtalkBody::Text { content }) => content.clone(),
        RenderedPush::Dingtalk(DingtalkBody::Markdown { title, text }) => {
            format!("{title}\n{text}")
        }
    }
}

/// Asserts the provider limits and clean UTF-8.
fn assert_within_limits(message: &RenderedPush) {
    match message {
        RenderedPush::Wecom(WecomBody::File { .. })
        | RenderedPush::Feishu(FeishuBody::File { .. }) => {}
        RenderedPush::Wecom(WecomBody::Textcard {
            title,
            description,
            url,
            btntxt,
        }) => {
            assert!(title.len() <= 128, "title {} bytes", title.len());
            assert!(
                description.len() <= 512,
                "description {} bytes",
                description.len()
            );
            assert!(url.starts_with("https://"));
            assert!(btntxt.as_deref().unwrap().chars().count() <= 4);
        }
        RenderedPush::Wecom(WecomBody::Markdown { content })
        | RenderedPush::Wecom(WecomBody::Text { content }) => {
            assert!(content.len() <= 2048, "content {} bytes", content.len());
        }
        RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) => {
            assert!(serde_json::to_string(card).unwrap().len() <= 30 * 1024);
            assert!(feishu_request_len(card) <= 30 * 1024);
        }
        RenderedPush::Feishu(FeishuBody::Post {
            title, paragraphs, ..
        }) => {
            let content = post_content(title, paragraphs);
            assert!(serde_json::to_string(&content).unwrap().len() <= 30 * 1024);
            assert!(feishu_request_len(&content) <= 30 * 1024);
            assert!(paragraphs.iter().all(|p| !p.is_empty()));
        }
        RenderedPush::Feishu(FeishuBody::Text { text }) => {
            assert!(feishu_text_request_len(text) <= 150 * 1024);
        }
        RenderedPush::Email { subject, text, .. } => {
            assert!(!subject.contains('\n'));
            assert!(!text.is_empty());
        }
        RenderedPush::Dingtalk(body) => {
            // The whole `msg` of a work notice, as DingTalk measures it.
            let msg =
                serde_json::to_string(&crate::domain::message::DingtalkMsg::of(body)).unwrap();
            assert!(msg.len() <= 2048, "DingTalk msg {} bytes", msg.len());
            if let DingtalkBody::Markdown { title, .. } = body {
                assert!(title.len() <= 128 && !title.contains('\n'));
            }
        }
    }
    let text = all_text(message);
    assert_eq!(String::from_utf8(text.clone().into_bytes()).unwrap(), text);
    assert!(
        !text.contains('\u{FFFD}'),
        "replacement character in {text}"
    );
    assert!(
        !text.contains("{{") && !text.contains("{%"),
        "template syntax leaked: {text}"
    );
}

fn every(view: &PushView) -> Vec<(Channel, Template, RenderedPush)> {
    CHANNELS
        .iter()
        .flat_map(|c| KINDS.iter().map(move |t| (*c, *t)))
        .map(|(c, t)| (c, t, render_push(c, t, view).unwrap()))
        .collect()
}

#[test]
fn every_template_compiles() {
    let env = ENV.as_ref().unwrap();
    for (name, _) in TEMPLATES {
        env.get_template(name).unwrap();
    }
}

#[test]
fn every_channel_and_template_renders_a_typical_view() {
    let charts = typical();
    for (channel, template, message) in every(&view(&charts)) {
        assert_within_limits(&message);
        let text = all_text(&message);
        for needle in [
            "Sales overview",
            "2026-12-03 10:00 (Asia/Shanghai)",
            "Good morning",
            "GMV by region",
            "1,234 rows",
            "Orders",
            "no data",
            "Refunds",
            "could not be read (HTTP 503)",
            "Questions: #bi-help",
            URL,
        ] {
            assert!(
                text.contains(needle),
                "{channel:?}/{template:?} lacks {needle:?}: {text}"
            );
        }
        assert!(
            !text.contains("more"),
            "{channel:?}/{template:?} cut: {text}"
        );
    }
}

#[test]
fn each_pair_gets_its_message_type() {
    let charts = typical();
    let v = view(&charts);
    let shape = |c, t| match render_push(c, t, &v).unwrap() {
        RenderedPush::Wecom(WecomBody::Textcard { .. }) => "textcard",
        RenderedPush::Wecom(WecomBody::Markdown { .. }) => "wecom markdown",
        RenderedPush::Wecom(WecomBody::Text { .. }) => "wecom text",
        RenderedPush::Feishu(FeishuBody::Interactive { .. }) => "card",
        RenderedPush::Feishu(FeishuBody::Post { .. }) => "post",
        RenderedPush::Feishu(FeishuBody::Text { .. }) => "feishu text",
        RenderedPush::Wecom(WecomBody::File { .. })
        | RenderedPush::Feishu(FeishuBody::File { .. }) => "file",
        RenderedPush::Email { html: Some(_), .. } => "html mail",
        RenderedPush::Email { html: None, .. } => "text mail",
        RenderedPush::Dingtalk(DingtalkBody::Markdown { .. }) => "dingtalk markdown",
        RenderedPush::Dingtalk(DingtalkBody::Text { .. }) => "dingtalk text",
    };
    assert_eq!(shape(Channel::Wecom, Template::Card), "textcard");
    assert_eq!(shape(Channel::Wecom, Template::Markdown), "wecom markdown");
    assert_eq!(shape(Channel::Wecom, Template::Text), "wecom text");
    assert_eq!(shape(Channel::Feishu, Template::Card), "card");
    assert_eq!(shape(Channel::Feishu, Template::Markdown), "post");
    assert_eq!(shape(Channel::Feishu, Template::Text), "feishu text");
    assert_eq!(shape(Channel::Email, Template::Card), "html mail");
    assert_eq!(shape(Channel::Email, Template::Markdown), "html mail");
    assert_eq!(shape(Channel::Email, Template::Text), "text mail");
    assert_eq!(
        shape(Channel::Dingtalk, Template::Card),
        "dingtalk markdown"
    );
    assert_eq!(
        shape(Channel::Dingtalk, Template::Markdown),
        "dingtalk markdown"
    );
    assert_eq!(shape(Channel::Dingtalk, Template::Text), "dingtalk text");
}

#[test]
fn typical_wecom_messages_look_right() {
    let charts = typical();
    let v = view(&charts);
    let RenderedPush::Wecom(WecomBody::Textcard {
        title,
        description,
        url,
        btntxt,
    }) = render_push(Channel::Wecom, Template::Card, &v).unwrap()
    else {
        panic!("not a textcard")
    };
    assert_eq!(title, "Sales overview");
    assert_eq!(url, URL);
    assert_eq!(btntxt.as_deref(), Some("View"));
    assert!(description.starts_with(
        "<div class=\"gray\">2026-12-03 10:00 (Asia/Shanghai)</div><div class=\"normal\">Good morning</div>"
    ));
    assert!(description.contains("<div class=\"highlight\">Orders: no data</div>"));
    assert!(!description.contains('\n'));

    let RenderedPush::Wecom(WecomBody::Markdown { content }) =
        render_push(Channel::Wecom, Template::Markdown, &v).unwrap()
    else {
        panic!("not markdown")
    };
    assert!(content.starts_with("**Sales overview**\n"));
    assert!(content.contains("GMV by region: <font color=\"comment\">1,234 rows</font>"));
    assert!(content.contains("Orders: <font color=\"warning\">no data</font>"));
    assert!(content.contains(&format!("[View report]({URL})")));
    assert!(!content.contains("\n\n\n"));

    let RenderedPush::Wecom(WecomBody::Text { content }) =
        render_push(Channel::Wecom, Template::Text, &v).unwrap()
    else {
        panic!("not text")
    };
    assert_eq!(
        content,
        format!(
            "Sales overview\n2026-12-03 10:00 (Asia/Shanghai)\n\nGood morning\n\n\
             - GMV by region: 1,234 rows\n- Orders: no data\n- Refunds: could not be read (HTTP 503)\n\n\
             Questions: #bi-help\n\nView report: {URL}\n\n— Herald · Daily sales"
        )
    );
}

#[test]
fn fifty_charts_fit_every_limit() {
    for repeat in [1, 2, 20] {
        let charts = many(repeat);
        for (channel, template, message) in every(&view(&charts)) {
            assert_within_limits(&message);
            if channel == Channel::Wecom {
                let text = all_text(&message);
                assert!(
                    text.contains("48 ok · 1 empty · 1 unreadable"),
                    "{template:?}: {text}"
                );
                assert!(text.contains("more"), "{template:?}: {text}");
            }
            if channel == Channel::Email {
                // no limit: every chart is listed
                assert!(all_text(&message).contains("第49号图表"));
            }
        }
    }
}

#[test]
fn problem_charts_come_first_when_lines_overflow() {
    let charts = many(2);
    let v = view(&charts);
    for template in KINDS {
        let text = all_text(&render_push(Channel::Wecom, template, &v).unwrap());
        let unreadable = text.find("第31号图表").expect("unreadable chart listed");
        let empty = text.find("第7号图表").expect("empty chart listed");
        let ok = text.find("第0号图表").unwrap_or(usize::MAX);
        let summary = text.find("48 ok · 1 empty · 1 unreadable").unwrap();
        assert!(
            summary < unreadable && unreadable < empty && empty < ok,
            "{text}"
        );
        assert!(text.contains("Good morning") && text.contains("Questions: #bi-help"));
    }
    // the markdown shows as many ok charts as fit and counts the rest
    let RenderedPush::Wecom(WecomBody::Markdown { content }) =
        render_push(Channel::Wecom, Template::Markdown, &v).unwrap()
    else {
        panic!("not markdown")
    };
    let shown = (0..50)
        .filter(|i| content.contains(&format!("第{i}号图表")))
        .count();
    assert!(shown > 2 && shown < 50, "{shown} shown");
    assert!(
        content.contains(&format!("…and {} more", 50 - shown)),
        "{content}"
    );
    // one more line would not have fitted
    assert!(content.len() > 2048 - 200, "{} bytes", content.len());
}

#[test]
fn chinese_text_is_never_cut_mid_character() {
    let charts = many(20); // 100-character names
    let long: String = "早上好，这是本周的销售报表。"
        .repeat(80)
        .chars()
        .take(1000)
        .collect();
    let title: String = "销售总览".repeat(50);
    let mut v = view(&charts);
    v.beginning = Some(&long);
    v.ending = Some(&long);
    v.page_title = &title;
    for (_, _, message) in every(&v) {
        assert_within_limits(&message);
    }
    let RenderedPush::Wecom(WecomBody::Textcard { title, .. }) =
        render_push(Channel::Wecom, Template::Card, &v).unwrap()
    else {
        panic!("not a textcard")
    };
    assert!(title.ends_with('…') && title.starts_with("销售总览"));

    assert_eq!(ellipsize("销售额", 9), "销售额");
    assert_eq!(ellipsize("销售额", 8), "销…");
    assert_eq!(ellipsize("销售额", 2), "");
    assert_eq!(floor_boundary("销售额", 4), "销");
    assert_eq!(cut_to("销售额销售额".into(), 10, &str::len), "销售…");
}

#[test]
fn html_mail_escapes_and_the_plain_part_keeps_the_text() {
    let charts = vec![chart(
        "<script>alert(1)</script>",
        ChartState::Ok { rows: 3 },
    )];
    let mut v = view(&charts);
    v.beginning = Some("<script>x</script> & co");
    for template in [Template::Card, Template::Markdown] {
        let RenderedPush::Email { text, html, .. } =
            render_push(Channel::Email, template, &v).unwrap()
        else {
            panic!("not mail")
        };
        let html = html.unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;x&lt;&#x2f;script&gt; &amp; co"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("href=\"https:&#x2f;&#x2f;bi.example.com&#x2f;share&#x2f;abc\""));
        assert!(text.contains("- <script>alert(1)</script>: 3 rows"));
        assert!(text.contains("<script>x</script> & co"));
    }
    let RenderedPush::Email { html, .. } = render_push(Channel::Email, Template::Text, &v).unwrap()
    else {
        panic!("not mail")
    };
    assert_eq!(html, None);
}

#[test]
fn the_share_link_appears_only_when_given() {
    let charts = typical();
    let mut v = view(&charts);
    v.share_url = None;
    for (channel, template, message) in every(&v) {
        assert_within_limits(&message);
        let text = all_text(&message);
        assert!(
            !text.contains("bi.example.com"),
            "{channel:?}/{template:?}: {text}"
        );
        assert!(
            !text.contains("View report"),
            "{channel:?}/{template:?}: {text}"
        );
    }
    // WeCom's textcard needs a URL: without one, the card falls back to markdown
    assert!(matches!(
        render_push(Channel::Wecom, Template::Card, &v).unwrap(),
        RenderedPush::Wecom(WecomBody::Markdown { .. })
    ));
    let RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) =
        render_push(Channel::Feishu, Template::Card, &v).unwrap()
    else {
        panic!("not a card")
    };
    let actions = |card: &serde_json::Value| -> Vec<serde_json::Value> {
        card["elements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["tag"] == "action")
            .cloned()
            .collect()
    };
    assert!(actions(&card).is_empty());

    let v = view(&charts);
    let RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) =
        render_push(Channel::Feishu, Template::Card, &v).unwrap()
    else {
        panic!("not a card")
    };
    assert_eq!(actions(&card)[0]["actions"][0]["url"], URL);
    let RenderedPush::Feishu(FeishuBody::Post { paragraphs, .. }) =
        render_push(Channel::Feishu, Template::Markdown, &v).unwrap()
    else {
        panic!("not a post")
    };
    assert_eq!(
        paragraphs.last().unwrap(),
        &vec![PostRun {
            text: "View report".into(),
            href: Some(URL.into())
        }]
    );
}

#[test]
fn test_and_manual_runs_are_labelled() {
    let charts = typical();
    for (kind, label) in [
        (RunKind::Test, "[Test] Sales overview"),
        (RunKind::Manual, "[Manual] Sales overview"),
    ] {
        let mut v = view(&charts);
        v.kind = kind;
        for (channel, template, message) in every(&v) {
            let text = all_text(&message);
            assert!(text.contains(label), "{channel:?}/{template:?}: {text}");
        }
        let RenderedPush::Email { subject, .. } =
            render_push(Channel::Email, Template::Card, &v).unwrap()
        else {
            panic!("not mail")
        };
        // To the second: two test pushes in one minute differ (WeCom's duplicate check).
        assert_eq!(
            subject,
            format!("{label} · 2026-12-03 10:00:00 (Asia/Shanghai)")
        );
    }
    for (_, _, message) in every(&view(&charts)) {
        let text = all_text(&message);
        assert!(!text.contains("[Test]") && !text.contains("[Manual]"));
    }
}

#[test]
fn the_feishu_card_colour_follows_the_worst_chart() {
    let colour = |charts: &[ChartCheck]| {
        let RenderedPush::Feishu(FeishuBody::Interactive { card, .. }) =
            render_push(Channel::Feishu, Template::Card, &view(charts)).unwrap()
        else {
            panic!("not a card")
        };
        card["header"]["template"].as_str().unwrap().to_owned()
    };
    let all = typical();
    assert_eq!(colour(&all[..1]), "blue");
    assert_eq!(colour(&all[..2]), "orange");
    assert_eq!(colour(&all), "red");
}

fn robot(view: &AlarmView) -> String {
    let RobotBody::Markdown { content } = render_alarm_robot(view).unwrap() else {
        panic!("not markdown")
    };
    assert!(content.len() <= 4096, "{} bytes", content.len());
    assert!(!content.contains('\u{FFFD}'));
    content
}

mod alarm;
mod group;
mod hostile;
