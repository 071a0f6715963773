//! The message is the report: a page with a KPI, bars and a table, test-pushed on every channel
//! and seen at the fakes — the figures in the text, the snapshot uploaded the provider's way and
//! shown by the message — and a preview that answers the same and sends nothing.
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use herald_fakes::{
    AcceptedMessage, Endpoint, FeishuConfig, FeishuUser, WecomConfig, picture_format,
};
use herald_tests::ADMIN_TOKEN;
use herald_tests::providers::FakeProviders;
use herald_tests::push::{ChartAnswer, ChartServer, PushApp};
use herald_tests::sample_task;
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";
const TASKS: &str = "/v1/projects/payments/tasks";
const OPEN_ID: &str = "ou_lisi";

async fn fakes() -> FakeProviders {
    FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default().with_user(FeishuUser::new(OPEN_ID)),
    )
    .await
}

/// GMV today and yesterday; GMV by region; the top stores.
fn serve_page(charts: &ChartServer) {
    charts.set(
        "gmv",
        ChartAnswer::Json(r#"{"data": {"rows": [{"gmv": 1234567.5, "gmv_prev": 1100000}]}}"#),
    );
    charts.set(
        "regions",
        ChartAnswer::Json(
            r#"{"data": {"rows": [
                {"region": "华东", "gmv": 523000},
                {"region": "华北", "gmv": "310,000"},
                {"region": "华南", "gmv": 187000}
            ]}}"#,
        ),
    );
    charts.set(
        "stores",
        ChartAnswer::Json(
            r#"{"data": {"rows": [
                {"store": "上海静安店", "city": "上海", "orders": 1234},
                {"store": "北京朝阳店", "city": "北京", "orders": 987}
            ]}}"#,
        ),
    );
}

fn task(charts: &ChartServer, channel: &str, template: &str) -> Value {
    let mut body = sample_task("2026-12-01");
    body["page"]["charts"] = json!([
        {"name": "GMV", "data_url": charts.url("gmv"), "rows": "/data/rows",
         "display": "kpi", "fields": {"values": ["gmv"], "compare": "gmv_prev"}},
        {"name": "GMV by region", "data_url": charts.url("regions"), "rows": "/data/rows"},
        {"name": "Top stores", "data_url": charts.url("stores"), "rows": "/data/rows",
         "display": "table", "max_rows": 5}
    ]);
    body["channel"] = json!(channel);
    body["template"] = json!(template);
    body["recipients"] = match channel {
        "feishu" => json!({"feishu_users": [OPEN_ID]}),
        "email" => json!({"emails": ["lisi@example.com"]}),
        _ => json!({"wecom_users": ["zhangsan", "lisi"]}),
    };
    body["owner"] = match channel {
        "feishu" => json!({"feishu_user": OPEN_ID}),
        "email" => json!({"email": "lisi@example.com"}),
        _ => json!({"wecom_user": "lisi"}),
    };
    body
}

async fn app(fakes: &FakeProviders) -> PushApp {
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(fakes).await;
    app
}

async fn create(app: &PushApp, body: &Value) -> String {
    let reply = app.admin(Method::POST, TASKS, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

async fn test_push(app: &PushApp, task: &str) -> Value {
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["outcome"], "delivered", "{:#}", reply.body);
    reply.body
}

/// GETs bytes (pictures) as the admin.
async fn get_bytes(app: &PushApp, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    herald_tests::http::get_bytes(&app.router, uri, ADMIN_TOKEN).await
}

/// The figures every channel's text carries: the KPI formatted with its change, the first rows.
fn assert_figures(text: &str) {
    assert!(text.contains("1.23M"), "the KPI value: {text}");
    assert!(text.contains("▲ 12.2%"), "the KPI's change: {text}");
    assert!(text.contains("华东: 523,000"), "the first bar: {text}");
    assert!(
        text.contains("上海静安店 · 上海 · 1,234"),
        "the first table row: {text}"
    );
}

fn text_of(message: &AcceptedMessage) -> String {
    message.body.to_string()
}

#[tokio::test]
async fn a_wecom_test_push_sends_the_uploaded_snapshot_then_the_figures() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task(&charts, "wecom", "markdown")).await;

    let run = test_push(&app, &task).await;

    let uploads = fakes.wecom.uploads();
    assert_eq!(uploads.len(), 1, "one upload per run");
    assert_eq!(picture_format(&uploads[0].bytes), Some("png"));
    assert_eq!(uploads[0].file_name.as_deref(), Some("snapshot.png"));
    let sent: Vec<AcceptedMessage> = fakes
        .wecom
        .delivered()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .collect();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].msgtype, "image");
    assert_eq!(sent[0].body["image"]["media_id"], json!(uploads[0].key));
    assert_eq!(sent[0].recipients, ["lisi"]);
    assert_eq!(sent[1].msgtype, "markdown");
    assert_figures(
        sent[1].body["markdown"]["content"]
            .as_str()
            .expect("content"),
    );

    // The record keeps the snapshot and the upload's answer.
    let answer = run["deliveries"][0]["history"][0]["answer"]
        .as_str()
        .unwrap_or_default();
    assert!(answer.contains("uploaded the snapshot"), "{answer}");
    let url = run["images"][0]["url"].as_str().expect("snapshot url");
    let (status, kind, png) = get_bytes(&app, url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("image/png"));
    assert_eq!(
        png, uploads[0].bytes,
        "the record serves the picture that was sent"
    );

    // A second test push shows its own time and run reference, so its picture differs and is
    // uploaded anew (WeCom would swallow a repeated image message within 30 minutes); the batches
    // of one push share one upload.
    test_push(&app, &task).await;
    assert_eq!(fakes.wecom.uploads().len(), 2);
}

#[tokio::test]
async fn a_wecom_textcard_carries_the_kpi_within_512_bytes() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task(&charts, "wecom", "card")).await;
    test_push(&app, &task).await;
    let card = fakes
        .wecom
        .delivered()
        .into_iter()
        .find(|m| m.msgtype == "textcard")
        .expect("a textcard");
    let description = card.body["textcard"]["description"]
        .as_str()
        .expect("description");
    assert!(description.len() <= 512, "{}", description.len());
    assert!(description.contains("1.23M"), "{description}");
}

#[tokio::test]
async fn a_feishu_card_shows_the_uploaded_snapshot_kpi_tiles_and_a_table() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task(&charts, "feishu", "card")).await;

    test_push(&app, &task).await;

    let uploads = fakes.feishu.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(picture_format(&uploads[0].bytes), Some("png"));
    let sent = fakes.feishu.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msgtype, "interactive");
    let card = sent[0].content.clone().expect("card content");
    let elements = card["elements"].as_array().expect("elements");
    assert_eq!(elements[0]["tag"], "img");
    assert_eq!(elements[0]["img_key"], json!(uploads[0].key));
    let tiles = elements
        .iter()
        .find(|e| e["tag"] == "column_set")
        .expect("KPI tiles");
    assert!(tiles.to_string().contains("1.23M"), "{tiles}");
    let table = elements
        .iter()
        .find(|e| e["tag"] == "table")
        .expect("a table");
    assert_eq!(table["rows"][0]["c0"], "上海静安店");
    assert_eq!(table["rows"][0]["c2"], "1,234");
    let text = card.to_string();
    assert!(
        text.contains("▲ 12.2%") && text.contains("华东: 523,000"),
        "{text}"
    );
}

#[tokio::test]
async fn a_feishu_post_puts_the_snapshot_in_its_own_paragraph() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task(&charts, "feishu", "markdown")).await;
    test_push(&app, &task).await;
    let sent = fakes.feishu.delivered();
    let content = sent[0].content.clone().expect("post content");
    let first = &content["zh_cn"]["content"][0];
    assert_eq!(
        first,
        &json!([{"tag": "img", "image_key": fakes.feishu.uploads()[0].key}])
    );
    assert_figures(&content.to_string());
}

#[tokio::test]
async fn a_mail_carries_the_snapshot_inline_and_real_tables() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task(&charts, "email", "card")).await;
    test_push(&app, &task).await;

    let mails = fakes.smtp.messages();
    assert_eq!(mails.len(), 1);
    let raw = &mails[0].data;
    assert!(raw.contains("multipart/related"), "{raw}");
    assert!(raw.contains("Content-Type: image/png"), "{raw}");
    assert!(raw.contains("Content-ID: <snapshot>"), "{raw}");
    assert!(raw.contains("Content-Disposition: inline"), "{raw}");
    let parts = mime_parts(raw);
    let html = parts
        .iter()
        .find(|(kind, _)| kind.starts_with("text/html"))
        .expect("html")
        .1
        .clone();
    assert!(html.contains("src=\"cid:snapshot\""), "{html}");
    assert!(
        html.contains("<table") && html.contains("上海静安店"),
        "{html}"
    );
    let text = parts
        .iter()
        .find(|(kind, _)| kind.starts_with("text/plain"))
        .expect("text")
        .1
        .clone();
    assert!(
        text.contains("1.23M") && text.contains("上海静安店"),
        "{text}"
    );
    // The plain-text table has aligned columns: the header's "orders" ends where "1,234" ends
    // (numbers are right-aligned; CJK characters take two columns).
    let header = text
        .lines()
        .find(|l| l.contains("store") && l.contains("orders"))
        .expect("header");
    let row = text
        .lines()
        .find(|l| l.contains("上海静安店"))
        .expect("row");
    let width = |s: &str| {
        s.chars()
            .map(|c| if c > '\u{2E80}' { 2 } else { 1 })
            .sum::<usize>()
    };
    let end_of = |line: &str, what: &str| width(&line[..line.find(what).expect(what) + what.len()]);
    assert_eq!(
        end_of(header, "orders"),
        end_of(row, "1,234"),
        "{header}\n{row}"
    );
    let png = parts
        .iter()
        .find(|(kind, _)| kind.starts_with("image/png"))
        .expect("png")
        .1
        .clone();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.split_whitespace().collect::<String>())
        .expect("base64 part");
    assert_eq!(picture_format(&bytes), Some("png"));
}

/// The leaf parts of a MIME message: (content type, decoded body text or raw base64).
fn mime_parts(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in raw.split("\r\n--") {
        let Some((head, body)) = chunk.split_once("\r\n\r\n") else {
            continue;
        };
        let kind = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap_or_default()
            .to_owned();
        if kind.starts_with("multipart/") || kind.is_empty() {
            continue;
        }
        let encoding = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .unwrap_or_default();
        let body = body.trim_end_matches(['-', '\r', '\n']).to_owned();
        let decoded = match encoding {
            "base64" if !kind.starts_with("image/") => {
                let joined: String = body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(joined)
                        .unwrap_or_default(),
                )
                .unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(&body),
            _ => body,
        };
        out.push((kind, decoded));
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let mut bytes = Vec::new();
    let joined = text.replace("=\r\n", "");
    let raw = joined.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let escaped = (raw[i] == b'=' && i + 2 < raw.len())
            .then(|| u8::from_str_radix(&joined[i + 1..i + 3], 16).ok())
            .flatten();
        match escaped {
            Some(b) => {
                bytes.push(b);
                i += 3;
            }
            None => {
                bytes.push(raw[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn a_preview_answers_the_same_figures_and_a_png_and_sends_nothing() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let body = task(&charts, "wecom", "markdown");
    let task = create(&app, &body).await;

    let reply = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/preview"),
            &Value::Null,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let preview = &reply.body;
    assert_eq!(preview["charts"][0]["figure"]["display"], "kpi");
    assert_eq!(
        preview["charts"][1]["figure"]["display"], "bar",
        "auto picks bars"
    );
    assert_eq!(preview["messages"][0]["body"]["msgtype"], "image");
    assert_figures(
        preview["messages"][1]["body"]["content"]
            .as_str()
            .expect("markdown"),
    );
    let url = preview["images"][0]["url"].as_str().expect("snapshot url");
    let (status, kind, png) = get_bytes(&app, url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("image/png"));
    assert_eq!(picture_format(&png), Some("png"));
    assert_eq!(preview["images"][0]["bytes"], json!(png.len()));

    // Another channel, and an unsaved body: the same renderer.
    let reply = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/preview"),
            &json!({"channel": "email"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert!(
        reply.body["messages"][0]["body"]["html"]
            .as_str()
            .unwrap_or_default()
            .contains("<table")
    );
    let reply = app
        .admin(Method::POST, "/v1/projects/payments/preview", &body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_figures(
        reply.body["messages"][1]["body"]["content"]
            .as_str()
            .expect("markdown"),
    );

    assert!(fakes.wecom.messages().is_empty(), "a preview sends nothing");
    assert!(fakes.wecom.uploads().is_empty(), "nor uploads anything");
    assert!(fakes.smtp.messages().is_empty());

    // A viewer may not preview; a bad channel names the field.
    let reply = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/preview"),
            &json!({"channel": "fax"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.field(), Some("channel"));
}

#[tokio::test]
async fn a_chart_whose_rows_lack_a_named_key_is_a_shape_error_not_a_crash() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let mut body = task(&charts, "wecom", "markdown");
    body["page"]["charts"][0]["fields"]["values"] = json!(["revenue"]);
    let task = create(&app, &body).await;
    let run = test_push(&app, &task).await;
    assert_eq!(
        run["charts"][0]["status"], "shape_error",
        "{:#}",
        run["charts"]
    );
    assert_eq!(run["charts"][0]["field"], "fields.values[0]");
    assert_eq!(run["charts_unreadable"], 1);
    let text = fakes
        .wecom
        .delivered()
        .into_iter()
        .find(|m| m.msgtype == "markdown")
        .map(|m| text_of(&m))
        .expect("markdown");
    assert!(text.contains("could not be shown"), "{text}");
}

#[tokio::test]
async fn display_and_fields_are_validated_naming_the_field() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    for (path, value, field) in [
        ("display", json!("radar"), "page.charts[2].display"),
        ("max_rows", json!(0), "page.charts[2].max_rows"),
        ("max_rows", json!(51), "page.charts[2].max_rows"),
        (
            "fields",
            json!({"values": [""]}),
            "page.charts[2].fields.values[0]",
        ),
        (
            "fields",
            json!({"label": "x".repeat(65)}),
            "page.charts[2].fields.label",
        ),
        (
            "fields",
            json!({"values": ["a","b","c","d","e","f","g"]}),
            "page.charts[2].fields.values",
        ),
        ("fields", json!({"colour": "red"}), "page.charts[2].fields"),
    ] {
        let mut body = task(&charts, "wecom", "card");
        body["page"]["charts"][2][path] = value.clone();
        let reply = app.admin(Method::POST, TASKS, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}={value}: {:#}",
            reply.body
        );
        let got = reply.field().unwrap_or_default().to_owned();
        assert!(
            got.starts_with(field),
            "{path}={value}: field {got}, want {field}"
        );
    }
    let mut body = task(&charts, "wecom", "card");
    body["content"]["language"] = json!("fr");
    let reply = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(reply.field(), Some("content.language"));
}

#[tokio::test]
async fn chinese_pages_read_wan_and_yi_and_chinese_words() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve_page(&charts);
    let app = app(&fakes).await;
    let mut body = task(&charts, "wecom", "markdown");
    body["page"]["title"] = json!("销售日报");
    let task = create(&app, &body).await;
    test_push(&app, &task).await;
    let text = fakes
        .wecom
        .delivered()
        .into_iter()
        .find(|m| m.msgtype == "markdown")
        .map(|m| {
            m.body["markdown"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .expect("markdown");
    assert!(text.contains("123.46万"), "{text}");
    assert!(text.contains("华东: 52.3万"), "{text}");
    assert!(text.contains("查看报表"), "{text}");
    assert!(text.contains("[测试]"), "{text}");
}

/// The GMV KPI in yuan and a funnel table with a rate in percent (one written as "5.12%") and a
/// cost in ms, on `channel`.
fn formatted_task(charts: &ChartServer, channel: &str, template: &str) -> Value {
    charts.set(
        "kpis",
        ChartAnswer::Json(r#"{"data": {"rows": [{"gmv": 123456789, "gmv_prev": 110000000}]}}"#),
    );
    charts.set(
        "funnel",
        ChartAnswer::Json(
            r#"{"data": {"rows": [
                {"step": "下单", "rate": 0.0734, "cost": 119.6},
                {"step": "支付", "rate": "5.12%", "cost": "88"}
            ]}}"#,
        ),
    );
    let mut body = task(charts, channel, template);
    body["page"]["title"] = json!("销售日报");
    body["page"]["charts"] = json!([
        {"name": "GMV", "data_url": charts.url("kpis"), "rows": "/data/rows", "display": "kpi",
         "fields": {"values": ["gmv"], "compare": "gmv_prev",
                    "formats": {"gmv": {"style": "currency", "currency": "CNY"}}}},
        {"name": "转化", "data_url": charts.url("funnel"), "rows": "/data/rows", "display": "table",
         "fields": {"label": "step", "values": ["rate", "cost"],
                    "formats": {"rate": {"style": "percent", "decimals": 1}, "cost": {"decimals": 0, "unit": "ms"}}}}
    ]);
    body
}

#[tokio::test]
async fn field_formats_read_as_money_percent_and_units_on_every_channel_and_round_trip() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let expected = [
        "¥1.23亿",
        "▲ 12.2%",
        "¥1.1亿",
        "7.3%",
        "5.1%",
        "120 ms",
        "88 ms",
    ];
    for (channel, template) in [("wecom", "markdown"), ("feishu", "card"), ("email", "card")] {
        let body = formatted_task(&charts, channel, template);
        let task = create(&app, &body).await;
        test_push(&app, &task).await;
        let text = match channel {
            "wecom" => fakes
                .wecom
                .delivered()
                .into_iter()
                .rev()
                .find(|m| m.msgtype == "markdown")
                .map(|m| text_of(&m)),
            "feishu" => fakes
                .feishu
                .delivered()
                .last()
                .map(|m| serde_json::to_string(&m.content).unwrap_or_default()),
            _ => fakes.smtp.messages().last().map(|m| {
                mime_parts(&m.data)
                    .into_iter()
                    .map(|(_, body)| body)
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        }
        .unwrap_or_else(|| panic!("{channel}: nothing sent"));
        for shown in expected {
            assert!(text.contains(shown), "{channel}: {shown} in {text}");
        }
        assert!(!text.contains("0.0734"), "{channel}: {text}");

        // The page as read is sent back as it is (with the version read): the formats stay.
        let mut read = app
            .admin(Method::GET, &format!("{TASKS}/{task}"), &Value::Null)
            .await
            .body;
        let formats = read["page"]["charts"][1]["fields"]["formats"].clone();
        assert_eq!(
            formats,
            json!({"cost": {"style": "number", "decimals": 0, "unit": "ms"},
                   "rate": {"style": "percent", "decimals": 1}})
        );
        let mut again = body.clone();
        again["page"] = read["page"].take();
        again["version"] = read["version"].take();
        let replaced = app
            .admin(Method::PUT, &format!("{TASKS}/{task}"), &again)
            .await;
        assert_eq!(replaced.status, StatusCode::OK, "{:#}", replaced.body);
        assert_eq!(
            replaced.body["page"]["charts"][1]["fields"]["formats"],
            formats
        );
    }

    // A bad format is a 400 naming its field; nothing is written.
    let mut body = formatted_task(&charts, "wecom", "markdown");
    body["page"]["charts"][0]["fields"]["formats"] = json!({"gmv": {"style": "currency"}});
    let refused = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(
        refused.body["error"]["field"],
        "page.charts[0].fields.formats.gmv.currency"
    );
}

/// A pie, a funnel and stacked bars from a BI's rows, on `channel`.
fn kinds_task(charts: &ChartServer, channel: &str, template: &str) -> Value {
    charts.set(
        "channels",
        ChartAnswer::Json(
            r#"{"data": {"rows": [
                {"channel": "小程序", "orders": 300}, {"channel": "App", "orders": 500},
                {"channel": "H5", "orders": 150}, {"channel": "线下", "orders": 45},
                {"channel": "电话", "orders": 5}]}}"#,
        ),
    );
    charts.set(
        "steps",
        ChartAnswer::Json(
            r#"{"data": {"rows": [
                {"step": "访问", "users": 1000}, {"step": "加购", "users": 300},
                {"step": "下单", "users": 120}, {"step": "支付", "users": 90}]}}"#,
        ),
    );
    charts.set(
        "regions",
        ChartAnswer::Json(
            r#"{"data": {"rows": [{"region": "华东", "app": 10, "mini": 5}, {"region": "华北", "app": 7, "mini": 2}]}}"#,
        ),
    );
    let mut body = task(charts, channel, template);
    body["page"]["title"] = json!("渠道日报");
    body["page"]["charts"] = json!([
        {"name": "渠道占比", "data_url": charts.url("channels"), "rows": "/data/rows", "display": "pie"},
        {"name": "下单漏斗", "data_url": charts.url("steps"), "rows": "/data/rows", "display": "funnel"},
        {"name": "分区域订单", "data_url": charts.url("regions"), "rows": "/data/rows",
         "display": "stacked_bar", "fields": {"label": "region", "values": ["app", "mini"]}}
    ]);
    body
}

#[tokio::test]
async fn pies_funnels_and_stacked_bars_read_as_shares_rates_and_totals_on_every_channel() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    for (channel, template, expected) in [
        (
            "wecom",
            "markdown",
            &[
                "合计 1,000",
                "App: 500 (50.0%)",
                "其他: 5 (0.5%)",
                "转化率 9.0%（1,000 → 90）",
                "加购: 300（较上一步 30.0%，较第一步 30.0%）",
                "华东: app 10 · mini 5 · 合计 15",
            ][..],
        ),
        (
            "feishu",
            "card",
            &[
                "App: 500 (50.0%)",
                "支付: 90（较上一步 75.0%，较第一步 9.0%）",
                "合计 15",
            ][..],
        ),
        // The mail's text part has the same figures as aligned tables.
        (
            "email",
            "text",
            &["50.0%", "其他", "75.0%", "9.0%", "合计"][..],
        ),
    ] {
        let task = create(&app, &kinds_task(&charts, channel, template)).await;
        let run = test_push(&app, &task).await;
        assert_eq!(run["outcome"], "delivered", "{channel}: {run:#}");
        let text = match channel {
            "wecom" => fakes
                .wecom
                .delivered()
                .into_iter()
                .rev()
                .find(|m| m.msgtype == "markdown")
                .map(|m| text_of(&m)),
            "feishu" => fakes
                .feishu
                .delivered()
                .last()
                .map(|m| serde_json::to_string(&m.content).unwrap_or_default()),
            _ => fakes.smtp.messages().last().map(|m| {
                mime_parts(&m.data)
                    .into_iter()
                    .map(|(_, body)| body)
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        }
        .unwrap_or_else(|| panic!("{channel}: nothing sent"));
        for shown in expected {
            assert!(text.contains(shown), "{channel}: {shown} in {text}");
        }
    }
}

#[tokio::test]
async fn table_cells_take_their_thresholds_colour_in_mail_and_feishu_tables() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set(
        "stores",
        ChartAnswer::Json(
            r#"{"data": {"rows": [{"store": "静安", "rate": 0.031}, {"store": "朝阳", "rate": 0.12}, {"store": "南山", "rate": 0.07}]}}"#,
        ),
    );
    let thresholds = json!({"rate": [
        {"op": "<", "value": 0.05, "color": "red"},
        {"op": ">=", "value": 0.1, "color": "green"}
    ]});
    for (channel, template) in [("email", "card"), ("feishu", "card")] {
        let mut body = task(&charts, channel, template);
        body["page"]["charts"] = json!([
            {"name": "门店转化", "data_url": charts.url("stores"), "rows": "/data/rows", "display": "table",
             "fields": {"label": "store", "values": ["rate"],
                        "formats": {"rate": {"style": "percent", "decimals": 1}},
                        "thresholds": thresholds}}
        ]);
        let task = create(&app, &body).await;
        let read = app
            .admin(Method::GET, &format!("{TASKS}/{task}"), &Value::Null)
            .await
            .body;
        assert_eq!(
            read["page"]["charts"][0]["fields"]["thresholds"],
            thresholds
        );
        let run = test_push(&app, &task).await;
        assert_eq!(run["outcome"], "delivered", "{channel}: {run:#}");
        if channel == "email" {
            let mail = fakes.smtp.messages().last().map(|m| {
                mime_parts(&m.data)
                    .into_iter()
                    .map(|(_, body)| body)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            let mail = mail.expect("a mail");
            // A cell's opening tag and text: `<td style="…">3.1%`.
            let cell = |text: &str| {
                mail.split("<td")
                    .filter_map(|td| td.split("</td>").next())
                    .find(|td| td.ends_with(&format!(">{text}")))
                    .unwrap_or_default()
                    .to_owned()
            };
            assert!(cell("3.1%").contains("color: #d83931"), "{}", cell("3.1%"));
            assert!(
                cell("12.0%").contains("color: #2ea121"),
                "{}",
                cell("12.0%")
            );
            assert!(!cell("7.0%").contains("color:"), "{}", cell("7.0%"));
        } else {
            let card = fakes
                .feishu
                .delivered()
                .last()
                .expect("a card")
                .content
                .clone()
                .expect("card content");
            let table = card["elements"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["tag"] == "table")
                .unwrap_or_else(|| panic!("a table in {card:#}"))
                .clone();
            assert_eq!(table["columns"][1]["data_type"], "options", "{table:#}");
            assert_eq!(table["columns"][0]["data_type"], "text", "{table:#}");
            let cell = |row: usize| table["rows"][row]["c1"].clone();
            assert_eq!(cell(0), json!([{"text": "3.1%", "color": "red"}]));
            assert_eq!(cell(1), json!([{"text": "12.0%", "color": "green"}]));
            assert_eq!(cell(2), json!([{"text": "7.0%", "color": "neutral"}]));
        }
    }
    // A rule that does not read is a 400 naming it.
    let mut body = task(&charts, "email", "card");
    body["page"]["charts"][0]["fields"] =
        json!({"thresholds": {"rate": [{"op": "<", "value": 1, "color": "pink"}]}});
    let reply = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:#}", reply.body);
    assert_eq!(
        reply.field(),
        Some("page.charts[0].fields.thresholds.rate[0].color")
    );
}
