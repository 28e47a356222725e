//! Durable streaming: a [`StreamManager`] records every chunk and the final result of a
//! streaming run under a stream id, so a client that lost its connection can subscribe again
//! (buffered chunks replayed, then live ones). [`InMemoryStreamManager`] keeps them in memory
//! for a time-to-live once the run has finished.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use genkit_core::{Error, Result, Status};
use serde_json::Value;

/// One event of a durable stream, as seen by a subscriber.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StreamEvent {
    /// A streamed chunk.
    Chunk(Value),
    /// The run finished with this output; nothing follows.
    Done(Value),
    /// The run failed with this error; nothing follows.
    Error(Error),
}

/// The writing side of one durable stream, returned by [`StreamManager::open`] (JS
/// `ActionStreamInput`). The server calls `write` for each chunk, in order and never
/// concurrently, then `done` or `error` once.
pub trait StreamWriter: Send + Sync {
    /// Appends one chunk.
    fn write(&self, chunk: Value) -> BoxFuture<'_, Result<()>>;
    /// Marks the stream as finished with `output`.
    fn done(&self, output: Value) -> BoxFuture<'_, Result<()>>;
    /// Marks the stream as failed with `error`.
    fn error(&self, error: Error) -> BoxFuture<'_, Result<()>>;
}

/// Stores streams by id so that clients can re-subscribe (JS `StreamManager`). Object safe:
/// servers hold an `Arc<dyn StreamManager>`.
///
/// Implement it to keep streams somewhere shared by several server instances (a database, a
/// pub/sub topic); [`InMemoryStreamManager`] serves a single process.
pub trait StreamManager: Send + Sync + 'static {
    /// Creates the stream `stream_id` and returns its writer.
    ///
    /// # Errors
    /// When the stream already exists or cannot be created.
    fn open<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<Box<dyn StreamWriter>>>;

    /// Subscribes to `stream_id`: the returned stream yields the chunks written so far, then
    /// the live ones, and ends after a [`StreamEvent::Done`] or [`StreamEvent::Error`].
    /// Dropping it unsubscribes.
    ///
    /// # Errors
    /// `NOT_FOUND` ([`stream_not_found`]) when there is no such stream; the server then
    /// answers HTTP 204.
    fn subscribe<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, StreamEvent>>>;
}

/// The error a [`StreamManager`] returns for an unknown stream id (JS `StreamNotFoundError`).
pub fn stream_not_found(stream_id: &str) -> Error {
    Error::new(Status::NotFound, format!("Stream with id {stream_id} not found."))
}

/// Default time a finished stream is kept: 5 minutes, as in Genkit JS.
pub const DEFAULT_STREAM_TTL: Duration = Duration::from_secs(300);

enum State {
    Open(Vec<mpsc::UnboundedSender<StreamEvent>>),
    Done(Value),
    Failed(Error),
}

struct Entry {
    chunks: Vec<Value>,
    state: State,
    last_touched: Instant,
}

type Streams = Arc<Mutex<HashMap<String, Entry>>>;

fn lock(streams: &Streams) -> MutexGuard<'_, HashMap<String, Entry>> {
    // No code path panics while holding the lock; if one ever did, the map is still usable.
    streams.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A [`StreamManager`] that keeps streams in this process's memory (JS
/// `InMemoryStreamManager`). Finished streams are evicted once they have been untouched for
/// the time-to-live (default [`DEFAULT_STREAM_TTL`]); running streams are never evicted.
/// Cheap to clone (clones share the streams).
///
/// ```
/// use std::time::Duration;
/// use genkit_server::InMemoryStreamManager;
/// let streams = InMemoryStreamManager::new().with_ttl(Duration::from_secs(60));
/// ```
#[derive(Clone)]
pub struct InMemoryStreamManager {
    streams: Streams,
    ttl: Duration,
}

impl Default for InMemoryStreamManager {
    fn default() -> Self {
        InMemoryStreamManager { streams: Arc::default(), ttl: DEFAULT_STREAM_TTL }
    }
}

impl fmt::Debug for InMemoryStreamManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryStreamManager")
            .field("streams", &lock(&self.streams).len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl InMemoryStreamManager {
    /// A manager with the default time-to-live (5 minutes).
    pub fn new() -> Self {
        InMemoryStreamManager::default()
    }

    /// Sets how long a finished stream stays available (JS `ttlSeconds`).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many streams are held (running, or finished and not yet evicted).
    pub fn len(&self) -> usize {
        lock(&self.streams).len()
    }

    /// Whether no stream is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn evict_expired(&self, map: &mut HashMap<String, Entry>) {
        let now = Instant::now();
        map.retain(|_, e| matches!(e.state, State::Open(_)) || now.duration_since(e.last_touched) <= self.ttl);
    }
}

impl StreamManager for InMemoryStreamManager {
    fn open<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<Box<dyn StreamWriter>>> {
        Box::pin(async move {
            let mut map = lock(&self.streams);
            self.evict_expired(&mut map);
            if map.contains_key(stream_id) {
                return Err(Error::new(Status::AlreadyExists, format!("Stream with id {stream_id} already exists.")));
            }
            map.insert(
                stream_id.to_owned(),
                Entry { chunks: Vec::new(), state: State::Open(Vec::new()), last_touched: Instant::now() },
            );
            let writer: Box<dyn StreamWriter> =
                Box::new(InMemoryWriter { streams: self.streams.clone(), id: stream_id.to_owned() });
            Ok(writer)
        })
    }

    fn subscribe<'a>(&'a self, stream_id: &'a str) -> BoxFuture<'a, Result<BoxStream<'static, StreamEvent>>> {
        Box::pin(async move {
            let mut map = lock(&self.streams);
            self.evict_expired(&mut map);
            let entry = map.get_mut(stream_id).ok_or_else(|| stream_not_found(stream_id))?;
            let replay: Vec<StreamEvent> = entry.chunks.iter().cloned().map(StreamEvent::Chunk).collect();
            let replay = futures::stream::iter(replay);
            Ok(match &mut entry.state {
                State::Open(subscribers) => {
                    let (tx, rx) = mpsc::unbounded();
                    subscribers.push(tx);
                    replay.chain(rx).boxed()
                }
                State::Done(output) => {
                    replay.chain(futures::stream::once(std::future::ready(StreamEvent::Done(output.clone())))).boxed()
                }
                State::Failed(error) => {
                    replay.chain(futures::stream::once(std::future::ready(StreamEvent::Error(error.clone())))).boxed()
                }
            })
        })
    }
}

struct InMemoryWriter {
    streams: Streams,
    id: String,
}

impl InMemoryWriter {
    /// Applies `f` to the stream if it is still open.
    fn with_open(&self, f: impl FnOnce(&mut Entry)) {
        let mut map = lock(&self.streams);
        if let Some(entry) = map.get_mut(&self.id)
            && matches!(entry.state, State::Open(_))
        {
            entry.last_touched = Instant::now();
            f(entry);
        }
    }

    fn finish(&self, end: State) {
        self.with_open(|entry| {
            let event = match &end {
                State::Done(v) => StreamEvent::Done(v.clone()),
                State::Failed(e) => StreamEvent::Error(e.clone()),
                State::Open(_) => return,
            };
            if let State::Open(subscribers) = std::mem::replace(&mut entry.state, end) {
                for s in subscribers {
                    let _ = s.unbounded_send(event.clone());
                }
            }
        });
    }
}

impl StreamWriter for InMemoryWriter {
    fn write(&self, chunk: Value) -> BoxFuture<'_, Result<()>> {
        self.with_open(|entry| {
            if let State::Open(subscribers) = &mut entry.state {
                subscribers.retain(|s| s.unbounded_send(StreamEvent::Chunk(chunk.clone())).is_ok());
            }
            entry.chunks.push(chunk);
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn done(&self, output: Value) -> BoxFuture<'_, Result<()>> {
        self.finish(State::Done(output));
        Box::pin(std::future::ready(Ok(())))
    }

    fn error(&self, error: Error) -> BoxFuture<'_, Result<()>> {
        self.finish(State::Failed(error));
        Box::pin(std::future::ready(Ok(())))
    }
}

impl Drop for InMemoryWriter {
    /// A writer dropped before `done`/`error` (its run panicked or was aborted) fails the
    /// stream, so subscribers are not left waiting forever.
    fn drop(&mut self) {
        self.finish(State::Failed(Error::new(Status::Aborted, "The stream ended without a result.")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assert_object_safe(_: &dyn StreamManager, _: &dyn StreamWriter) {}

    async fn collect(m: &InMemoryStreamManager, id: &str) -> Vec<String> {
        let s = m.subscribe(id).await.unwrap();
        s.map(|e| match e {
            StreamEvent::Chunk(c) => format!("chunk {c}"),
            StreamEvent::Done(o) => format!("done {o}"),
            StreamEvent::Error(e) => format!("error {e}"),
        })
        .collect()
        .await
    }

    #[tokio::test]
    async fn replay_then_live_then_done() {
        let m = InMemoryStreamManager::new();
        let w = m.open("s1").await.unwrap();
        assert_object_safe(&m, w.as_ref());
        w.write(json!(1)).await.unwrap();
        let mut sub = m.subscribe("s1").await.unwrap();
        assert!(matches!(sub.next().await, Some(StreamEvent::Chunk(c)) if c == json!(1)));
        w.write(json!(2)).await.unwrap();
        assert!(matches!(sub.next().await, Some(StreamEvent::Chunk(c)) if c == json!(2)));
        w.done(json!("out")).await.unwrap();
        assert!(matches!(sub.next().await, Some(StreamEvent::Done(o)) if o == json!("out")));
        assert!(sub.next().await.is_none());
        // Writes after done are ignored; a late subscriber gets the full replay.
        w.write(json!(3)).await.unwrap();
        assert_eq!(collect(&m, "s1").await, ["chunk 1", "chunk 2", "done \"out\""]);
    }

    #[tokio::test]
    async fn errors_unknown_ids_and_duplicates() {
        let m = InMemoryStreamManager::new();
        let e = m.subscribe("nope").await.err().unwrap();
        assert_eq!(e.status(), Status::NotFound);
        assert_eq!(e.message(), "Stream with id nope not found.");
        let w = m.open("s").await.unwrap();
        assert_eq!(m.open("s").await.err().unwrap().status(), Status::AlreadyExists);
        w.write(json!("a")).await.unwrap();
        w.error(Error::new(Status::Internal, "boom")).await.unwrap();
        assert_eq!(collect(&m, "s").await, ["chunk \"a\"", "error INTERNAL: boom"]);
    }

    #[tokio::test]
    async fn dropped_writer_fails_the_stream() {
        let m = InMemoryStreamManager::new();
        let w = m.open("s").await.unwrap();
        let sub = m.subscribe("s").await.unwrap();
        drop(w);
        let events: Vec<_> = sub.collect().await;
        assert!(matches!(&events[..], [StreamEvent::Error(e)] if e.status() == Status::Aborted));
    }

    #[tokio::test]
    async fn finished_streams_expire_after_ttl() {
        let m = InMemoryStreamManager::new().with_ttl(Duration::from_millis(20));
        let running = m.open("running").await.unwrap();
        let w = m.open("done").await.unwrap();
        w.done(json!(null)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(m.subscribe("done").await.err().unwrap().status(), Status::NotFound);
        assert!(m.subscribe("running").await.is_ok());
        assert_eq!(m.len(), 1);
        drop(running);
    }
}
