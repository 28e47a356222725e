//! [`RedisStreamManager`]: durable flow streams as Redis Streams, shared by every flow-server
//! process on the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{Error, Result, Status};
use genkit_server::{DEFAULT_STREAM_TTL, StreamEvent, StreamManager, StreamWriter, stream_not_found};
use serde_json::Value;

use crate::conn::{Redis, redis_error};
use crate::session::DEFAULT_KEY_PREFIX;

/// How long a running stream's key lives after its last write (its writer's process is
/// presumed dead after that).
const DEFAULT_ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How long one `XREAD` blocks before the subscriber checks that its stream still exists.
const BLOCK: Duration = Duration::from_secs(5);

/// Creates the stream with an `open` entry unless it exists.
const OPEN_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('XADD', KEYS[1], '*', 't', 'open', 'd', '')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

/// Appends an entry unless the stream is gone or already finished, and sets its expiry.
const APPEND_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local kind = last[1] and last[1][2][2]
if kind == 'done' or kind == 'error' then return 0 end
redis.call('XADD', KEYS[1], '*', 't', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// The scripts, hashed once.
static OPEN: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(OPEN_SCRIPT));
static APPEND: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(APPEND_SCRIPT));

/// A [`StreamManager`] on Redis: a stream started on one flow-server process can be resumed
/// (`x-genkit-stream-id`) on any other process using the same Redis.
///
/// Each durable stream is one Redis Stream, `<prefix>stream:<streamId>` (prefix `genkit:` by
/// default), whose entries have two fields: `t` (`open`, `chunk`, `done` or `error`) and `d`
/// (the chunk's or output's JSON, or the error's `{status, message, details}`). Writes are Lua
/// scripts that append only while the stream is open. Subscribers read with `XREAD BLOCK` on a
/// connection of their own: stored entries first, then live ones. The key expires the
/// time-to-live (default [`DEFAULT_STREAM_TTL`], 5 minutes) after the stream finishes, and a
/// day after the last write of a stream that never finishes.
#[derive(Clone)]
pub struct RedisStreamManager {
    redis: Redis,
    prefix: String,
    ttl: Duration,
    abandoned_after: Duration,
}

impl std::fmt::Debug for RedisStreamManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamManager")
            .field("redis", &self.redis)
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStreamManager {
    /// A manager on the Redis server at `url`. Nothing is connected until first use.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed URL.
    pub fn new(url: &str) -> Result<RedisStreamManager> {
        Ok(RedisStreamManager {
            redis: Redis::new(url)?,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            ttl: DEFAULT_STREAM_TTL,
            abandoned_after: DEFAULT_ABANDONED_AFTER,
        })
    }

    /// Starts every key with `prefix` instead of `genkit:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a finished stream stays available (default 5 minutes, as in JS).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// How long a running stream lives after its last write (default a day).
    #[must_use]
    pub fn abandoned_after(mut self, d: Duration) -> Self {
        self.abandoned_after = d.max(Duration::from_millis(1));
        self
    }

    fn key(&self, stream_id: &str) -> String {
        format!("{}stream:{stream_id}", self.prefix)
    }

    fn ms(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }

    async fn open_stream(&self, stream_id: &str) -> Result<Box<dyn StreamWriter>> {
        let mut conn = self.redis.conn().await?;
        let created: i64 = OPEN
            .key(self.key(stream_id))
            .arg(Self::ms(self.abandoned_after))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if created == 0 {
            return Err(Error::new(Status::AlreadyExists, format!("Stream with id {stream_id} already exists.")));
        }
        Ok(Box::new(RedisWriter {
            manager: self.clone(),
            id: stream_id.to_owned(),
            finished: Arc::new(AtomicBool::new(false)),
        }))
    }

    async fn append(&self, stream_id: &str, kind: &str, data: &str) -> Result<()> {
        let expiry = if kind == "chunk" { self.abandoned_after } else { self.ttl };
        let mut conn = self.redis.conn().await?;
        let _: i64 = APPEND
            .key(self.key(stream_id))
            .arg(kind)
            .arg(data)
            .arg(Self::ms(expiry))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    async fn subscribe_stream(&self, stream_id: &str) -> Result<BoxStream<'static, StreamEvent>> {
        // `XREAD BLOCK` holds its connection: each subscriber gets one of its own.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(BLOCK + Duration::from_secs(10)));
        let mut conn =
            self.redis.client.get_multiplexed_async_connection_with_config(&config).await.map_err(redis_error)?;
        let key = self.key(stream_id);
        let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.map_err(redis_error)?;
        if !exists {
            return Err(stream_not_found(stream_id));
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let id = stream_id.to_owned();
        tokio::spawn(async move {
            let mut last = "0".to_owned();
            loop {
                let mut xread = redis::cmd("XREAD");
                xread.arg("COUNT").arg(256).arg("BLOCK").arg(Self::ms(BLOCK)).arg("STREAMS").arg(&key).arg(&last);
                let read = xread.query_async::<Option<Vec<(String, Vec<(String, Vec<String>)>)>>>(&mut conn);
                let read = tokio::select! {
                    () = tx.closed() => return,
                    r = read => r,
                };
                let entries = match read {
                    Ok(Some(streams)) => streams.into_iter().flat_map(|(_, entries)| entries).collect::<Vec<_>>(),
                    Ok(None) => {
                        // Nothing new within BLOCK: still there?
                        match redis::cmd("EXISTS").arg(&key).query_async::<bool>(&mut conn).await {
                            Ok(true) => continue,
                            Ok(false) => {
                                let _ = tx.send(StreamEvent::Error(Error::new(
                                    Status::NotFound,
                                    format!("Stream with id {id} expired before it finished."),
                                )));
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(StreamEvent::Error(redis_error(e)));
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(StreamEvent::Error(redis_error(e)));
                        return;
                    }
                };
                for (entry_id, fields) in entries {
                    last = entry_id;
                    let (kind, data) = fields_of(&fields);
                    let data = || serde_json::from_str::<Value>(data).unwrap_or(Value::Null);
                    let event = match kind {
                        "chunk" => StreamEvent::Chunk(data()),
                        "done" => StreamEvent::Done(data()),
                        "error" => StreamEvent::Error(Error::from_json(&data())),
                        _ => continue,
                    };
                    let end = !matches!(event, StreamEvent::Chunk(_));
                    if tx.send(event).is_err() || end {
                        return;
                    }
                }
            }
        });
        Ok(Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))))
    }
}

/// The `t` and `d` fields of an entry's flat field list.
fn fields_of(fields: &[String]) -> (&str, &str) {
    let mut kind = "";
    let mut data = "";
    for pair in fields.chunks(2) {
        if let [name, value] = pair {
            match name.as_str() {
                "t" => kind = value,
                "d" => data = value,
                _ => {}
            }
        }
    }
    (kind, data)
}

impl StreamManager for RedisStreamManager {
    fn open<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<Box<dyn StreamWriter>>> {
        Box::pin(self.open_stream(stream_id))
    }

    fn subscribe<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, StreamEvent>>> {
        Box::pin(self.subscribe_stream(stream_id))
    }
}

struct RedisWriter {
    manager: RedisStreamManager,
    id: String,
    finished: Arc<AtomicBool>,
}

impl RedisWriter {
    async fn end(&self, kind: &str, result: Value) -> Result<()> {
        if self.finished.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.manager.append(&self.id, kind, &result.to_string()).await
    }
}

impl StreamWriter for RedisWriter {
    fn write(&self, chunk: Value) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if self.finished.load(Ordering::Acquire) {
                return Ok(());
            }
            self.manager.append(&self.id, "chunk", &chunk.to_string()).await
        })
    }

    fn done(&self, output: Value) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.end("done", output))
    }

    fn error(&self, error: Error) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { self.end("error", error.to_json()).await })
    }
}

impl Drop for RedisWriter {
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
            if let Err(e) = manager.append(&id, "error", &error).await {
                tracing::warn!(error = %e, "marking an abandoned durable stream failed");
            }
        });
    }
}
