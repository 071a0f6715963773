//! Attachments: the charts' rows as read go out as an xlsx (or CSV) on e-mail, Feishu and WeCom,
//! open with the right rows and number formats (read back with calamine), and stay readable from
//! the record; the figures in the title are the run's.
use super::*;
use base64::Engine;
use calamine::{Data, Reader, Xlsx};

const GMV: &str = r#"{"data": {"rows": [{"gmv": 980000, "prev": 1000000}]}}"#;
const OPEN_ID: &str = "ou_lisi";

/// 30 regions with orders and a conversion rate.
fn regions() -> String {
    let rows: Vec<Value> = (0..30)
        .map(|i| json!({"region": format!("区域{i:02}"), "orders": 1000 + i, "rate": 0.0734}))
        .collect();
    json!({"data": {"rows": rows}}).to_string()
}

fn task_on(charts: &ChartServer, channel: &str, attachments: Value) -> Value {
    let mut body = task_body(charts, &["GMV", "Regions"], control(no_rule(), no_rule()));
    body["page"]["title"] = json!(r#"销售日报 GMV {{ charts["GMV"].value }}"#);
    body["page"]["charts"][0]["display"] = json!("kpi");
    body["page"]["charts"][0]["fields"] = json!({
        "values": ["gmv"], "compare": "prev",
        "formats": {"gmv": {"style": "currency", "currency": "CNY"}}
    });
    body["page"]["charts"][1]["display"] = json!("table");
    body["page"]["charts"][1]["fields"] = json!({
        "label": "region", "values": ["orders", "rate"],
        "formats": {"rate": {"style": "percent", "decimals": 1}}
    });
    body["content"]["attachments"] = attachments;
    body["channel"] = json!(channel);
    body["template"] = json!("card");
    (body["recipients"], body["owner"]) = match channel {
        "feishu" => (
            json!({"feishu_users": [OPEN_ID]}),
            json!({"feishu_user": OPEN_ID}),
        ),
        "email" => (
            json!({"emails": ["lisi@example.com"]}),
            json!({"email": "lisi@example.com"}),
        ),
        _ => (
            json!({"wecom_users": ["zhangsan"]}),
            json!({"wecom_user": "lisi"}),
        ),
    };
    body
}

/// The push runs' fakes, with a Feishu user to reach.
async fn fakes() -> FakeProviders {
    FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default().with_user(herald_fakes::FeishuUser::new(OPEN_ID)),
    )
    .await
}

fn serve(charts: &ChartServer) {
    charts.set("GMV", ChartAnswer::Json(GMV));
    charts.set(
        "Regions",
        ChartAnswer::Json(Box::leak(regions().into_boxed_str())),
    );
}

/// Opens an xlsx and checks it holds both charts: every region read (25 of 30 kept, with the
/// note), not only the 10 the table shows, in the fields' number formats.
fn assert_workbook(bytes: &[u8]) {
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx");
    assert_eq!(book.sheet_names(), vec!["GMV", "Regions"]);
    let gmv = book.worksheet_range("GMV").expect("GMV sheet");
    assert_eq!(gmv.get((1, 0)), Some(&Data::Float(980_000.0)));
    let regions = book.worksheet_range("Regions").expect("Regions sheet");
    assert_eq!(regions.get((0, 0)), Some(&Data::String("region".into())));
    assert_eq!(regions.get((25, 0)), Some(&Data::String("区域24".into())));
    assert_eq!(regions.get((25, 1)), Some(&Data::Float(1024.0)));
    assert_eq!(
        regions.get((27, 0)),
        Some(&Data::String("共 30 行，此处为前 25 行".into()))
    );
    let styles = book.worksheet_style("Regions").expect("styles");
    let rate = styles.get((1, 2)).and_then(|s| s.number_format.as_ref());
    assert_eq!(rate.map(|f| f.format_code.as_str()), Some("0.0%"));
    let styles = book.worksheet_style("GMV").expect("styles");
    let money = styles.get((1, 0)).and_then(|s| s.number_format.as_ref());
    assert_eq!(money.map(|f| f.format_code.as_str()), Some("\"¥\"#,##0.00"));
}

fn xlsx(max_rows: u32) -> Value {
    json!({"format": "xlsx", "charts": "all", "max_rows": max_rows})
}

/// The base64 body of the mail's part of `content_type`, decoded.
fn mail_part(raw: &str, content_type: &str) -> Option<(String, Vec<u8>)> {
    raw.split("\r\n--").find_map(|chunk| {
        let (head, body) = chunk.split_once("\r\n\r\n")?;
        head.contains(content_type).then_some(())?;
        let joined: String = body
            .trim_end_matches(['-', '\r', '\n'])
            .split_whitespace()
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .ok()?;
        Some((head.to_owned(), bytes))
    })
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[tokio::test]
async fn a_mail_carries_the_workbook_with_every_row_read_and_the_runs_figures_in_its_subject() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve(&charts);
    let app = app(&fakes).await;
    let task = create(&app, &task_on(&charts, "email", xlsx(25))).await;
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");

    let mails = fakes.smtp.messages();
    assert_eq!(mails.len(), 1);
    let subject = mails[0].subject.clone().unwrap_or_default();
    assert!(
        subject.starts_with("销售日报 GMV ¥98万 · 2026-12-03"),
        "{subject}"
    );
    let raw = &mails[0].data;
    assert!(raw.contains("multipart/mixed"), "{raw}");
    let (head, bytes) = mail_part(raw, XLSX).expect("the xlsx part");
    assert!(head.contains("Content-Disposition: attachment"), "{head}");
    assert!(head.contains(".xlsx"), "{head}");
    assert_workbook(&bytes);

    // The record lists the file and serves the same bytes while it lives.
    let files = rec["attachments"].as_array().expect("attachments").clone();
    assert_eq!(files.len(), 1, "{rec:#}");
    let name = files[0]["name"].as_str().expect("name");
    assert!(name.starts_with("销售日报 GMV ¥98万 2026-12-03"), "{name}");
    let url = files[0]["url"].as_str().expect("url");
    let (status, _, served) =
        herald_tests::http::get_bytes(&app.router, url, herald_tests::ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    assert_eq!(served, bytes);
    let logs = app
        .admin(
            Method::GET,
            &format!("{RECORDS}/{}/logs", rec["id"].as_str().expect("id")),
            &Value::Null,
        )
        .await;
    let log = logs.body["items"].to_string();
    assert!(log.contains("attached 销售日报"), "{log}");

    // The console's record page links the file, read with the session.
    let mut console = herald_tests::console::ConsoleClient::new(&app.router);
    console.sign_in(herald_tests::ADMIN_TOKEN).await;
    let run = rec["id"].as_str().expect("id");
    let page = console
        .get(&format!("/ui/projects/{PROJECT}/records/{run}"))
        .await;
    let marker = "<p class=\"attachments\">";
    let Some(at) = page.html.find(marker) else {
        panic!("the files are not listed: {} {}", page.status, page.html)
    };
    let listed = &page.html[at..];
    let href_at = listed.find("href=\"").expect("a link") + "href=\"".len();
    // As the browser reads the attribute (the template escapes `/`).
    let href =
        listed[href_at..href_at + listed[href_at..].find('"').expect("end")].replace("&#x2f;", "/");
    assert!(
        href.starts_with("/ui/projects/payments/files/records/"),
        "{href}"
    );
    let download = console.get(&href).await;
    assert_eq!(download.status, StatusCode::OK, "{href}");
    assert_eq!(download.headers["content-type"], XLSX);
    let disposition = download.headers["content-disposition"]
        .to_str()
        .unwrap_or_default();
    assert!(
        disposition.starts_with("attachment; filename*=UTF-8''"),
        "{disposition}"
    );
}

#[tokio::test]
async fn feishu_and_wecom_send_the_workbook_as_a_file_message_of_its_own() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve(&charts);
    let app = app(&fakes).await;

    let feishu = create(&app, &task_on(&charts, "feishu", xlsx(25))).await;
    let wecom = create(&app, &task_on(&charts, "wecom", xlsx(25))).await;
    let rec = fire(&app, &feishu, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    let file = fakes
        .feishu
        .uploads()
        .into_iter()
        .find(|u| u.key.starts_with("file_v2_"))
        .expect("a file uploaded with im/v1/files");
    assert!(
        file.file_name
            .as_deref()
            .is_some_and(|n| n.ends_with(".xlsx")),
        "{:?}",
        file.file_name
    );
    assert_workbook(&file.bytes);
    let messages = fakes.feishu.delivered();
    let sent = messages
        .iter()
        .find(|m| m.msgtype == "file")
        .expect("a file message");
    assert_eq!(sent.recipients, vec![OPEN_ID.to_owned()]);
    assert_eq!(
        sent.content.as_ref().expect("content")["file_key"],
        file.key
    );

    let rec = fire(&app, &wecom, "2026-12-07T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    let upload = fakes
        .wecom
        .uploads()
        .into_iter()
        .find(|u| u.file_name.as_deref().is_some_and(|n| n.ends_with(".xlsx")))
        .expect("a file uploaded with media/upload?type=file");
    assert_workbook(&upload.bytes);
    let sent = fakes
        .wecom
        .delivered()
        .into_iter()
        .find(|m| m.msgtype == "file")
        .expect("a file message");
    assert_eq!(sent.body["file"]["media_id"], upload.key);
    assert_eq!(sent.recipients, vec!["zhangsan".to_owned()]);
    // The figures went too, in their own message.
    assert!(
        app_messages(&fakes)
            .iter()
            .any(|m| m.msgtype == "textcard" && text_of(m).contains("¥98万"))
    );
}

#[tokio::test]
async fn csv_files_go_one_per_chart_and_a_preview_lists_them() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve(&charts);
    let app = app(&fakes).await;
    let body = task_on(
        &charts,
        "email",
        json!({"format": "csv", "charts": ["Regions"]}),
    );
    let task = create(&app, &body).await;
    let reply = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/preview"),
            &Value::Null,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let listed = reply.body["attachments"]
        .as_array()
        .expect("listed")
        .clone();
    assert_eq!(listed.len(), 1, "{:#}", reply.body);
    assert!(
        listed[0]["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Regions ")
    );
    let (status, kind, bytes) = herald_tests::http::get_bytes(
        &app.router,
        listed[0]["url"].as_str().expect("url"),
        herald_tests::ADMIN_TOKEN,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(
        text.starts_with("\u{feff}region,orders,rate\n区域00,1000,0.0734\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 31, "a header and all 30 rows");
    assert!(fakes.smtp.messages().is_empty(), "a preview sends nothing");
}

#[tokio::test]
async fn attachments_naming_no_chart_or_format_are_refused_naming_the_field() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    for (attachments, field) in [
        (
            json!({"format": "xlsx", "charts": ["Revenue"]}),
            "content.attachments.charts[0]",
        ),
        (
            json!({"format": "pdf", "charts": "all"}),
            "content.attachments.format",
        ),
        (
            json!({"format": "csv", "charts": "some"}),
            "content.attachments.charts",
        ),
        (
            json!({"format": "csv", "charts": "all", "max_rows": 20001}),
            "content.attachments.max_rows",
        ),
    ] {
        let reply = app
            .admin(Method::POST, TASKS, &task_on(&charts, "email", attachments))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(reply.body["error"]["field"], field, "{:#}", reply.body);
    }
}

#[tokio::test]
async fn a_file_whose_upload_fails_is_retried_alone_and_each_days_file_is_its_own_upload() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    serve(&charts);
    let app = app(&fakes).await;
    let mut body = task_on(
        &charts,
        "wecom",
        json!({"format": "csv", "charts": ["Regions"]}),
    );
    body["content"]["snapshot"] = json!(false);
    let task = create(&app, &body).await;
    fakes
        .wecom
        .inject(FaultRule::next(1, Fault::SystemBusy).on(Endpoint::WecomUpload));
    let first = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(
        first["outcome"], "sending",
        "the file waits for its retry: {first:#}"
    );
    app.clock.set(at("2026-12-03T02:10:00Z"));
    drain(&app).await;
    let first = record(&app, first["id"].as_str().expect("id")).await;
    assert_eq!(first["outcome"], "delivered", "{first:#}");
    let sent = fakes.wecom.delivered();
    let count = |msgtype: &str| sent.iter().filter(|m| m.msgtype == msgtype).count();
    assert_eq!(
        (count("textcard"), count("file")),
        (1, 1),
        "the figures went once, the file once after its retry"
    );

    // The same rows on Monday: a file of its own name, so an upload of its own (WeCom shows the
    // name sent with the upload).
    let second = fire(&app, &task, "2026-12-07T02:00:00Z").await;
    assert_eq!(second["outcome"], "delivered", "{second:#}");
    let files: Vec<_> = fakes
        .wecom
        .uploads()
        .into_iter()
        .filter_map(|u| u.file_name)
        .collect();
    assert_eq!(
        files,
        vec![
            "Regions 2026-12-03.csv".to_owned(),
            "Regions 2026-12-07.csv".to_owned()
        ]
    );

    // A test push of the same rows the same day names its file after the run, so WeCom's
    // 30-minute duplicate check never swallows it.
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert_eq!(reply.body["outcome"], "delivered", "{:#}", reply.body);
    let uploads = fakes.wecom.uploads();
    let tested = uploads.last().and_then(|u| u.file_name.clone());
    let tested = tested.unwrap_or_default();
    assert!(
        tested.starts_with("Regions 2026-12-07 ") && tested.ends_with(".csv") && tested.len() > 26,
        "{tested}"
    );
    let files_sent = fakes.wecom.delivered();
    assert_eq!(files_sent.iter().filter(|m| m.msgtype == "file").count(), 3);
}
