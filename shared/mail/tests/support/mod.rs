//! Starts tests/smtp/server.py (aiosmtpd from the workspace's .venv) and reads what it received.
use herald_core::domain::channels::{SmtpCredentials, SmtpSecurity, SmtpSettings};
use herald_core::domain::recipients::EmailAddress;
use secrecy::SecretString;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub const USER: &str = "herald@example.com";
pub const PASSWORD: &str = "auth-code-123";

/// A running SMTP test server with three listeners; killed (and its directory removed) on drop.
pub struct SmtpServer {
    child: Child,
    pub dir: PathBuf,
    pub plain: u16,
    pub starttls: u16,
    pub tls: u16,
    pub ca_pem: Vec<u8>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn unique_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "herald-smtp-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

impl SmtpServer {
    pub fn start() -> Self {
        let root = workspace_root();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `make test-deps` (bash scripts/test-deps.sh) in the workspace root to \
             install aiosmtpd into .venv; the SMTP tests need a real SMTP server",
            python.display()
        );
        let dir = unique_dir();
        let mut child = Command::new(&python)
            .arg(root.join("tests/smtp/server.py"))
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                panic!(
                    "tests/smtp/server.py did not report its ports (got {other:?}); see its stderr above"
                );
            }
        };
        let ready: Value = serde_json::from_str(&line).expect("the server's ready line is JSON");
        let port = |name: &str| {
            ready[name]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .expect("a port")
        };
        let ca = ready["ca"].as_str().expect("the CA path");
        Self {
            plain: port("plain"),
            starttls: port("starttls"),
            tls: port("tls"),
            ca_pem: std::fs::read(ca).expect("the test CA is readable"),
            child,
            dir,
        }
    }

    /// Credentials for one listener, with `password`.
    pub fn credentials(&self, security: SmtpSecurity, password: &str) -> SmtpCredentials {
        let port = match security {
            SmtpSecurity::None => self.plain,
            SmtpSecurity::Starttls => self.starttls,
            SmtpSecurity::Tls => self.tls,
        };
        credentials(security, port, password)
    }

    /// Every message the listener accepted, as the server parsed it (see server.py).
    pub fn received(&self, listener: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).expect("the server's directory") {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.starts_with(&format!("{listener}-")) && name.ends_with(".json") {
                let text = std::fs::read_to_string(&path).expect("a message record");
                out.push(serde_json::from_str(&text).expect("a JSON message record"));
            }
        }
        out
    }

    /// How many SMTP connections said EHLO on the listener.
    pub fn connections(&self, listener: &str) -> u32 {
        std::fs::read_to_string(self.dir.join(format!("{listener}.connections")))
            .map(|s| s.trim().parse().expect("a connection count"))
            .unwrap_or(0)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Credentials for 127.0.0.1:`port` ("localhost", which the test certificate names).
pub fn credentials(security: SmtpSecurity, port: u16, password: &str) -> SmtpCredentials {
    SmtpCredentials {
        settings: SmtpSettings {
            enabled: true,
            host: "localhost".to_owned(),
            port,
            security,
            username: USER.to_owned(),
            from: EmailAddress::parse(USER).expect("a valid address"),
        },
        password: SecretString::from(password.to_owned()),
    }
}
