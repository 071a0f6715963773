//! Report sources: charts read where reports live, behind a login. A real Apache Superset (from
//! PyPI, on 127.0.0.1): Herald signs in once per process, reads a saved chart, pushes the SQL's
//! figures, keeps reading after the access token expires, and a wrong password is each chart's
//! access error in Superset's words after one login attempt. An `http` source with a bearer token
//! and CSV, parameters taken at the scheduled time, and the admin API's rules.
use axum::http::{Method, StatusCode};
use herald_fakes::{FeishuConfig, WecomConfig};
use herald_tests::providers::FakeProviders;
use herald_tests::push::PushApp;
use herald_tests::sample_task;
use herald_tests::superset::{ADMIN_PASSWORD, ADMIN_USER, SALES, Superset};
use serde_json::{Value, json};

const NOW: &str = "2026-12-07T01:00:00Z";
const TASKS: &str = "/v1/projects/payments/tasks";

async fn app() -> (FakeProviders, PushApp) {
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default(),
    )
    .await;
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(&fakes).await;
    (fakes, app)
}

fn superset_source(base: &str, password: &str) -> Value {
    json!({"kind": "superset", "base_url": base,
           "auth": {"type": "login", "username": ADMIN_USER, "password": password},
           "projects": ["payments"], "private_network": true})
}

/// A WeCom text task whose `n` charts all read `query` from `source`.
fn task_on(source: &str, query: Value, n: usize) -> Value {
    let mut body = sample_task("2026-12-08");
    body["template"] = json!("text");
    body["page"]["charts"] = (0..n)
        .map(|i| {
            json!({"name": format!("GMV by region {i}"), "source": source, "query": query,
                   "display": "bar", "fields": {"label": "region", "values": ["gmv"]}})
        })
        .collect();
    body
}

async fn test_push(app: &PushApp, body: &Value) -> Value {
    let created = app.admin(Method::POST, TASKS, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{id}/test"), &Value::Null)
        .await;
    assert!(reply.status.is_success(), "{:#}", reply.body);
    reply.body
}

fn statuses(run: &Value) -> Vec<String> {
    run["charts"]
        .as_array()
        .expect("charts")
        .iter()
        .map(|c| format!("{} {}", c["status"], c["reason"]))
        .collect()
}

#[tokio::test]
async fn superset_charts_are_read_with_one_login_per_process_and_push_the_sqls_figures() {
    let superset = Superset::start(6).await;
    let (fakes, app) = app().await;
    let put = app
        .admin(
            Method::PUT,
            "/v1/sources/superset-prod",
            &superset_source(&superset.base, ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["auth"]["password"], "set", "{:#}", put.body);
    assert!(!put.body.to_string().contains(ADMIN_PASSWORD));

    // The test button: the first rows, as Superset's SQL gives them.
    let tested = app
        .admin(
            Method::POST,
            "/v1/sources/superset-prod/test",
            &json!({"query": {"chart": superset.chart_id}}),
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{:#}", tested.body);
    assert_eq!(tested.body["ok"], true, "{:#}", tested.body);
    assert_eq!(tested.body["row_count"], SALES.len(), "{:#}", tested.body);
    assert_eq!(
        tested.body["rows"][0]["region"], SALES[0].0,
        "{:#}",
        tested.body
    );
    assert_eq!(
        tested.body["rows"][0]["gmv"], SALES[0].1,
        "{:#}",
        tested.body
    );

    // Browsing and importing: what Superset holds, and a dashboard as a draft page.
    let listed = app
        .admin(
            Method::GET,
            "/v1/sources/superset-prod/charts?search=gmv",
            &Value::Null,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.body);
    assert_eq!(
        listed.body["items"],
        json!([{"id": superset.chart_id, "name": "GMV by region", "kind": "table",
                 "query": {"chart": superset.chart_id}}])
    );
    let imported = app
        .admin(
            Method::POST,
            "/v1/sources/superset-prod/import",
            &json!({"dashboard": superset.dashboard_id.to_string()}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{:#}", imported.body);
    assert_eq!(
        imported.body["page"]["title"], "Sales daily",
        "{:#}",
        imported.body
    );
    assert_eq!(
        imported.body["page"]["charts"],
        json!([{"name": "GMV by region", "source": "superset-prod",
                "query": {"chart": superset.chart_id}, "display": "table"}])
    );

    // 12 charts from one Superset in one run: one login (the calls above already signed in).
    let run = test_push(
        &app,
        &task_on("superset-prod", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    assert_eq!(run["outcome"], "delivered", "{:#}", run);
    assert!(
        statuses(&run).iter().all(|s| s.starts_with("\"ok\"")),
        "{:?}",
        statuses(&run)
    );
    assert_eq!(app.charts.source_logins("superset-prod"), 1);
    assert_eq!(app.charts.source_refreshes("superset-prod"), 0);
    let text = fakes
        .wecom
        .delivered()
        .last()
        .and_then(|m| m.body["text"]["content"].as_str().map(str::to_owned))
        .expect("a text message");
    // The SQL's rows in its order (ORDER BY gmv DESC), formatted for the reader.
    let rows = "  华东: 72.96M\n  华北: 51.23M\n  华南: 38.45M\n  西南: 12M";
    assert!(text.contains(rows), "the SQL's figures: {text}");

    // The access token (6 s) expires: the next run reads on, refreshed, without a new login.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let run = test_push(
        &app,
        &task_on("superset-prod", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    assert!(
        statuses(&run).iter().all(|s| s.starts_with("\"ok\"")),
        "{:?}",
        statuses(&run)
    );
    assert_eq!(
        app.charts.source_logins("superset-prod"),
        1,
        "refreshed, not signed in again"
    );
    assert_eq!(
        app.charts.source_refreshes("superset-prod"),
        1,
        "once for the 12 charts"
    );

    // A wrong password: every chart is an access error in Superset's words, after one attempt.
    let bad = app
        .admin(
            Method::PUT,
            "/v1/sources/superset-bad",
            &superset_source(&superset.base, "not-the-password"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK, "{:#}", bad.body);
    let run = test_push(
        &app,
        &task_on("superset-bad", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    for status in statuses(&run) {
        assert!(
            status.starts_with("\"access_error\"") && status.contains("Superset login: 401"),
            "{status}"
        );
    }
    assert_eq!(app.charts.source_logins("superset-bad"), 1);
}

// ------------------------------------------------------------------------------- http sources

/// A team's own API on 127.0.0.1: stock by date behind a bearer token, as JSON or CSV; a path
/// that redirects to another host name; what each request carried.
struct ErpApi {
    base: String,
    seen: Seen,
}

/// What the API was asked: each request's path and query, and its `Authorization`.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>)>>>;

const ERP_TOKEN: &str = "erp-token-0b1c2d3e4f";

async fn erp_api() -> ErpApi {
    use axum::extract::{Request, State};
    use axum::response::IntoResponse;
    let seen: Seen = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    async fn answer(
        State((seen, port)): State<(Seen, u16)>,
        request: Request,
    ) -> axum::response::Response {
        let auth = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let uri = request.uri().to_string();
        seen.lock().expect("seen").push((uri.clone(), auth.clone()));
        if request.uri().path() == "/away" {
            return (
                StatusCode::FOUND,
                [("location", format!("http://localhost:{port}/landing"))],
            )
                .into_response();
        }
        if auth.as_deref() != Some(&format!("Bearer {ERP_TOKEN}")) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"message": "bad token"})),
            )
                .into_response();
        }
        let day = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("date=")))
            .unwrap_or("none")
            .to_owned();
        match request.uri().path() {
            "/api/hang" => {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                StatusCode::OK.into_response()
            }
            "/api/echo" => (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"message": format!("invalid key {}", auth.clone().unwrap_or_default())}),
                ),
            )
                .into_response(),
            // An API that answers with what it was sent, in its rows.
            "/api/echo-rows" => axum::Json(json!({"data": {"items": [
                {"sent": auth.clone().unwrap_or_default(), "qty": 1}
            ]}}))
            .into_response(),
            "/api/broken" => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"message": "the stock database is down"})),
            )
                .into_response(),
            "/api/stock" => axum::Json(json!({"data": {"items": [
                {"sku": "A-1", "qty": 120, "day": day}, {"sku": "B-2", "qty": 80, "day": day}
            ]}}))
            .into_response(),
            "/api/stock.csv" => {
                format!("sku,qty,day\nA-1,120,{day}\nB-2,80,{day}\n").into_response()
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let router = axum::Router::new()
        .fallback(answer)
        .with_state((seen.clone(), port));
    tokio::spawn(async move { axum::serve(listener, router).await });
    ErpApi {
        base: format!("http://127.0.0.1:{port}"),
        seen,
    }
}

fn erp_source(base: &str) -> Value {
    json!({"kind": "http", "base_url": base, "auth": {"type": "bearer", "token": ERP_TOKEN},
           "projects": ["payments"], "private_network": true})
}

/// A task reading two charts from the ERP API: one that hangs, one that answers.
fn hanging_and_answering_page() -> Value {
    let mut body = sample_task("2026-12-08");
    body["page"]["charts"] = json!([
        stock_chart("Hangs", json!({"path": "/api/hang"}), ""),
        stock_chart("Stock", json!({"path": "/api/stock"}), "/data/items"),
    ]);
    body
}

fn stock_chart(name: &str, query: Value, rows: &str) -> Value {
    json!({"name": name, "source": "erp-api", "query": query, "rows": rows, "display": "table"})
}

#[tokio::test]
async fn an_http_source_reads_json_and_csv_with_its_token_and_dates_in_the_tasks_zone() {
    let erp = erp_api().await;
    // 17:00 UTC on the 6th is 01:00 on the 7th in Shanghai: "today" is the task's zone's.
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default(),
    )
    .await;
    let app = PushApp::new("2026-12-06T17:00:00Z", fakes.config());
    app.configure_all(&fakes).await;
    let put = app
        .admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["auth"]["token"], "set");

    let mut body = sample_task("2026-12-07");
    body["page"]["charts"] = json!([
        stock_chart(
            "Stock",
            json!({"path": "/api/stock", "params": {"date": "{{ today }}"}}),
            "/data/items"
        ),
        stock_chart(
            "Stock CSV",
            json!({"path": "/api/stock.csv", "format": "csv",
                                         "params": {"date": "{{ yesterday | date(\"%Y%m%d\") }}"}}),
            ""
        ),
        stock_chart("Elsewhere", json!({"path": "/away"}), ""),
    ]);
    let run = test_push(&app, &body).await;
    let statuses = statuses(&run);
    assert!(statuses[0].starts_with("\"ok\""), "{statuses:?}");
    assert!(statuses[1].starts_with("\"ok\""), "{statuses:?}");
    assert!(
        statuses[2].starts_with("\"access_error\"") && statuses[2].contains("another host"),
        "a redirect off the source's host is refused: {statuses:?}"
    );
    let seen = erp.seen.lock().expect("seen").clone();
    assert!(
        seen.iter()
            .any(|(uri, _)| uri == "/api/stock?date=2026-12-07"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(uri, _)| uri == "/api/stock.csv?date=20261206"),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|(uri, _)| !uri.starts_with("/landing")),
        "the other host was never asked, so never given the token: {seen:?}"
    );
    assert!(!run.to_string().contains(ERP_TOKEN));

    // An API that echoes its request in its rows: its token is blanked out of the rows, in a
    // source test and in the message pushed.
    let tested = app
        .admin(
            Method::POST,
            "/v1/sources/erp-api/test",
            &json!({"query": {"path": "/api/echo-rows"}, "rows": "/data/items"}),
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{:#}", tested.body);
    assert_eq!(
        tested.body["rows"][0]["sent"], "Bearer •••",
        "{:#}",
        tested.body
    );
    let mut echo = sample_task("2026-12-07");
    echo["template"] = json!("text");
    echo["page"]["charts"] = json!([stock_chart(
        "Echo",
        json!({"path": "/api/echo-rows"}),
        "/data/items"
    )]);
    let echoed = test_push(&app, &echo).await;
    assert!(echoed["charts"][0]["status"] == "ok", "{echoed:#}");
    let sent = fakes.wecom.messages();
    assert!(
        sent.iter()
            .any(|m| m.body.to_string().contains("Bearer •••")),
        "{sent:?}"
    );
    assert!(
        sent.iter().all(|m| !m.body.to_string().contains(ERP_TOKEN)),
        "the token never reaches a reader"
    );
}

#[tokio::test]
async fn a_source_is_checked_on_save_hidden_from_other_projects_and_kept_while_tasks_use_it() {
    let erp = erp_api().await;
    let (_fakes, app) = app().await;
    let mut hr_only = erp_source(&erp.base);
    hr_only["projects"] = json!(["hr"]);
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/hr-api", &hr_only)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
            .await
            .status,
        StatusCode::OK
    );
    // A bad source body names its field; a secret is needed the first time.
    let mut no_token = erp_source(&erp.base);
    no_token["auth"] = json!({"type": "bearer"});
    let refused = app
        .admin(Method::PUT, "/v1/sources/new-api", &no_token)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("auth.token")),
        "{:#}",
        refused.body
    );
    // An address with credentials or a query is refused; the stored token is never re-aimed at
    // another server or another way of signing in without giving it again.
    let mut with_user = erp_source(&erp.base);
    with_user["base_url"] = json!(format!(
        "http://bob:pw@{}",
        erp.base.trim_start_matches("http://")
    ));
    let refused = app
        .admin(Method::PUT, "/v1/sources/new-api", &with_user)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("base_url")),
        "{:#}",
        refused.body
    );
    let mut elsewhere = erp_source("https://collector.evil.example");
    elsewhere["auth"] = json!({"type": "bearer"});
    let refused = app
        .admin(Method::PUT, "/v1/sources/erp-api", &elsewhere)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("auth.token")),
        "{:#}",
        refused.body
    );
    let mut as_header = erp_source(&erp.base);
    as_header["auth"] = json!({"type": "header", "name": "X-Token"});
    let refused = app
        .admin(Method::PUT, "/v1/sources/erp-api", &as_header)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("auth.value")),
        "{:#}",
        refused.body
    );
    let mut wrong_way = erp_source(&erp.base);
    wrong_way["auth"] = json!({"type": "api_key", "key": "k"});
    let refused = app
        .admin(Method::PUT, "/v1/sources/new-api", &wrong_way)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("auth.type")),
        "{:#}",
        refused.body
    );

    // An editor of payments: sees erp-api without its sign-in, not hr-api.
    let (_, editor) = herald_tests::http::new_key(&app.router, "editor", "payments").await;
    let listed = herald_tests::http::call(
        &app.router,
        Method::GET,
        "/v1/sources",
        Some(&editor),
        &Value::Null,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.body);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["erp-api"]);
    assert_eq!(listed.body["items"][0]["auth"], json!({"type": "bearer"}));
    assert_eq!(
        listed.body["items"][0]["projects"],
        json!([]),
        "no other project named"
    );
    let hidden = herald_tests::http::call(
        &app.router,
        Method::GET,
        "/v1/sources/hr-api",
        Some(&editor),
        &Value::Null,
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let put = herald_tests::http::call(
        &app.router,
        Method::PUT,
        "/v1/sources/x",
        Some(&editor),
        &erp_source(&erp.base),
    )
    .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN);

    // A task naming a source its project may not use, or a query that source does not read.
    let mut body = sample_task("2026-12-08");
    body["page"]["charts"] = json!([stock_chart("Stock", json!({"path": "/api/stock"}), "/data/items"),
                                    {"name": "HR", "source": "hr-api", "query": {"path": "/x"}}]);
    let refused =
        herald_tests::http::call(&app.router, Method::POST, TASKS, Some(&editor), &body).await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("page.charts[1].source")),
        "{:#}",
        refused.body
    );
    body["page"]["charts"][1] =
        json!({"name": "Chart", "source": "erp-api", "query": {"chart": 3}});
    let refused =
        herald_tests::http::call(&app.router, Method::POST, TASKS, Some(&editor), &body).await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("page.charts[1].query")),
        "{:#}",
        refused.body
    );
    body["page"]["charts"][1] = json!({"name": "Chart", "source": "erp-api", "query": {"path": "/api/stock", "params": {"d": "{{ tomorrow }}"}}});
    let refused =
        herald_tests::http::call(&app.router, Method::POST, TASKS, Some(&editor), &body).await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("page.charts[1].query")),
        "{:#}",
        refused.body
    );
    body["page"]["charts"] = json!([stock_chart(
        "Stock",
        json!({"path": "/api/stock"}),
        "/data/items"
    )]);
    let created =
        herald_tests::http::call(&app.router, Method::POST, TASKS, Some(&editor), &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let task = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["page"]["charts"][0]["source"], "erp-api");
    assert_eq!(
        created.body["page"]["charts"][0]["query"],
        json!({"path": "/api/stock"})
    );

    // Deleting the source while the task reads it: 409 naming the task; then it goes.
    let refused = app
        .admin(Method::DELETE, "/v1/sources/erp-api", &Value::Null)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:#}", refused.body);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("payments/{task}")),
        "{:#}",
        refused.body
    );
    let deleted = app
        .admin(Method::DELETE, &format!("{TASKS}/{task}"), &Value::Null)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:#}", deleted.body);
    let gone = app
        .admin(Method::DELETE, "/v1/sources/erp-api", &Value::Null)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{:#}", gone.body);
}

/// The chart-address guard applies to sources: a source on a private address is refused unless
/// it says `private_network`, which opens its own host and port only.
#[tokio::test]
async fn a_private_source_needs_private_network_which_opens_only_its_own_host() {
    let erp = erp_api().await;
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["lisi"]),
        FeishuConfig::default(),
    )
    .await;
    // No allowlist: 127.0.0.1 is a private address to this reader.
    let app = PushApp::build(
        NOW,
        fakes.config(),
        herald_charts::ChartLimits::default(),
        herald_charts::SsrfPolicy::default(),
    );
    app.configure_all(&fakes).await;
    let mut public = erp_source(&erp.base);
    public["private_network"] = json!(false);
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &public)
            .await
            .status,
        StatusCode::OK
    );
    let mut body = sample_task("2026-12-08");
    body["template"] = json!("text");
    body["page"]["charts"] = json!([stock_chart(
        "Stock",
        json!({"path": "/api/stock"}),
        "/data/items"
    )]);
    let run = test_push(&app, &body).await;
    assert!(
        statuses(&run)[0].contains("SSRF guard"),
        "{:?}",
        statuses(&run)
    );
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
            .await
            .status,
        StatusCode::OK
    );
    let run = test_push(&app, &body).await;
    assert!(
        statuses(&run)[0].starts_with("\"ok\""),
        "{:?}",
        statuses(&run)
    );
    // Its own host, not others: a public-JSON chart on 127.0.0.1 is still refused.
    body["page"]["charts"] =
        json!([{"name": "Public", "data_url": format!("{}/api/stock", erp.base)}]);
    let run = test_push(&app, &body).await;
    assert!(
        statuses(&run)[0].contains("SSRF guard"),
        "{:?}",
        statuses(&run)
    );
}

// ---------------------------------------------------- every kind of source, on every channel

const METABASE_KEY: &str = "mb_key_4f7a0c2e91d3b856";
const REDASH_KEY: &str = "rd_key_9a8b7c6d5e4f3a2b";

/// A page reading a Superset chart (login), a Metabase question (API key, a date parameter), a
/// Redash query (API key, a job finished after three polls) and an http API (bearer token).
fn every_kind_of_chart(superset_chart: u64) -> Value {
    json!([
        {"name": "GMV by region", "source": "superset-prod", "query": {"chart": superset_chart},
         "display": "bar", "fields": {"label": "region", "values": ["gmv"]}},
        {"name": "Orders", "source": "metabase", "query": {"card": herald_fakes::METABASE_CARD,
         "parameters": {"day": "{{ yesterday }}"}}, "display": "bar", "fields": {"label": "region", "values": ["orders"]}},
        {"name": "Refunds", "source": "redash", "query": {"query": herald_fakes::REDASH_QUERY,
         "parameters": {"day": "{{ yesterday }}"}, "max_age": 0}, "display": "bar", "fields": {"label": "channel", "values": ["refunds"]}},
        {"name": "Stock", "source": "erp-api", "query": {"path": "/api/stock", "params": {"date": "{{ today }}"}},
         "rows": "/data/items", "display": "bar", "fields": {"label": "sku", "values": ["qty"]}}
    ])
}

#[tokio::test]
async fn a_page_from_superset_metabase_redash_and_an_api_pushes_on_every_channel() {
    let superset = Superset::start(900).await;
    let metabase = herald_fakes::FakeMetabase::new(METABASE_KEY, "herald-bot", "mb-pw");
    let (metabase_url, _m) = herald_fakes::serve(herald_fakes::metabase_router(metabase.clone()))
        .await
        .expect("metabase");
    let redash = herald_fakes::FakeRedash::new(REDASH_KEY, 3);
    let (redash_url, _r) = herald_fakes::serve(herald_fakes::redash_router(redash.clone()))
        .await
        .expect("redash");
    let erp = erp_api().await;
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default().with_user(herald_fakes::FeishuUser::new("ou_lisi")),
    )
    .await;
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(&fakes).await;
    for (name, body) in [
        (
            "superset-prod",
            superset_source(&superset.base, ADMIN_PASSWORD),
        ),
        (
            "metabase",
            json!({"kind": "metabase", "base_url": metabase_url, "auth": {"type": "api_key", "key": METABASE_KEY},
                            "projects": ["*"], "private_network": true}),
        ),
        (
            "redash",
            json!({"kind": "redash", "base_url": redash_url, "auth": {"type": "api_key", "key": REDASH_KEY},
                          "projects": ["payments"], "private_network": true}),
        ),
        ("erp-api", erp_source(&erp.base)),
    ] {
        let put = app
            .admin(Method::PUT, &format!("/v1/sources/{name}"), &body)
            .await;
        assert_eq!(put.status, StatusCode::OK, "{name}: {:#}", put.body);
    }
    for (channel, recipients, owner) in [
        (
            "wecom",
            json!({"wecom_users": ["zhangsan"]}),
            json!({"wecom_user": "lisi"}),
        ),
        (
            "feishu",
            json!({"feishu_users": ["ou_lisi"]}),
            json!({"feishu_user": "ou_lisi"}),
        ),
        (
            "email",
            json!({"emails": ["lisi@example.com"]}),
            json!({"email": "lisi@example.com"}),
        ),
    ] {
        let mut body = sample_task("2026-12-08");
        body["channel"] = json!(channel);
        body["template"] = json!("text");
        body["recipients"] = recipients;
        body["owner"] = owner;
        body["page"]["charts"] = every_kind_of_chart(superset.chart_id);
        let run = test_push(&app, &body).await;
        assert_eq!(run["outcome"], "delivered", "{channel}: {:#}", run);
        assert!(
            statuses(&run).iter().all(|s| s.starts_with("\"ok\"")),
            "{channel}: {:?}",
            statuses(&run)
        );
        // Every source's first row, on one line (mail shows aligned tables with full numbers).
        let text = run["message"].to_string().replace("\\n", "\n");
        let figures = if channel == "email" {
            [
                ("华东", "72,958,500"),
                ("华东", "1,200"),
                ("app", "37"),
                ("A-1", "120"),
            ]
        } else {
            [
                ("华东", ": 72.96M"),
                ("华东", ": 1,200"),
                ("app", ": 37"),
                ("A-1", ": 120"),
            ]
        };
        for (label, value) in figures {
            assert!(
                text.lines().any(|l| l.contains(label) && l.contains(value)),
                "{channel} lacks {label} {value}: {text}"
            );
        }
    }
    // Browsing and importing Metabase and Redash.
    let listed = app
        .admin(
            Method::GET,
            "/v1/sources/metabase/charts?search=refund",
            &Value::Null,
        )
        .await;
    assert_eq!(
        listed.body["items"],
        json!([{"id": 43, "name": "Refund rate", "kind": "scalar", "query": {"card": 43}}]),
        "{:#}",
        listed.body
    );
    let imported = app
        .admin(
            Method::POST,
            "/v1/sources/metabase/import",
            &json!({"dashboard": "3"}),
        )
        .await;
    assert_eq!(
        imported.body["page"]["title"], "Daily operations",
        "{:#}",
        imported.body
    );
    assert_eq!(
        imported.body["page"]["charts"],
        json!([{"name": "Orders by region", "source": "metabase", "query": {"card": 42}, "display": "bar"},
               {"name": "Refund rate", "source": "metabase", "query": {"card": 43}, "display": "kpi"}])
    );
    let listed = app
        .admin(Method::GET, "/v1/sources/redash/charts", &Value::Null)
        .await;
    assert_eq!(
        listed.body["items"],
        json!([{"id": 7, "name": "Refunds by channel", "kind": "query", "query": {"query": 7, "max_age": 0}}]),
        "{:#}",
        listed.body
    );
    let imported = app
        .admin(
            Method::POST,
            "/v1/sources/redash/import",
            &json!({"dashboard": "5"}),
        )
        .await;
    assert_eq!(
        imported.body["page"],
        json!({"title": "Refunds", "share_url": format!("{redash_url}/dashboards/refunds"),
               "charts": [{"name": "Refunds by channel", "source": "redash",
                           "query": {"query": 7, "max_age": 0}, "display": "table"}]}),
    );
    let refused = app
        .admin(Method::GET, "/v1/sources/erp-api/charts", &Value::Null)
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("source")),
        "{:#}",
        refused.body
    );

    // The date parameter as Herald took it (the run at 09:00 on the 7th in Shanghai), sent with
    // the type the card declares; three polls per Redash job; one Superset login in all.
    assert_eq!(metabase.days(), ["2026-12-06", "2026-12-06", "2026-12-06"]);
    assert_eq!(redash.polls(), 9);
    assert_eq!(app.charts.source_logins("superset-prod"), 1);
}

/// A source's failures are that chart's access errors in the source's own words, and exception
/// control acts on them as on any chart: a 500, a refused key, a failed Redash job, an expired
/// Metabase session (signed in again, once).
#[tokio::test]
async fn a_sources_failures_are_its_charts_access_errors_in_its_own_words() {
    let erp = erp_api().await;
    let metabase = herald_fakes::FakeMetabase::new(METABASE_KEY, "herald-bot", "mb-pw");
    let (metabase_url, _m) = herald_fakes::serve(herald_fakes::metabase_router(metabase.clone()))
        .await
        .expect("metabase");
    let redash = herald_fakes::FakeRedash::new(REDASH_KEY, 2);
    let (redash_url, _r) = herald_fakes::serve(herald_fakes::redash_router(redash.clone()))
        .await
        .expect("redash");
    let (_fakes, app) = app().await;
    for (name, body) in [
        ("erp-api", erp_source(&erp.base)),
        (
            "metabase",
            json!({"kind": "metabase", "base_url": metabase_url,
                            "auth": {"type": "login", "username": "herald-bot", "password": "mb-pw"},
                            "projects": ["*"], "private_network": true}),
        ),
        (
            "redash-bad-key",
            json!({"kind": "redash", "base_url": redash_url, "auth": {"type": "api_key", "key": "wrong"},
                          "projects": ["*"], "private_network": true}),
        ),
        (
            "redash",
            json!({"kind": "redash", "base_url": redash_url, "auth": {"type": "api_key", "key": REDASH_KEY},
                          "projects": ["*"], "private_network": true}),
        ),
    ] {
        let put = app
            .admin(Method::PUT, &format!("/v1/sources/{name}"), &body)
            .await;
        assert_eq!(put.status, StatusCode::OK, "{name}: {:#}", put.body);
    }
    let mut body = sample_task("2026-12-08");
    body["template"] = json!("text");
    body["page"]["charts"] = json!([
        stock_chart("Broken", json!({"path": "/api/broken"}), ""),
        stock_chart("Echo", json!({"path": "/api/echo"}), ""),
        {"name": "Refunds (bad key)", "source": "redash-bad-key", "query": {"query": herald_fakes::REDASH_QUERY, "parameters": {"day": "{{ today }}"}}},
        {"name": "Refunds (no day)", "source": "redash", "query": {"query": herald_fakes::REDASH_QUERY}},
        {"name": "Orders", "source": "metabase", "query": {"card": herald_fakes::METABASE_CARD, "parameters": {"day": "{{ today }}"}}}
    ]);
    let run = test_push(&app, &body).await;
    let first = statuses(&run);
    assert!(
        first[0].contains("HTTP 500 the stock database is down"),
        "{first:?}"
    );
    // A source echoing what it was sent: its words, without the token.
    assert!(
        first[1].contains("HTTP 400 invalid key Bearer •••") && !first[1].contains(ERP_TOKEN),
        "{first:?}"
    );
    assert!(
        first[2].contains("Redash: 404 Couldn't find resource. Please login and try again."),
        "{first:?}"
    );
    assert!(
        first[3].contains("Redash: 400 Missing parameter value for: day"),
        "{first:?}"
    );
    assert!(first[4].starts_with("\"ok\""), "{first:?}");
    assert_eq!(metabase.logins(), 1);
    // The record's log says per chart which source and query were read, and what it said.
    let logs = app
        .admin(
            Method::GET,
            &format!(
                "/v1/projects/payments/records/{}/logs",
                run["id"].as_str().expect("run id")
            ),
            &Value::Null,
        )
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{:#}", logs.body);
    let text = logs.body.to_string();
    assert!(
        text.contains("chart 'Broken' from source erp-api (GET /api/broken): could not be read: HTTP 500 the stock database is down"),
        "{text}"
    );
    assert!(
        text.contains("from source metabase (card 42): 3 rows"),
        "{text}"
    );
    for secret in [ERP_TOKEN, REDASH_KEY, "mb-pw"] {
        assert!(!text.contains(secret) && !run.to_string().contains(secret));
    }
    // Metabase forgets the session: the next read is refused once, signs in again, and reads.
    metabase.expire_sessions();
    let run = test_push(&app, &body).await;
    let after = statuses(&run);
    assert!(after[4].starts_with("\"ok\""), "{after:?}");
    assert_eq!(metabase.logins(), 2);
    // Exception control: the task's access_error rule ("fully": every chart) did not pause a page
    // with one chart read; the record says which ones could not be read.
    assert_eq!(run["outcome"], "delivered", "{run:#}");
}

/// A scheduled run takes its date parameters at its scheduled time in the task's zone, not when
/// it happens to run: fired ten minutes late, across midnight in Shanghai, it still reads the
/// scheduled day — and so does a replay of the same time.
#[tokio::test]
async fn a_scheduled_run_reads_the_period_of_its_scheduled_time() {
    use herald_core::domain::ids::{ProjectId, TaskId};
    let erp = erp_api().await;
    let (_fakes, app) = app().await;
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
            .await
            .status,
        StatusCode::OK
    );
    let mut body = sample_task("2026-12-07");
    body["schedule"] = json!({"every": "day", "at": "23:55", "timezone": "Asia/Shanghai"});
    body["page"]["charts"] = json!([stock_chart(
        "Stock",
        json!({"path": "/api/stock", "params": {"date": "{{ today }}"}}),
        "/data/items"
    )]);
    let created = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let task = TaskId::parse(created.body["id"].as_str().expect("id")).expect("task id");
    let project = ProjectId::parse("payments".to_owned()).expect("project");
    // 23:55 on the 7th in Shanghai; the trigger runs at 00:05 on the 8th.
    let scheduled = chrono::DateTime::parse_from_rfc3339("2026-12-07T15:55:00Z")
        .expect("time")
        .to_utc();
    app.clock.set(scheduled + chrono::Duration::minutes(10));
    app.pushes
        .run_scheduled(&project, &task, scheduled)
        .await
        .expect("the scheduled run");
    let asked: Vec<String> = erp
        .seen
        .lock()
        .expect("seen")
        .iter()
        .map(|(uri, _)| uri.clone())
        .collect();
    assert_eq!(
        asked,
        ["/api/stock?date=2026-12-07"],
        "the scheduled day, not the 8th"
    );
}

/// A source that does not answer is that chart's access error after the chart's own timeout; the
/// page's other charts are read.
#[tokio::test]
async fn a_source_that_hangs_is_its_charts_access_error_and_the_others_are_read() {
    let erp = erp_api().await;
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["lisi"]),
        FeishuConfig::default(),
    )
    .await;
    let limits = herald_charts::ChartLimits {
        per_chart_timeout: std::time::Duration::from_secs(1),
        ..herald_charts::ChartLimits::default()
    };
    let app = PushApp::build(
        NOW,
        fakes.config(),
        limits,
        herald_charts::SsrfPolicy::allowing(["127.0.0.1"]),
    );
    app.configure_all(&fakes).await;
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
            .await
            .status,
        StatusCode::OK
    );
    let body = hanging_and_answering_page();
    let started = std::time::Instant::now();
    let run = test_push(&app, &body).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let states = statuses(&run);
    assert!(
        states[0].starts_with("\"access_error\"") && states[0].contains("timed out after 1 s"),
        "{states:?}"
    );
    assert!(states[1].starts_with("\"ok\""), "{states:?}");
}

/// A test push answers within its time: a chart still being read then is the one access error,
/// and the charts read before it keep their figures.
#[tokio::test]
async fn a_test_push_that_must_answer_keeps_the_charts_read_in_time() {
    let erp = erp_api().await;
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["lisi"]),
        FeishuConfig::default(),
    )
    .await;
    // 2 s to answer: 1.4 s of it for the charts; each chart's own timeout is the default 10 s.
    let app = PushApp::answering_within(NOW, fakes.config(), std::time::Duration::from_secs(2));
    app.configure_all(&fakes).await;
    assert_eq!(
        app.admin(Method::PUT, "/v1/sources/erp-api", &erp_source(&erp.base))
            .await
            .status,
        StatusCode::OK
    );
    let body = hanging_and_answering_page();
    let run = test_push(&app, &body).await;
    let states = statuses(&run);
    assert!(
        states[0].starts_with("\"access_error\"")
            && states[0]
                .contains("not read within 1.4 s, the time a test push or a preview has to answer"),
        "{states:?}"
    );
    assert!(
        states[1].starts_with("\"ok\""),
        "the chart read in time keeps its rows: {states:?}"
    );
    // A manual push answers within the same time (API Gateway gives 29 s; a timed-out caller
    // would retry into a second push).
    let created = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let pushed = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{id}/push"),
            &json!({"confirm": true}),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::ACCEPTED, "{:#}", pushed.body);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    let pushed = statuses(&pushed.body);
    assert!(
        pushed[0].contains("not read within 1.4 s") && pushed[1].starts_with("\"ok\""),
        "{pushed:?}"
    );
}

/// A source deleted while a task that names it is written, over and over at once: never both (a
/// task left reading a source that is gone); and a task changed by two writes at once stays
/// listed as a user of the source it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_deleted_while_a_task_names_it_is_never_both() {
    let (_fakes, app) = app().await;
    let app = std::sync::Arc::new(app);
    let source = json!({"kind": "http", "base_url": "https://erp.example.com/api",
                        "auth": {"type": "none"}, "projects": ["payments"]});
    let mut both = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<(u16, u16), usize>::new();
    for round in 0..40 {
        let put = app.admin(Method::PUT, "/v1/sources/racy", &source).await;
        assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
        let mut body = sample_task("2026-12-08");
        body["name"] = json!(format!("Racy {round}"));
        body["page"]["charts"] = json!([{"name": "Stock", "source": "racy",
                                          "query": {"path": "/stock"}, "display": "table"}]);
        let (creator, deleter) = (app.clone(), app.clone());
        let create = tokio::spawn(async move { creator.admin(Method::POST, TASKS, &body).await });
        let delete = tokio::spawn(async move {
            deleter
                .admin(Method::DELETE, "/v1/sources/racy", &Value::Null)
                .await
        });
        let (created, deleted) = (create.await.expect("create"), delete.await.expect("delete"));
        *outcomes
            .entry((created.status.as_u16(), deleted.status.as_u16()))
            .or_default() += 1;
        if created.status == StatusCode::CREATED {
            let exists = app
                .admin(Method::GET, "/v1/sources/racy", &Value::Null)
                .await;
            if exists.status == StatusCode::NOT_FOUND {
                both.push(round);
            }
            // Clean up: the task goes, then the source.
            let id = created.body["id"].as_str().expect("id");
            let gone = app
                .admin(Method::DELETE, &format!("{TASKS}/{id}"), &Value::Null)
                .await;
            assert!(gone.status.is_success(), "{:#}", gone.body);
        }
    }
    assert!(
        both.is_empty(),
        "rounds {both:?} left a task on a deleted source ({outcomes:?})"
    );
    println!("create/delete outcomes: {outcomes:?}");

    // Two writes of one task at once, one dropping the source and one keeping it: whichever is
    // stored, the source's deletion sees the task that still names it.
    let put = app.admin(Method::PUT, "/v1/sources/racy", &source).await;
    assert_eq!(put.status, StatusCode::OK);
    let mut body = sample_task("2026-12-08");
    body["page"]["charts"] = json!([{"name": "Stock", "source": "racy",
                                      "query": {"path": "/stock"}, "display": "table"}]);
    let created = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    for _ in 0..20 {
        let current = app
            .admin(Method::GET, &format!("{TASKS}/{id}"), &Value::Null)
            .await;
        let mut without = current.body.clone();
        without["page"]["charts"] =
            json!([{"name": "Public", "data_url": "https://bi.example.com/c/1"}]);
        let with = current.body.clone();
        let path = format!("{TASKS}/{id}");
        let (a, b) = (app.clone(), app.clone());
        let (p1, p2) = (path.clone(), path.clone());
        let first = tokio::spawn(async move { a.admin(Method::PUT, &p1, &without).await });
        let second = tokio::spawn(async move { b.admin(Method::PUT, &p2, &with).await });
        let _ = (first.await.expect("put"), second.await.expect("put"));
        let stored = app.admin(Method::GET, &path, &Value::Null).await;
        let names_it = stored.body["page"]["charts"][0]["source"] == "racy";
        let deleted = app
            .admin(Method::DELETE, "/v1/sources/racy", &Value::Null)
            .await;
        if names_it {
            assert_eq!(deleted.status, StatusCode::CONFLICT, "{:#}", deleted.body);
        } else {
            assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:#}", deleted.body);
            return;
        }
    }
}
