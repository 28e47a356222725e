//! [`PostgresStreamManager`]: durable flow streams in PostgreSQL, shared by every flow-server
//! process on the database.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{Error, Result, Status};
use genkit_server::{DEFAULT_STREAM_TTL, StreamEvent, StreamManager, StreamWriter, stream_not_found};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::listen::{Listener, Wake};
use crate::sql::{
    Connection, check_table_name, check_text, create_schema, derived_name, pg_error, quote_ident, quote_table,
};

/// The table [`PostgresStreamManager`] uses unless told otherwise (chunks go to
/// `<table>_chunks`).
pub const DEFAULT_STREAM_TABLE: &str = "genkit_streams";

/// How long a running stream may go without a write before cleanup deletes it (its writer's
/// process is presumed dead).
const DEFAULT_ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How often expired streams are deleted, at most (cleanup runs when a stream is opened).
const CLEANUP_EVERY: Duration = Duration::from_secs(60);

/// How often a subscriber re-reads its stream without a notification.
const BACKSTOP: Duration = Duration::from_secs(5);

/// A [`StreamManager`] in PostgreSQL: a stream started on one flow-server process can be
/// resumed (`x-genkit-stream-id`) on any other process using the same database.
///
/// Schema (created on first use when missing; `genkit_streams` by default):
///
/// ```sql
/// CREATE TABLE genkit_streams (
///   stream_id  TEXT PRIMARY KEY,
///   state      TEXT NOT NULL,          -- 'open', 'done' or 'error'
///   result     TEXT,                   -- JSON: the output, or the error {status, message, details}
///   created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
///   updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
///   expires_at TIMESTAMPTZ             -- set when the stream finishes: now + TTL
/// );
/// CREATE TABLE genkit_streams_chunks (
///   stream_id TEXT NOT NULL REFERENCES genkit_streams (stream_id) ON DELETE CASCADE,
///   seq       BIGINT NOT NULL,         -- 0, 1, 2, ... in write order
///   chunk     TEXT NOT NULL,           -- the chunk's JSON
///   PRIMARY KEY (stream_id, seq)
/// );
/// ```
///
/// Each write and the final result send `NOTIFY genkit_streams_events` with the stream id;
/// subscribers replay the stored chunks, then wake on notifications (and re-read every few
/// seconds as a backstop). Finished streams are deleted once their time-to-live has passed
/// (default [`DEFAULT_STREAM_TTL`], 5 minutes), running streams after a day without a write.
#[derive(Clone)]
pub struct PostgresStreamManager {
    conn: Connection,
    table: String,
    ttl: Duration,
    abandoned_after: Duration,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    schema: OnceCell<()>,
    listener: OnceCell<Listener>,
    last_cleanup: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for PostgresStreamManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStreamManager")
            .field("connection", &self.conn)
            .field("table", &self.table)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl PostgresStreamManager {
    /// A manager on the database at `url`, with a pool of up to 16 connections. Nothing is
    /// connected until first use; the tables are created then if missing.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed connection string.
    pub fn new(url: &str) -> Result<PostgresStreamManager> {
        Ok(PostgresStreamManager {
            conn: Connection::new(url, 16)?,
            table: DEFAULT_STREAM_TABLE.to_owned(),
            ttl: DEFAULT_STREAM_TTL,
            abandoned_after: DEFAULT_ABANDONED_AFTER,
            shared: Arc::default(),
        })
    }

    /// Uses `table` (and `<table>_chunks`) instead of `genkit_streams`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a name that is not a plain identifier.
    pub fn table(mut self, table: &str) -> Result<Self> {
        check_table_name(table)?;
        self.table = table.to_owned();
        self.shared = Arc::default();
        Ok(self)
    }

    /// How long a finished stream stays available (default 5 minutes, as in JS).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a running stream may go without a write before it is deleted (default a
    /// day): the process writing it is presumed dead.
    #[must_use]
    pub fn abandoned_after(mut self, d: Duration) -> Self {
        self.abandoned_after = d;
        self
    }

    /// Sets the most connections the pool opens (default 16); subscribers share one more.
    #[must_use]
    pub fn max_connections(self, n: usize) -> Self {
        self.conn.pool.resize(n.max(1));
        self
    }

    fn t(&self) -> String {
        quote_table(&self.table)
    }

    fn chunks(&self) -> String {
        quote_ident(&derived_name(&self.table, "_chunks"))
    }

    fn channel(&self) -> String {
        derived_name(&self.table, "_events")
    }

    /// Creates the tables if they are missing (done on first use anyway).
    ///
    /// # Errors
    /// The database's.
    pub async fn create_schema(&self) -> Result<()> {
        self.shared
            .schema
            .get_or_try_init(|| async {
                let (t, c) = (self.t(), self.chunks());
                let idx = quote_ident(&derived_name(&self.table, "_expires"));
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                       stream_id TEXT PRIMARY KEY,
                       state TEXT NOT NULL,
                       result TEXT,
                       created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                       updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                       expires_at TIMESTAMPTZ);
                     CREATE INDEX IF NOT EXISTS {idx} ON {t} (expires_at);
                     CREATE TABLE IF NOT EXISTS {c} (
                       stream_id TEXT NOT NULL REFERENCES {t} (stream_id) ON DELETE CASCADE,
                       seq BIGINT NOT NULL,
                       chunk TEXT NOT NULL,
                       PRIMARY KEY (stream_id, seq));"
                );
                create_schema(&self.conn, &format!("genkit:{}", self.table), &ddl).await
            })
            .await
            .map(|_| ())
    }

    /// Deletes finished streams past their time-to-live and abandoned running ones. Runs
    /// when streams are opened, at most once a minute per manager; call it to clean up now.
    ///
    /// # Errors
    /// The database's.
    pub async fn delete_expired(&self) -> Result<u64> {
        self.create_schema().await?;
        let client = self.conn.get().await?;
        let sql = format!(
            "DELETE FROM {} WHERE expires_at < now()
                OR (state = 'open' AND updated_at < now() - make_interval(secs => $1))",
            self.t()
        );
        client.execute(&sql, &[&self.abandoned_after.as_secs_f64()]).await.map_err(pg_error)
    }

    async fn maybe_cleanup(&self) {
        {
            let mut last = self.shared.last_cleanup.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < CLEANUP_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = self.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired streams failed");
        }
    }

    async fn open_stream(&self, stream_id: &str) -> Result<Box<dyn StreamWriter>> {
        check_text(stream_id, "the stream id")?;
        self.create_schema().await?;
        self.maybe_cleanup().await;
        let client = self.conn.get().await?;
        let sql = format!("INSERT INTO {} (stream_id, state) VALUES ($1, 'open') ON CONFLICT DO NOTHING", self.t());
        if client.execute(&sql, &[&stream_id]).await.map_err(pg_error)? == 0 {
            return Err(Error::new(Status::AlreadyExists, format!("Stream with id {stream_id} already exists.")));
        }
        Ok(Box::new(PgWriter {
            manager: self.clone(),
            id: stream_id.to_owned(),
            seq: AtomicI64::new(0),
            finished: AtomicBool::new(false),
        }))
    }

    /// The stream's state and result, then its chunks after `after`, read in that order so
    /// that a finished state comes with all of its chunks.
    async fn read(&self, stream_id: &str, after: i64) -> Result<Option<(String, Option<String>, Vec<(i64, String)>)>> {
        let client = self.conn.get().await?;
        let sql = format!(
            "SELECT state, result FROM {} WHERE stream_id = $1 AND (expires_at IS NULL OR expires_at >= now())",
            self.t()
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let Some(row) = client.query_opt(&stmt, &[&stream_id]).await.map_err(pg_error)? else { return Ok(None) };
        let sql = format!("SELECT seq, chunk FROM {} WHERE stream_id = $1 AND seq > $2 ORDER BY seq", self.chunks());
        let stmt = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let chunks = client.query(&stmt, &[&stream_id, &after]).await.map_err(pg_error)?;
        Ok(Some((row.get(0), row.get(1), chunks.iter().map(|r| (r.get(0), r.get(1))).collect())))
    }

    async fn subscribe_stream(&self, stream_id: &str) -> Result<BoxStream<'static, StreamEvent>> {
        if check_text(stream_id, "the stream id").is_err() {
            return Err(stream_not_found(stream_id));
        }
        self.create_schema().await?;
        let listener =
            self.shared.listener.get_or_try_init(|| Listener::start(self.conn.config.clone(), self.channel()));
        let mut wakes = listener.await?.subscribe();
        let first = self.read(stream_id, -1).await?.ok_or_else(|| stream_not_found(stream_id))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (manager, id) = (self.clone(), stream_id.to_owned());
        tokio::spawn(async move {
            let mut next = Some(first);
            let mut last = -1;
            let mut listening = true;
            loop {
                if let Some((state, result, chunks)) = next.take() {
                    for (seq, chunk) in chunks {
                        last = seq;
                        let chunk = serde_json::from_str(&chunk).unwrap_or(Value::String(chunk));
                        if tx.send(StreamEvent::Chunk(chunk)).is_err() {
                            return;
                        }
                    }
                    if let Some(end) = final_event(&state, result.as_deref()) {
                        let _ = tx.send(end);
                        return;
                    }
                }
                tokio::select! {
                    () = tx.closed() => return,
                    wake = wakes.recv(), if listening => match wake {
                        Ok(Wake::Notified(p)) if p != id => continue,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => listening = false,
                    },
                    () = tokio::time::sleep(BACKSTOP) => {}
                }
                match manager.read(&id, last).await {
                    Ok(Some(read)) => next = Some(read),
                    Ok(None) => {
                        let _ = tx.send(StreamEvent::Error(Error::new(
                            Status::NotFound,
                            format!("Stream with id {id} was deleted before it finished."),
                        )));
                        return;
                    }
                    Err(e) => tracing::debug!(error = %e, "re-reading a durable stream failed"),
                }
            }
        });
        Ok(Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))))
    }

    /// Ends the stream if it is still open; `result` is the output's or error's JSON.
    async fn finish(&self, stream_id: &str, state: &str, result: &str) -> Result<()> {
        let client = self.conn.get().await?;
        let sql = format!(
            "WITH u AS (UPDATE {} SET state = $2, result = $3, updated_at = now(),
                          expires_at = now() + make_interval(secs => $4)
                        WHERE stream_id = $1 AND state = 'open' RETURNING 1)
             SELECT pg_notify($5, $1) FROM u",
            self.t()
        );
        client
            .execute(&sql, &[&stream_id, &state, &result, &self.ttl.as_secs_f64(), &self.channel()])
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}

fn final_event(state: &str, result: Option<&str>) -> Option<StreamEvent> {
    let value = || result.and_then(|r| serde_json::from_str::<Value>(r).ok()).unwrap_or(Value::Null);
    match state {
        "done" => Some(StreamEvent::Done(value())),
        "error" => Some(StreamEvent::Error(Error::from_json(&value()))),
        _ => None,
    }
}

impl StreamManager for PostgresStreamManager {
    fn open<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<Box<dyn StreamWriter>>> {
        Box::pin(self.open_stream(stream_id))
    }

    fn subscribe<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, StreamEvent>>> {
        Box::pin(self.subscribe_stream(stream_id))
    }
}

struct PgWriter {
    manager: PostgresStreamManager,
    id: String,
    seq: AtomicI64,
    finished: AtomicBool,
}

impl PgWriter {
    async fn write_chunk(&self, chunk: Value) -> Result<()> {
        if self.finished.load(Ordering::Acquire) {
            return Ok(());
        }
        let m = &self.manager;
        let json = serde_json::to_string(&chunk).map_err(Error::internal)?;
        let seq = self.seq.fetch_add(1, Ordering::AcqRel);
        let client = m.conn.get().await?;
        let sql = format!(
            "WITH s AS (UPDATE {t} SET updated_at = now() WHERE stream_id = $1 AND state = 'open' RETURNING 1),
                  c AS (INSERT INTO {c} (stream_id, seq, chunk) SELECT $1, $2, $3 FROM s RETURNING 1)
             SELECT pg_notify($4, $1) FROM c",
            t = m.t(),
            c = m.chunks()
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_error)?;
        client.execute(&stmt, &[&self.id, &seq, &json, &m.channel()]).await.map_err(pg_error)?;
        Ok(())
    }

    async fn end(&self, state: &str, result: Value) -> Result<()> {
        if self.finished.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.manager.finish(&self.id, state, &result.to_string()).await
    }
}

impl StreamWriter for PgWriter {
    fn write(&self, chunk: Value) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.write_chunk(chunk))
    }

    fn done(&self, output: Value) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.end("done", output))
    }

    fn error(&self, error: Error) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { self.end("error", error.to_json()).await })
    }
}

impl Drop for PgWriter {
    /// A writer dropped before `done`/`error` (its run panicked or was aborted) fails the
    /// stream, so subscribers on every process are not left waiting.
    fn drop(&mut self) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let (manager, id) = (self.manager.clone(), std::mem::take(&mut self.id));
        let error = Error::new(Status::Aborted, "The stream ended without a result.").to_json().to_string();
        rt.spawn(async move {
            if let Err(e) = manager.finish(&id, "error", &error).await {
                tracing::warn!(error = %e, "marking an abandoned durable stream failed");
            }
        });
    }
}
