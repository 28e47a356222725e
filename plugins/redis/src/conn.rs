//! What both stores share: the client and its auto-reconnecting connection, the pub/sub
//! listener that wakes watchers, key naming, error mapping.

use std::time::Duration;

use futures::StreamExt;
use genkit_core::{Error, Result, Status};
use redis::aio::ConnectionManager;
use tokio::sync::{OnceCell, broadcast, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

/// A Redis client and its shared, lazily opened, auto-reconnecting connection.
#[derive(Clone)]
pub(crate) struct Redis {
    pub(crate) client: redis::Client,
    manager: std::sync::Arc<OnceCell<ConnectionManager>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: show the address only.
        f.debug_struct("Redis").field("addr", &self.client.get_connection_info().addr().to_string()).finish()
    }
}

impl Redis {
    pub(crate) fn new(url: &str) -> Result<Redis> {
        // The parse error may quote the URL, which may hold a password: keep it out.
        let client = redis::Client::open(url).map_err(|_| {
            Error::invalid_argument(
                "not a valid Redis URL: expected redis://[user:password@]host[:port][/db] or unix:///path",
            )
        })?;
        Ok(Redis { client, manager: std::sync::Arc::default() })
    }

    /// The shared connection (commands from all tasks are pipelined on it).
    pub(crate) async fn conn(&self) -> Result<ConnectionManager> {
        self.manager
            .get_or_try_init(|| async {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(5)))
                    .set_response_timeout(Some(Duration::from_secs(10)))
                    .set_number_of_retries(3);
                self.client.get_connection_manager_with_config(config).await.map_err(redis_error)
            })
            .await
            .cloned()
    }
}

/// A Redis error as a Genkit error: connection problems and timeouts are `UNAVAILABLE`
/// (worth a retry), the rest `INTERNAL`.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    let status = if e.is_io_error() || e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() {
        Status::Unavailable
    } else {
        Status::Internal
    };
    Error::new(status, format!("Redis: {e}")).with_source(e)
}

/// Makes a tenant key safe as one `:`-separated component of a key name.
pub(crate) fn escape(component: &str) -> String {
    component.replace('%', "%25").replace(':', "%3A")
}

/// Why a watcher should look again.
#[derive(Debug, Clone)]
pub(crate) enum Wake {
    /// A message on the subscribed channel, with its payload.
    Published(String),
    /// The subscription was re-established: anything may have changed.
    All,
}

/// One pub/sub subscription per store, shared by all of its watchers; dropping it stops it.
#[derive(Debug)]
pub(crate) struct Listener {
    tx: broadcast::Sender<Wake>,
    _stop: DropGuard,
}

impl Listener {
    /// Subscribes to `channel` and returns once messages flow.
    pub(crate) async fn start(client: redis::Client, channel: String) -> Result<Listener> {
        let (tx, _) = broadcast::channel(1024);
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(run(client, channel, tx.clone(), stop.clone(), ready_tx));
        ready_rx.await.map_err(|_| Error::internal("the Redis listener stopped before it started"))??;
        Ok(Listener { tx, _stop: stop.drop_guard() })
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.tx.subscribe()
    }
}

async fn run(
    client: redis::Client,
    channel: String,
    tx: broadcast::Sender<Wake>,
    stop: CancellationToken,
    ready: oneshot::Sender<Result<()>>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            s = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            } => s.map_err(redis_error),
        };
        match subscribed {
            Ok(pubsub) => {
                backoff = Duration::from_millis(100);
                match ready.take() {
                    Some(r) => {
                        let _ = r.send(Ok(()));
                    }
                    None => {
                        let _ = tx.send(Wake::All);
                    }
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        m = messages.next() => match m {
                            Some(m) => {
                                if let Ok(p) = m.get_payload::<String>() {
                                    let _ = tx.send(Wake::Published(p));
                                }
                            }
                            None => break,
                        }
                    }
                }
                tracing::warn!(channel = %channel, "Redis subscription lost; resubscribing");
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    return;
                }
                tracing::warn!(channel = %channel, error = %e, "Redis resubscribe failed");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
