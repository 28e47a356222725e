//! One `LISTEN` connection per store, shared by all of its watchers: notifications are
//! broadcast in process as [`Wake`]s. The connection reconnects after a failure and then
//! wakes every watcher, so that none misses a change made while it was down.

use std::time::Duration;

use futures::StreamExt;
use genkit_core::{Error, Result};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::sql::pg_error;

/// Why a watcher should look again.
#[derive(Debug, Clone)]
pub(crate) enum Wake {
    /// A `NOTIFY` on the listened channel, with its payload.
    Notified(String),
    /// The connection was re-established: anything may have changed.
    All,
}

/// The running listener; dropping it stops the connection.
#[derive(Debug)]
pub(crate) struct Listener {
    tx: broadcast::Sender<Wake>,
    _stop: DropGuard,
}

impl Listener {
    /// Connects, runs `LISTEN channel` and returns once notifications flow.
    ///
    /// # Errors
    /// `UNAVAILABLE` when the first connection or `LISTEN` fails.
    pub(crate) async fn start(config: tokio_postgres::Config, channel: String) -> Result<Listener> {
        let (tx, _) = broadcast::channel(1024);
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(run(config, channel, tx.clone(), stop.clone(), ready_tx));
        ready_rx.await.map_err(|_| Error::internal("the PostgreSQL listener stopped before it started"))??;
        Ok(Listener { tx, _stop: stop.drop_guard() })
    }

    /// A new receiver of wakes from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.tx.subscribe()
    }
}

async fn run(
    config: tokio_postgres::Config,
    channel: String,
    tx: broadcast::Sender<Wake>,
    stop: CancellationToken,
    ready: oneshot::Sender<Result<()>>,
) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        let session = tokio::select! {
            () = stop.cancelled() => return,
            s = connect(&config, &channel) => s,
        };
        match session {
            Ok((client, mut notifications)) => {
                backoff = Duration::from_millis(100);
                match ready.take() {
                    Some(r) => {
                        let _ = r.send(Ok(()));
                    }
                    None => {
                        let _ = tx.send(Wake::All);
                    }
                }
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        n = notifications.recv() => match n {
                            Some(payload) => { let _ = tx.send(Wake::Notified(payload)); }
                            None => break,
                        }
                    }
                }
                drop(client);
                tracing::warn!(channel = %channel, "PostgreSQL LISTEN connection lost; reconnecting");
            }
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    return;
                }
                tracing::warn!(channel = %channel, error = %e, "PostgreSQL LISTEN reconnect failed");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// A connection listening on `channel`, and its notifications' payloads (the channel ends
/// when the connection does).
async fn connect(
    config: &tokio_postgres::Config,
    channel: &str,
) -> Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<String>)> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let (ntx, nrx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if ntx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "PostgreSQL LISTEN connection failed");
                    return;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {}", crate::sql::quote_ident(channel))).await.map_err(pg_error)?;
    Ok((client, nrx))
}
