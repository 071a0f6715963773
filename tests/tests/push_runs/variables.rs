//! Message variables: the run's date and figures in the title, beginning and ending, on the
//! message the recipients get; a name that does not exist is a 400 naming the field.
use super::*;

const GMV: &str = r#"{"data": {"rows": [{"gmv": 980000, "prev": 1000000}]}}"#;

fn task_with_texts(server: &ChartServer, title: &str, beginning: &str) -> Value {
    let mut body = task_body(server, &["GMV", "Errors"], control(no_rule(), no_rule()));
    body["page"]["charts"][0]["display"] = json!("kpi");
    body["page"]["charts"][0]["fields"] = json!({"values": ["gmv"], "compare": "prev"});
    body["content"]["language"] = json!("zh");
    body["page"]["title"] = json!(title);
    body["content"]["beginning"] = json!(beginning);
    body
}

#[tokio::test]
async fn the_title_and_beginning_carry_the_runs_date_and_figures_and_a_failed_chart_a_dash() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("GMV", ChartAnswer::Json(GMV));
    charts.set("Errors", ChartAnswer::Status(503));
    let task = create(
        &app,
        &task_with_texts(
            &charts,
            r#"{{ scheduled_at | date("%m月%d日") }} 日报：GMV {{ charts["GMV"].value }}"#,
            r#"较上期 {{ charts["GMV"].change }}，错误 {{ charts["Errors"].rows }} 条"#,
        ),
    )
    .await;
    // Thursday 10:00 in Shanghai is 02:00 UTC.
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    let sent = app_messages(&fakes);
    assert_eq!(sent.len(), 1);
    let card = &sent[0].body["textcard"];
    assert_eq!(card["title"], "12月03日 日报：GMV 98万", "{card:#}");
    let description = card["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("较上期 ▼ 2%，错误 — 条"),
        "{description}"
    );
}

#[tokio::test]
async fn unknown_names_in_message_texts_are_refused_naming_the_field() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    for (title, beginning, field, says) in [
        ("{{ tomorrow }}", "hi", "page.title", "unknown name"),
        (
            "ok",
            r#"{{ charts["Revenue"].value }}"#,
            "content.beginning",
            "unknown name",
        ),
        (
            "ok",
            r#"{{ charts["GMV"].median }}"#,
            "content.beginning",
            "unknown name",
        ),
        (
            "{% for x in y %}{% endfor %}",
            "hi",
            "page.title",
            "only {{ … }}",
        ),
    ] {
        let reply = app
            .admin(
                Method::POST,
                TASKS,
                &task_with_texts(&charts, title, beginning),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{title} {beginning}");
        assert_eq!(reply.body["error"]["field"], field, "{:#}", reply.body);
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{message}");
    }
}
