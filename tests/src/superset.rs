//! A real Apache Superset (6.1.0 from PyPI, installed by `scripts/test-deps.sh` into
//! `.venv-superset` with its metadata database made once) on 127.0.0.1: each test copies the
//! metadata, adds a SQLite database of sales, a dataset and a saved chart through Superset's own
//! API, and reads it the way Herald does. Facts: ../shared/superset-notes.md.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The admin the metadata database was made with (`scripts/test-deps.sh`).
pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "herald-admin-pw";

/// The sales rows the chart shows: region and GMV (the SQL's result, in the chart's order).
pub const SALES: [(&str, f64); 4] = [
    ("华东", 72_958_500.0),
    ("华北", 51_230_000.0),
    ("华南", 38_450_250.5),
    ("西南", 12_000_000.0),
];

pub struct Superset {
    pub base: String,
    /// The saved chart (`SELECT region, gmv FROM sales ORDER BY gmv DESC`).
    pub chart_id: u64,
    /// A dashboard ("Sales daily", slug `sales-daily`) holding the chart.
    pub dashboard_id: u64,
    child: Child,
    home: PathBuf,
}

impl Drop for Superset {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-superset")
}

fn command(home: &Path, jwt_seconds: u64) -> impl Fn(&[&str]) -> Command + use<> {
    let home = home.to_owned();
    move |args: &[&str]| {
        let mut command = Command::new(venv().join("bin/superset"));
        command
            .args(args)
            .env("SUPERSET_HOME", &home)
            .env(
                "SUPERSET_CONFIG_PATH",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/superset_config.py"),
            )
            .env("FLASK_APP", "superset")
            .env("HERALD_SUPERSET_JWT_SECONDS", jwt_seconds.to_string())
            .stdin(Stdio::null());
        command
    }
}

impl Superset {
    /// Starts one whose access tokens last `jwt_seconds`.
    pub async fn start(jwt_seconds: u64) -> Self {
        let template = venv().join("home/superset.db");
        assert!(
            template.exists(),
            "Apache Superset is not installed: run scripts/test-deps.sh (make test does)"
        );
        let home = crate::scratch_dir().join(format!("superset-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&home).expect("superset home");
        std::fs::copy(&template, home.join("superset.db")).expect("metadata copy");
        // The data: a SQLite file of sales, made with Python's sqlite3 (in Superset's venv).
        let data = home.join("sales.db");
        let rows: Vec<String> = SALES
            .iter()
            .map(|(region, gmv)| format!("('{region}', {gmv})"))
            .collect();
        let script = format!(
            "import sqlite3; c = sqlite3.connect({:?}); c.execute('CREATE TABLE sales (region TEXT, gmv REAL)'); c.execute(\"INSERT INTO sales VALUES {}\"); c.commit()",
            data.display().to_string(),
            rows.join(", ")
        );
        let made = Command::new(venv().join("bin/python"))
            .args(["-c", &script])
            .status()
            .expect("python");
        assert!(made.success(), "the sales database");
        let superset = command(&home, jwt_seconds);
        let uri = format!("sqlite:///{}", data.display());
        let added = superset(&["set-database-uri", "-d", "sales", "-u", &uri])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("superset set-database-uri");
        assert!(added.success(), "superset set-database-uri");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("addr").port()
        };
        let log = std::fs::File::create(home.join("superset.log")).expect("log file");
        let child = superset(&[
            "run",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--with-threads",
        ])
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("superset run");
        let base = format!("http://127.0.0.1:{port}");
        let mut superset = Self {
            base,
            chart_id: 0,
            dashboard_id: 0,
            child,
            home,
        };
        superset.wait_healthy().await;
        (superset.chart_id, superset.dashboard_id) = superset.make_chart().await;
        superset
    }

    async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        for _ in 0..240 {
            if let Ok(answer) = client.get(format!("{}/health", self.base)).send().await
                && answer.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let log = std::fs::read_to_string(self.home.join("superset.log")).unwrap_or_default();
        panic!("Superset did not answer /health within 120 s:\n{log}");
    }

    /// An admin's access token, from Superset's login.
    pub async fn admin_token(&self) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/security/login", self.base))
            .json(&serde_json::json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD, "provider": "db", "refresh": true}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("tokens");
        answer["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The dataset, saved chart and a dashboard holding it, made through Superset's API as a user
    /// of it would.
    async fn make_chart(&self) -> (u64, u64) {
        let token = self.admin_token().await;
        let client = reqwest::Client::new();
        let get = |path: &str| {
            client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&token)
        };
        let databases: serde_json::Value =
            get("/api/v1/database/?q=(filters:!((col:database_name,opr:eq,value:sales)))")
                .send()
                .await
                .expect("databases")
                .json()
                .await
                .expect("databases json");
        let database = databases["result"][0]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("the sales database: {databases}"));
        let post = |path: &str, body: serde_json::Value| {
            client
                .post(format!("{}{path}", self.base))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };
        let dataset: serde_json::Value = post(
            "/api/v1/dataset/",
            serde_json::json!({"database": database, "table_name": "sales", "schema": null}),
        )
        .await
        .expect("dataset")
        .json()
        .await
        .expect("dataset json");
        let dataset = dataset["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("dataset: {dataset}"));
        let query_context = serde_json::json!({
            "datasource": {"id": dataset, "type": "table"},
            "force": false,
            "queries": [{
                "columns": ["region", "gmv"],
                "metrics": [],
                "orderby": [["gmv", false]],
                "row_limit": 100,
            }],
            "result_format": "json",
            "result_type": "full",
        });
        let params = serde_json::json!({
            "datasource": format!("{dataset}__table"),
            "viz_type": "table",
            "query_mode": "raw",
            "all_columns": ["region", "gmv"],
            "row_limit": 100,
        });
        let chart: serde_json::Value = post(
            "/api/v1/chart/",
            serde_json::json!({
                "slice_name": "GMV by region",
                "viz_type": "table",
                "datasource_id": dataset,
                "datasource_type": "table",
                "params": params.to_string(),
                "query_context": query_context.to_string(),
            }),
        )
        .await
        .expect("chart")
        .json()
        .await
        .expect("chart json");
        let chart = chart["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("chart: {chart}"));
        let dashboard: serde_json::Value = post(
            "/api/v1/dashboard/",
            serde_json::json!({"dashboard_title": "Sales daily", "slug": "sales-daily", "published": true}),
        )
        .await
        .expect("dashboard")
        .json()
        .await
        .expect("dashboard json");
        let dashboard = dashboard["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("dashboard: {dashboard}"));
        let linked = client
            .put(format!("{}/api/v1/chart/{chart}", self.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({"dashboards": [dashboard]}))
            .send()
            .await
            .expect("chart on the dashboard");
        assert!(
            linked.status().is_success(),
            "{}",
            linked.text().await.unwrap_or_default()
        );
        (chart, dashboard)
    }
}
