//! One SQLite connection shared by the embedded adapters; calls run on the blocking pool.
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database worker stopped")]
    Worker,
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    project    TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    provider   TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    next_due   TEXT,
    doc        TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (provider, next_due) WHERE next_due IS NOT NULL;
-- A delivery's message, written once with it: claims and outcomes rewrite the small row above,
-- not the mail body. (Rows written before this table existed keep the message in `doc`.)
CREATE TABLE IF NOT EXISTS delivery_messages (
    id      TEXT PRIMARY KEY,
    message TEXT NOT NULL
) WITHOUT ROWID;
-- What a message says, kept once for every delivery that says it (a mail's body to 1,000
-- addresses is one row): `delivery_messages.message` then holds the address and `content_id`.
CREATE TABLE IF NOT EXISTS message_contents (
    id      TEXT PRIMARY KEY,
    content TEXT NOT NULL,
    used_at TEXT NOT NULL
) WITHOUT ROWID;
-- Who runs something that must not run twice at once (the sweep), until when.
CREATE TABLE IF NOT EXISTS leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc     TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    project    TEXT NOT NULL,
    id         TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (project, id)
) WITHOUT ROWID;
-- A task's runs, newest first, without reading the project's other runs (every ticket event is
-- a run of its own).
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (project, task_id, id);
-- The same for a list of one outcome's or one kind's runs (run_list.rs names the index).
CREATE INDEX IF NOT EXISTS runs_by_outcome ON runs (project, outcome, id);
CREATE INDEX IF NOT EXISTS runs_by_kind ON runs (project, kind, id);
-- A run's progress: counted by each push delivery's final write; `check_at` lists a run still
-- sending for the reconciler (NULL once final).
CREATE TABLE IF NOT EXISTS run_progress (
    project    TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    pushes     INTEGER NOT NULL,
    finished   INTEGER NOT NULL,
    delivered  INTEGER NOT NULL,
    refused    INTEGER NOT NULL,
    check_at   TEXT,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (project, run_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_progress_check ON run_progress (check_at) WHERE check_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS run_claims (
    project       TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    scheduled_for TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    PRIMARY KEY (project, task_id, scheduled_for)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_keys (
    project    TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (project, task_id, key_digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS images (
    project    TEXT NOT NULL,
    id         TEXT NOT NULL,
    png        BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (project, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS image_uploads (
    scope      TEXT NOT NULL,
    image_id   TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (scope, image_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schedules (
    task_id    TEXT PRIMARY KEY,
    project    TEXT NOT NULL,
    expression TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    start      TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    -- The last scheduled time the local timer handled (fired, or recorded as missed).
    last_fired TEXT
) WITHOUT ROWID;
";

/// A write transaction that takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`): a deferred
/// read-then-write transaction that finds another process (`herald-local trigger`) has written
/// since its read fails with SQLITE_BUSY_SNAPSHOT, which `busy_timeout` does not wait out; an
/// immediate one waits for the lock instead.
pub(crate) fn write_transaction(
    conn: &mut Connection,
) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

/// Work for the database thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A shared SQLite database: one connection owned by one thread that runs the callers' work in
/// order. Cheap to clone; the thread ends when the last clone is dropped.
///
/// One thread rather than the blocking pool and a mutex: 32 sends finishing at once put 32 pool
/// threads on the connection's mutex, and the futex hand-offs cost more than the SQL.
#[derive(Clone)]
pub struct Db(mpsc::Sender<Job>);

impl Db {
    /// Opens (and creates) the database file, in WAL mode, with the schema in place.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A push to 10,000 addresses works through ~100 MB of delivery documents: a 2 MB page
        // cache (the default) reads most pages back from the OS on every claim and finish.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "mmap_size", 268_435_456)?;
        Self::init(conn)
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<Self, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, DbError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("herald-sqlite".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = queue.recv() {
                    // A job that panics answers nobody (its caller sees `Worker`); the next runs.
                    let run = std::panic::AssertUnwindSafe(|| job(&mut conn));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("a database job panicked");
                    }
                }
            })
            .map_err(|_| DbError::Worker)?;
        Ok(Self(jobs))
    }

    /// Runs `f` with the connection on the database thread, so async callers never block.
    pub async fn call<T, E>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away (a cancelled request); its answer is then unused.
            let _ = reply.send(f(conn));
        });
        self.0.send(job).map_err(|_| E::from(DbError::Worker))?;
        answer.await.map_err(|_| E::from(DbError::Worker))?
    }
}
