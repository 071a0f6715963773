//! A Lambda function as AWS runs it, on loopback: the function's real binary, started with an
//! environment (template.yaml's, see [`crate::template`]), polling a Runtime API served here
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`, `…/init/error`),
//! one invocation at a time with its deadline, as the Lambda service does.
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Notify, oneshot};

/// What an invocation ended with: the function's response, or the error document it posted.
pub type Outcome = Result<Value, Value>;

struct Invocation {
    id: String,
    event: Value,
    answer: oneshot::Sender<Outcome>,
}

struct Runtime {
    /// The function's timeout: an invocation's deadline is this long after the function takes it.
    timeout: Duration,
    queue: Mutex<VecDeque<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    arrived: Notify,
    init_error: Mutex<Option<Value>>,
    /// When the function first asked for work: its init (configuration, SDK clients) was done.
    first_poll: Mutex<Option<Instant>>,
}

/// One function: its process, the Runtime API it polls, and the lines it logged.
pub struct LambdaFunction {
    pub name: String,
    runtime: Arc<Runtime>,
    timeout: Duration,
    logs: Arc<Mutex<Vec<String>>>,
    child: Mutex<tokio::process::Child>,
    started: Instant,
}

/// The debug build of a workspace binary (`cargo test --workspace --all-targets` builds them all
/// before any test runs); with `HERALD_TEST_LAMBDA_DIR` set (e.g. `target/lambda` after
/// `make build`), the function's release `bootstrap` there.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("HERALD_TEST_LAMBDA_DIR") {
        let path = std::path::Path::new(&dir).join(name).join("bootstrap");
        assert!(
            path.exists(),
            "{} is not built (make build)",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p {name}` (make test builds it)",
        path.display()
    );
    path
}

impl LambdaFunction {
    /// Starts the function's binary with `env` (and the variables the Lambda service sets itself),
    /// answering invocations within `timeout` (the function's Timeout).
    pub async fn start(
        name: &str,
        binary: &std::path::Path,
        env: &[(String, String)],
        memory_mb: u32,
        timeout: Duration,
    ) -> Self {
        let runtime = Arc::new(Runtime {
            timeout,
            queue: Mutex::default(),
            waiting: Mutex::default(),
            arrived: Notify::new(),
            init_error: Mutex::default(),
            first_poll: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let api = listener.local_addr().expect("runtime api address");
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/12/01/[$LATEST]0123456789abcdef",
            )
            .env("_HANDLER", "bootstrap")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().expect("start the function's binary");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    logs.lock().expect("logs").push(line);
                }
            });
        }
        Self {
            name: name.to_owned(),
            runtime,
            timeout,
            logs,
            child: Mutex::new(child),
            started,
        }
    }

    /// How long the process took from its start to its first request for work (its init).
    pub fn init_time(&self) -> Option<Duration> {
        let polled = *self.runtime.first_poll.lock().expect("first poll");
        polled.map(|at| at - self.started)
    }

    /// Invokes the function with `event` and waits for its answer (or its timeout, which fails the
    /// test with the function's logs). As Lambda does, the process is frozen (SIGSTOP) between
    /// invocations: work it left running after answering waits for the next one.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let (answer, outcome) = oneshot::channel();
        self.signal("-CONT");
        self.runtime
            .queue
            .lock()
            .expect("queue")
            .push_back(Invocation {
                id: uuid::Uuid::now_v7().to_string(),
                event,
                answer,
            });
        self.runtime.arrived.notify_one();
        let answered = tokio::time::timeout(self.timeout + Duration::from_secs(5), outcome).await;
        self.signal("-STOP");
        match answered {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "{} gave no answer within {:?} (init error: {:?}, exited: {:?}); its logs:\n{}",
                self.name,
                self.timeout,
                self.runtime.init_error.lock().expect("init").clone(),
                self.child.lock().expect("child").try_wait().ok().flatten(),
                self.logs().join("\n")
            ),
        }
    }

    /// Invokes and expects a response (not a function error).
    pub async fn invoke_ok(&self, event: Value) -> Value {
        match self.invoke(event).await {
            Ok(response) => response,
            Err(error) => panic!(
                "{} answered an error: {error:#}; its logs:\n{}",
                self.name,
                self.logs().join("\n")
            ),
        }
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the function's process.
    fn signal(&self, signal: &str) {
        let pid = self.child.lock().expect("child").id();
        if let Some(pid) = pid {
            let sent = std::process::Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
            assert!(sent.is_ok_and(|s| s.success()), "kill {signal} {pid}");
        }
    }

    /// Every line the function wrote so far (stdout and stderr).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }
}

async fn next(State(runtime): State<Arc<Runtime>>) -> impl IntoResponse {
    runtime
        .first_poll
        .lock()
        .expect("first poll")
        .get_or_insert_with(Instant::now);
    let invocation = loop {
        let notified = runtime.arrived.notified();
        if let Some(invocation) = runtime.queue.lock().expect("queue").pop_front() {
            break invocation;
        }
        notified.await;
    };
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).expect("header value");
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.id));
    // The deadline runs from when the function takes the invocation.
    let deadline = (SystemTime::now() + runtime.timeout)
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    headers.insert("lambda-runtime-deadline-ms", header(&deadline.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:us-east-1:123456789012:function:herald-test"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        header("Root=1-674560c0-3f2c9d8e7a6b5c4d3e2f1a0b;Parent=53995c3f42cd8ad8;Sampled=0"),
    );
    headers.insert("content-type", header("application/json"));
    runtime
        .waiting
        .lock()
        .expect("waiting")
        .insert(invocation.id, invocation.answer);
    (headers, invocation.event.to_string())
}

fn answer(runtime: &Runtime, id: &str, outcome: Outcome) -> StatusCode {
    match runtime.waiting.lock().expect("waiting").remove(id) {
        Some(waiting) => {
            let _ = waiting.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn parsed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

async fn response(
    State(runtime): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    answer(&runtime, &id, Ok(parsed(&body)))
}

async fn error(
    State(runtime): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    answer(&runtime, &id, Err(parsed(&body)))
}

async fn init_error(State(runtime): State<Arc<Runtime>>, body: String) -> StatusCode {
    *runtime.init_error.lock().expect("init") = Some(parsed(&body));
    StatusCode::ACCEPTED
}
