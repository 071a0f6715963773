//! The console in a real browser: Debian's Chromium, headless, driven over WebDriver by
//! ChromeDriver, against the `herald-local` binary (`make run`) with its sandbox providers. One
//! walk through what people do: sign in, create a task (correcting a field error), preview it,
//! test it, push it now through the confirmation, read the record and its logs, disable and enable
//! it, test a channel in the settings, mint a viewer's key, and, as that viewer, see no write
//! actions. On the way, the form shows only the chosen channel's recipients, and a chart's source
//! (a fake Metabase) offers what it holds as the chart's query. When a step fails, the screenshots of every page so far are kept under
//! `target/console-screenshots/`.
use fantoccini::{Client, ClientBuilder, Locator};
use herald_tests::local_server::{HeraldLocal, Process, free_port, wait_until_up};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const ADMIN_TOKEN: &str = "console-browser-admin-token-32-chars";
type Step<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// A BI tool's chart data, on loopback.
async fn serve_chart() -> SocketAddr {
    let rows = json!({"result": [{"data": [
        {"region": "East", "gmv": 1_284_500}, {"region": "North", "gmv": 962_300},
        {"region": "South", "gmv": 731_900}, {"region": "West", "gmv": 405_200}
    ]}]});
    let app = axum::Router::new().route(
        "/api/chart/gmv",
        axum::routing::get(move || {
            let rows = rows.clone();
            async move { axum::Json(rows) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

struct Browser {
    client: Client,
    base: String,
    shots: Vec<(String, Vec<u8>)>,
}

impl Browser {
    async fn open(&mut self, path: &str) -> Step {
        self.client.goto(&format!("{}{path}", self.base)).await?;
        self.shot(path).await
    }

    async fn shot(&mut self, name: &str) -> Step {
        let png = self.client.screenshot().await?;
        self.shots.push((name.to_owned(), png));
        Ok(())
    }

    async fn find(&self, css: &str) -> Step<fantoccini::elements::Element> {
        Ok(self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("no {css} on the page: {e}"))?)
    }

    async fn fill(&self, css: &str, text: &str) -> Step {
        let input = self.find(css).await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

    async fn click(&self, css: &str) -> Step {
        let element = self.find(css).await?;
        // Into the middle of the window, clear of the form's sticky buttons.
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&element)?],
            )
            .await?;
        element.click().await?;
        Ok(())
    }

    async fn text(&self, css: &str) -> Step<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// Waits until `css` says `needle` (the page before a click may still show its own).
    async fn wait_text(&self, css: &str, needle: &str) -> Step {
        let mut said = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                said = element.text().await.unwrap_or_default();
                if said.contains(needle) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{css} says '{said}', not '{needle}'").into())
    }

    async fn count(&self, css: &str) -> Step<usize> {
        Ok(self.client.find_all(Locator::Css(css)).await?.len())
    }

    /// Waits (a clicked link or form navigates when it is ready) until the page is at `path`.
    async fn wait_path(&self, path: &str) -> Step {
        let mut at = String::new();
        for _ in 0..100 {
            at = self.client.current_url().await?.path().to_owned();
            let loaded = self
                .client
                .execute("return document.readyState", vec![])
                .await?;
            if at == path && loaded.as_str() == Some("complete") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("the browser is at {at}, not {path}").into())
    }

    /// Clicks a button whose form asks first, and confirms in the dialog.
    async fn confirm(&mut self, button: &str, expect: &str) -> Step {
        self.click(button).await?;
        let text = self.text("dialog#confirm[open] #confirm-text").await?;
        ensure!(
            text.contains(expect),
            "the confirmation says '{text}', not '{expect}'"
        );
        self.shot(&format!("confirm {button}")).await?;
        self.click("#confirm-yes").await
    }

    /// Reloads the record page until its outcome is final.
    async fn record_outcome(&mut self) -> Step<String> {
        for _ in 0..50 {
            let outcome = self.text("#outcome").await?;
            if outcome != "Sending" {
                return Ok(outcome);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.client.refresh().await?;
        }
        Err("the record stayed sending".into())
    }
}

/// The task form's helpers, before any task is made: the chosen channel's recipient fields only,
/// and a source's charts offered as a chart's query, naming the chart when picked.
async fn form_helpers(b: &mut Browser) -> Step {
    b.open("/ui/projects/sales/tasks/new").await?;
    let hidden = |css: &str| {
        format!("return document.querySelector('{css}').closest('[data-channel]').hidden")
    };
    let is_hidden = async |css: &str| -> Step<bool> {
        Ok(b.client.execute(&hidden(css), vec![]).await?.as_bool() == Some(true))
    };
    ensure!(
        !is_hidden("#r-emails").await? && is_hidden("#r-wecom_users").await?,
        "an e-mail task shows e-mail recipients only"
    );
    b.fill("#r-emails", "ops@example.com").await?;
    b.find("#f-channel").await?.select_by_value("wecom").await?;
    ensure!(
        !is_hidden("#r-wecom_users").await? && !is_hidden("#r-contacts").await?,
        "a WeCom task shows WeCom recipients and contacts"
    );
    ensure!(
        !is_hidden("#r-emails").await? && is_hidden("#r-feishu_users").await?,
        "a field that holds something stays shown; an empty one of another channel does not"
    );
    b.fill("#c0-source", "metabase").await?;
    b.click("#c0-query").await?;
    for _ in 0..100 {
        if b.count("#c0-charts option").await? >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let offered = b
        .client
        .execute(
            "return [...document.querySelectorAll('#c0-charts option')].map(o => o.value + ' ' + o.textContent)",
            vec![],
        )
        .await?;
    ensure!(
        offered.to_string().contains("Refund rate (scalar)")
            && offered.to_string().contains(r#"{\"card\":43}"#),
        "the source's questions are offered as queries: {offered}"
    );
    b.fill("#c0-query", r#"{"card":43}"#).await?;
    b.click("#c0-rows").await?;
    let name = b.find("#c0-name").await?.prop("value").await?;
    ensure!(
        name.as_deref() == Some("Refund rate"),
        "picking a question names the chart: {name:?}"
    );
    b.shot("source picker").await
}

async fn walk_through(b: &mut Browser, chart: SocketAddr) -> Step {
    // Sign in.
    b.open("/ui").await?;
    b.wait_path("/ui/sign-in").await?;
    b.fill("#key", ADMIN_TOKEN).await?;
    b.click("form[action='/ui/sign-in'] button[type=submit]")
        .await?;
    b.fill("#project", "sales").await?;
    b.click("main button[type=submit]").await?;
    b.wait_path("/ui/projects/sales/tasks").await?;
    form_helpers(b).await?;
    b.open("/ui/projects/sales/tasks").await?;

    // Create a task through the form, correcting a field error.
    b.click("#new-task").await?;
    b.fill("#f-name", "Daily sales").await?;
    b.fill("#f-title", "Sales by region").await?;
    b.fill("#f-share", "https://bi.example.com/dashboard/7")
        .await?;
    b.fill("#c0-name", "GMV by region").await?;
    b.fill("#c0-url", &format!("http://{chart}/api/chart/gmv"))
        .await?;
    b.fill("#c0-rows", "/result/0/data").await?;
    b.find("#c0-display").await?.select_by_value("bar").await?;
    b.fill("#c0-label", "region").await?;
    b.fill("#c0-values", "gmv").await?;
    b.fill("#r-emails", "ops@example.com\nceo@example.com")
        .await?;
    b.fill("#o-email", "owner@example.com").await?;
    b.find("#s-every").await?.select_by_value("week").await?;
    b.click("input[name='schedule.days'][value=thu]").await?;
    b.fill("#s-at", "9:75").await?;
    // The editor says at once that the time is wrong, before anything is saved.
    b.wait_text("#upcoming [data-schedule-error]", "HH:MM")
        .await?;
    b.shot("new task").await?;
    b.click("#save").await?;
    let error = b.text("#err-schedule\\.at").await?;
    ensure!(
        error.contains("HH:MM"),
        "the error is at the time field: {error}"
    );
    let invalid = b.find("#s-at").await?.attr("aria-invalid").await?;
    ensure!(
        invalid.as_deref() == Some("true"),
        "the field is marked invalid"
    );
    b.shot("field error").await?;
    b.fill("#s-at", "09:30").await?;
    // …and then shows the next five runs, in the task's zone and the viewer's.
    b.wait_text("#upcoming ol li:nth-child(5)", "(Asia/Shanghai)")
        .await?;
    let first = b.text("#upcoming ol li:first-child").await?;
    ensure!(
        first.contains("09:30 (Asia/Shanghai)"),
        "the next run: {first}"
    );
    b.shot("next runs").await?;
    b.click("#save").await?;
    b.wait_text(".flash", "Task created").await?;
    let schedule = b.text("tr[data-task] td:nth-child(3)").await?;
    ensure!(
        schedule == "Mon, Thu at 09:30 (Asia/Shanghai)",
        "the schedule in words: {schedule}"
    );
    b.shot("task created").await?;

    // Preview it: the real message and the page snapshot, nothing sent.
    b.click("tr[data-task] a[href$='/edit']").await?;
    b.click("#preview").await?;
    b.find("#preview-result img.snapshot").await?;
    let loaded = b
        .client
        .execute(
            "return document.querySelector('#preview-result img.snapshot').naturalWidth",
            vec![],
        )
        .await?;
    ensure!(
        loaded.as_u64().unwrap_or(0) > 0,
        "the snapshot loaded: {loaded}"
    );
    ensure!(
        b.text("#preview-result").await?.contains("GMV by region"),
        "the chart is in the preview"
    );
    b.shot("preview").await?;

    // Test it and see the provider's answer.
    b.click("#test").await?;
    b.wait_text(".flash", "Test push sent").await?;
    ensure!(
        b.record_outcome().await? == "Delivered",
        "the test was delivered"
    );
    let answer = b.text("table.deliveries .answer").await?;
    ensure!(
        answer.starts_with("250"),
        "the SMTP server's answer is shown: {answer}"
    );
    b.shot("test record").await?;

    // Push now through the confirmation dialog.
    b.open("/ui/projects/sales/tasks").await?;
    b.confirm("button[data-action=push]", "to 2 recipients")
        .await?;
    b.wait_text(".flash", "Push started").await?;
    ensure!(
        b.record_outcome().await? == "Delivered",
        "the push was delivered"
    );
    ensure!(
        b.count("table.deliveries tr[data-delivery]").await? == 2,
        "two deliveries"
    );
    // The mail as sent, inside the page's policy: its text, and its picture from the console.
    let mail = b
        .client
        .execute(
            "const d = document.querySelector('iframe.mail').contentDocument; \
             const img = d.querySelector('img'); \
             return [d.body.innerText, img ? img.naturalWidth : 0];",
            vec![],
        )
        .await?;
    ensure!(
        mail[0]
            .as_str()
            .is_some_and(|t| t.contains("GMV by region"))
            && mail[1].as_u64().unwrap_or(0) > 0,
        "the mail shows with its picture: {mail}"
    );
    // The record and its logs.
    let logs = b.text("ol.timeline").await?;
    ensure!(
        logs.contains("manual run of 'Daily sales' started"),
        "the logs: {logs}"
    );
    // The whole record in one picture.
    b.client.set_window_size(1280, 2200).await?;
    b.shot("record").await?;
    b.client.set_window_size(1280, 900).await?;

    // Disable and enable.
    b.open("/ui/projects/sales/tasks").await?;
    b.confirm("button[data-action=disable]", "Disable “Daily sales”")
        .await?;
    b.wait_text(".flash", "Task disabled").await?;
    ensure!(
        b.text("tr[data-task] .badge.disabled").await? == "Disabled",
        "shown disabled"
    );
    b.click("button[data-action=enable]").await?;
    b.wait_text(".flash", "Task enabled").await?;
    b.shot("tasks").await?;

    // Configure and test a channel in the settings.
    b.open("/ui/settings#wecom").await?;
    b.click("#tab-wecom").await?;
    b.click("#save-wecom").await?;
    b.wait_text(".flash", "Settings saved").await?;
    b.click("#tab-wecom").await?;
    b.fill("#wecom-test-to", "zhangsan").await?;
    b.click("#test-wecom").await?;
    let result = b.text("#test-result").await?;
    ensure!(result.contains("Delivered"), "the channel test: {result}");
    ensure!(
        result.contains("ok"),
        "with the provider's answer: {result}"
    );
    b.shot("settings").await?;
    // The tabs answer the arrow keys.
    let right = fantoccini::key::Key::Right.to_string();
    b.find("#tab-wecom").await?.send_keys(&right).await?;
    let feishu = b.find("#tab-feishu").await?.attr("aria-selected").await?;
    ensure!(
        feishu.as_deref() == Some("true"),
        "→ selects the Feishu tab"
    );

    // The sandbox's inbox shows what it caught: the channel test, the test push and the push.
    b.click("a[href='/ui/settings/sandbox']").await?;
    b.wait_path("/ui/settings/sandbox").await?;
    let wecom = b.text("table.inbox[data-channel=wecom]").await?;
    ensure!(
        wecom.contains("zhangsan"),
        "the channel test in the inbox: {wecom}"
    );
    let mails = b.count("table.inbox[data-channel=email] tbody tr").await?;
    ensure!(
        mails == 3,
        "the test push and the two pushed mails: {mails}"
    );
    b.shot("sandbox inbox").await?;

    // At phone width the list still fits the screen.
    b.client.set_window_size(390, 844).await?;
    b.open("/ui/projects/sales/tasks").await?;
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            vec![],
        )
        .await?;
    ensure!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "no sideways scrolling at 390 px: {overflow}"
    );
    b.client.set_window_size(1280, 900).await?;

    // A key for a colleague who may only read: minted in the settings, shown once.
    b.open("/ui/settings/keys").await?;
    b.find("#k-role").await?.select_by_value("viewer").await?;
    b.fill("#k-project", "sales").await?;
    b.click("#create-key").await?;
    let viewer_key = b.text("#new-key-value").await?;
    ensure!(
        viewer_key.starts_with("hk_"),
        "the new key is shown: {viewer_key}"
    );
    b.shot("key created").await?;

    // That viewer sees no write actions.
    b.click("form[action='/ui/sign-out'] button").await?;
    b.wait_path("/ui/sign-in").await?;
    b.fill("#key", &viewer_key).await?;
    b.click("form[action='/ui/sign-in'] button[type=submit]")
        .await?;
    b.wait_path("/ui/projects/sales/tasks").await?;
    b.find("tr[data-task]").await?;
    ensure!(
        b.count("[data-action], #new-task, a[href$='/edit']")
            .await?
            == 0,
        "no write actions"
    );
    ensure!(b.count("a[href='/ui/settings']").await? == 0, "no settings");
    b.shot("viewer").await?;
    Ok(())
}

fn screenshots_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_click_through_the_console_in_chromium() {
    let chart = serve_chart().await;
    let herald = HeraldLocal::start(
        "127.0.0.1",
        ADMIN_TOKEN,
        &[("HERALD_CHART_ALLOW_HOSTS", "127.0.0.1")],
    )
    .await;
    let (base, data) = (herald.base.clone(), herald.data.clone());
    // A Metabase (the fake) that the sales project's tasks may read.
    let metabase = herald_fakes::FakeMetabase::new("mb_key_browser_5c2e8f1a", "herald", "pw");
    let (metabase_url, _metabase) = herald_fakes::serve(herald_fakes::metabase_router(metabase))
        .await
        .expect("metabase");
    let put = reqwest::Client::new()
        .put(format!("{base}/v1/sources/metabase"))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"kind": "metabase", "base_url": metabase_url, "projects": ["sales"],
                      "auth": {"type": "api_key", "key": "mb_key_browser_5c2e8f1a"},
                      "private_network": true}),
        )
        .send()
        .await
        .expect("herald-local answers");
    assert_eq!(
        put.status(),
        200,
        "{}",
        put.text().await.unwrap_or_default()
    );
    let driver_port = free_port();
    let _driver = Process(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (scripts/test-deps.sh installs chromium-driver)"),
    );
    wait_until_up(&format!("http://127.0.0.1:{driver_port}/status")).await;

    let profile = data.join("chromium-profile");
    let capabilities: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--lang=en-US", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    }))
    .expect("capabilities");
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session");
    let mut browser = Browser {
        client,
        base,
        shots: Vec::new(),
    };
    let walked = walk_through(&mut browser, chart).await;
    if let Err(err) = &walked {
        let _ = browser.shot("failed here").await;
        let dir = screenshots_dir();
        let _ = std::fs::create_dir_all(&dir);
        for (i, (name, png)) in browser.shots.iter().enumerate() {
            let file: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let _ = std::fs::write(dir.join(format!("{i:02}-{file}.png")), png);
        }
        eprintln!(
            "screenshots: {}; the page: {}",
            dir.display(),
            browser.client.source().await.unwrap_or_default()
        );
        let _ = browser.client.clone().close().await;
        panic!("{err}");
    }
    // Pictures for the README, when asked for.
    if let Ok(dir) = std::env::var("HERALD_CONSOLE_PICTURES") {
        for (name, png) in &browser.shots {
            if let Some(file) = match name.as_str() {
                "tasks" => Some("console-tasks.png"),
                "record" => Some("console-record.png"),
                _ => None,
            } {
                std::fs::write(std::path::Path::new(&dir).join(file), png).expect("picture");
            }
        }
    }
    browser.client.close().await.expect("close the session");
}
