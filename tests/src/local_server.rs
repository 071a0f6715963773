//! The `herald-local` binary (`make run`) as a child process on a free loopback port, stopped
//! when dropped.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed when the test ends, however it ends.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `url` until it answers 2xx (10 s at most).
pub async fn wait_until_up(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// herald-local with its own data directory, listening on `host` and a free port.
pub struct HeraldLocal {
    /// `http://127.0.0.1:{port}` (loopback reaches it whatever `host` it listens on).
    pub base: String,
    pub data: std::path::PathBuf,
    _process: Process,
}

impl HeraldLocal {
    pub async fn start(host: &str, admin_token: &str, env: &[(&str, &str)]) -> Self {
        Self::start_with(host, admin_token, env, Stdio::null()).await
    }

    /// Like `start`, with its log (tracing writes to stdout) in `log`: for tests that read it.
    pub async fn start_logging_to(
        log: &std::path::Path,
        admin_token: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let file = std::fs::File::create(log).expect("the log file");
        Self::start_with("127.0.0.1", admin_token, env, Stdio::from(file)).await
    }

    async fn start_with(host: &str, admin_token: &str, env: &[(&str, &str)], log: Stdio) -> Self {
        let data =
            std::env::temp_dir().join(format!("herald-local-{}", uuid::Uuid::now_v7().simple()));
        let port = free_port();
        let mut command = Command::new(crate::lambda_runtime::workspace_binary("herald-local"));
        command
            .env("HERALD_ADDR", format!("{host}:{port}"))
            .env("HERALD_DATA_DIR", &data)
            .env("HERALD_ADMIN_TOKEN", admin_token)
            .env("RUST_LOG", "warn")
            .stdout(log);
        for (name, value) in env {
            command.env(name, value);
        }
        let process = Process(command.spawn().expect("herald-local (built by make test)"));
        let base = format!("http://127.0.0.1:{port}");
        wait_until_up(&format!("{base}/healthz")).await;
        Self {
            base,
            data,
            _process: process,
        }
    }
}

impl Drop for HeraldLocal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
