//! `store-latency`: snapshot save and load latency of each session store, as percentiles.
//!
//! ```sh
//! store-latency [N]    # N saves and N loads per store (default 500)
//! ```
//!
//! Measures the in-memory and file stores always, PostgreSQL when `GENKIT_TEST_POSTGRES_URL`
//! is set and Redis when `GENKIT_TEST_REDIS_URL` is (`scripts/lib/start-*.sh` start local
//! servers). Each save is a read-modify-write of one snapshot (as a turn's status update is);
//! each load reads it back by id. The snapshot holds a 10-message conversation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use genkit::experimental::session::{
    FileSessionStore, InMemorySessionStore, SessionSnapshot, SessionState, SessionStore, SnapshotQuery,
};
use genkit::{ActionContext, Message, Result};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(store: &str, op: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{store:<10} {op:<5} p50 {:>9.1?}  p90 {:>9.1?}  p99 {:>9.1?}  (n={})",
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples.len()
    );
}

async fn measure(name: &str, store: Arc<dyn SessionStore>, n: usize) -> Result<()> {
    let cx = ActionContext::new();
    let messages: Vec<Message> = (0..10).map(|i| Message::user(format!("message {i} of a conversation"))).collect();
    let first = SessionSnapshot::new("")
        .with_session_id(genkit::genkit_core::id::uuid_v4()?)
        .with_state(SessionState { messages: Some(messages), ..SessionState::default() });
    let mut pending = Some(first);
    let id = store
        .save_snapshot(None, &mut |_| pending.take(), &cx)
        .await?
        .ok_or_else(|| genkit::Error::internal("the first save wrote nothing"))?;
    let (mut saves, mut loads) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let start = Instant::now();
        store
            .save_snapshot(
                Some(&id),
                &mut |cur| {
                    let mut next = cur.cloned()?;
                    next.updated_at = Some(format!("update {i}"));
                    Some(next)
                },
                &cx,
            )
            .await?;
        saves.push(start.elapsed());
        let start = Instant::now();
        store.get_snapshot(&SnapshotQuery::snapshot(&id), &cx).await?;
        loads.push(start.elapsed());
    }
    report(name, "save", saves);
    report(name, "load", loads);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let n = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    measure("memory", Arc::new(InMemorySessionStore::new()), n).await?;
    let dir = std::env::temp_dir().join(format!("genkit-store-latency-{}", std::process::id()));
    measure("file", Arc::new(FileSessionStore::new(&dir)?), n).await?;
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(url) = std::env::var("GENKIT_TEST_POSTGRES_URL") {
        measure("postgres", Arc::new(genkit::postgres::PostgresSessionStore::new(&url)?), n).await?;
    }
    if let Ok(url) = std::env::var("GENKIT_TEST_REDIS_URL") {
        measure("redis", Arc::new(genkit::redis::RedisSessionStore::new(&url)?), n).await?;
    }
    Ok(())
}
