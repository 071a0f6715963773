//! herald-local as a user runs it, for the benchmarks: the release binary started as a child
//! process on a data directory, its API called with the admin key, and a chart server.
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const ADMIN_TOKEN: &str = "herald-bench-ledger-admin-token-32ch";
pub(crate) const PROJECT: &str = "bench";

/// A chart server: one chart of three rows.
pub(crate) async fn chart_server() -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let app = axum::Router::new().route(
        "/chart",
        axum::routing::get(|| async {
            axum::Json(json!({"data": {"rows": [
                {"region": "East", "gmv": 1200}, {"region": "West", "gmv": 800}, {"region": "North", "gmv": 430}
            ]}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, handle))
}

/// herald-local as a child process on a data directory.
pub(crate) struct Local {
    child: tokio::process::Child,
    pub(crate) base: String,
}

fn binary() -> PathBuf {
    std::env::var("HERALD_BENCH_LOCAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target/release/herald-local"))
}

pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Local {
    pub(crate) async fn start(data: &Path, port: u16) -> Result<Self, String> {
        Self::start_with(data, port, &[]).await
    }

    /// Started with `env` added (e.g. provider base URLs pointing at fakes).
    pub(crate) async fn start_with(
        data: &Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let child = tokio::process::Command::new(binary())
            .envs(env.iter().copied())
            .env("HERALD_ADDR", format!("127.0.0.1:{port}"))
            .env("HERALD_DATA_DIR", data)
            .env("HERALD_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("HERALD_SANDBOX", "0")
            .env("HERALD_CHART_ALLOW_HOSTS", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary().display()))?;
        let local = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/healthz", local.base))
                .send()
                .await
                .is_ok()
            {
                return Ok(local);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("herald-local did not start listening".into())
    }

    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub(crate) async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
}

impl Api {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{path}: {status} {body}"));
        }
        Ok(body)
    }
}

pub(crate) fn data_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "herald-bench-ledger-{what}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ))
}

impl Api {
    /// The API of `local`.
    pub(crate) fn of(local: &Local) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: local.base.clone(),
        }
    }

    /// Creates a task in the bench project; its id.
    pub(crate) async fn create_task(&self, body: &Value) -> Result<String, String> {
        let task = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/projects/{PROJECT}/tasks"),
                Some(body),
            )
            .await?;
        task["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no task id in {task}"))
    }

    /// A manual push (confirmed); the run id.
    pub(crate) async fn push(&self, task: &str) -> Result<String, String> {
        let run = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/projects/{PROJECT}/tasks/{task}/push"),
                Some(&json!({"confirm": true})),
            )
            .await?;
        run["id"]
            .as_str()
            .or_else(|| run["summary"]["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no run id in {run}"))
    }

    pub(crate) async fn record(&self, run: &str) -> Result<Value, String> {
        self.call(
            reqwest::Method::GET,
            &format!("/v1/projects/{PROJECT}/records/{run}"),
            None,
        )
        .await
    }

    /// Waits until the run's record is final (not `sending`), then answers the record. It watches
    /// the list of runs still sending (one row each) rather than the record itself, whose details
    /// read a hundred deliveries: polled every 20 ms, those reads would cost the store more than
    /// the push being measured.
    pub(crate) async fn wait_final(&self, run: &str, timeout: Duration) -> Result<Value, String> {
        let start = std::time::Instant::now();
        loop {
            let sending = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/projects/{PROJECT}/records?outcome=sending&limit=100"),
                    None,
                )
                .await;
            let still_sending = sending.as_ref().map(|page| {
                page["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|r| r["id"] == run))
            });
            if still_sending == Ok(false) {
                let record = self.record(run).await?;
                let outcome = outcome_of(&record);
                if outcome != "sending" && !outcome.is_empty() {
                    return Ok(record);
                }
            }
            if start.elapsed() > timeout {
                return Err(format!("run {run} was not final after {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub(crate) fn outcome_of(record: &Value) -> String {
    record["outcome"]
        .as_str()
        .or_else(|| record["summary"]["outcome"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// herald-local with its WeCom and Feishu base URLs on `wecom` and `feishu` (served on loopback
/// here), a chart server beside them, and the API called with the admin key.
pub(crate) struct OnFakes {
    pub(crate) local: Local,
    pub(crate) api: Api,
    /// The chart server's one chart.
    pub(crate) chart: String,
    dir: PathBuf,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl OnFakes {
    pub(crate) async fn start(
        what: &str,
        wecom: &herald_fakes::FakeWecom,
        feishu: &herald_fakes::FakeFeishu,
    ) -> Result<Self, String> {
        let text = |e: std::io::Error| e.to_string();
        let (wecom_url, wecom_server) =
            herald_fakes::serve(herald_fakes::wecom_router(wecom.clone()))
                .await
                .map_err(text)?;
        let (feishu_url, feishu_server) =
            herald_fakes::serve(herald_fakes::feishu_router(feishu.clone()))
                .await
                .map_err(text)?;
        let (chart_base, chart_server) = chart_server().await.map_err(text)?;
        let dir = data_dir(what);
        std::fs::create_dir_all(&dir).map_err(text)?;
        let env = [
            ("HERALD_FEISHU_BASE_URL", feishu_url.as_str()),
            ("HERALD_WECOM_BASE_URL", wecom_url.as_str()),
        ];
        let local = Local::start_with(&dir, free_port().map_err(text)?, &env).await?;
        Ok(Self {
            api: Api::of(&local),
            local,
            chart: format!("{chart_base}/chart"),
            dir,
            servers: vec![wecom_server, feishu_server, chart_server],
        })
    }

    pub(crate) async fn stop(self) {
        self.local.kill().await;
        let _ = std::fs::remove_dir_all(&self.dir);
        for server in self.servers {
            server.abort();
        }
    }
}
