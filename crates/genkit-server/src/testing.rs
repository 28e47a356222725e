//! The contract every [`StreamManager`] keeps, as checks a manager's own tests call (feature
//! `testing`): the in-memory manager runs them here, the PostgreSQL and Redis managers in
//! their crates. Each check uses fresh random stream ids, so it can run against a database
//! shared with other runs. Checks return `Err` with what went wrong instead of panicking.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use genkit_core::{Error, Status};
use serde_json::{Value, json};

use crate::{StreamEvent, StreamManager};

type Check = Result<(), String>;

fn fresh() -> Result<String, String> {
    genkit_core::id::uuid_v4().map_err(|e| e.to_string())
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(what()) }
}

fn show(e: &StreamEvent) -> String {
    match e {
        StreamEvent::Chunk(c) => format!("chunk {c}"),
        StreamEvent::Done(o) => format!("done {o}"),
        StreamEvent::Error(e) => format!("error {}: {}", e.status().as_str(), e.message()),
    }
}

/// The next event, with a deadline against a hung manager (not a timing assertion).
async fn next(sub: &mut BoxStream<'static, StreamEvent>) -> Result<String, String> {
    let e = tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .map_err(|_| "no stream event within 30 s".to_owned())?
        .ok_or("the subscription ended early")?;
    Ok(show(&e))
}

async fn all(m: &dyn StreamManager, id: &str) -> Result<Vec<String>, String> {
    let sub = m.subscribe(id).await.map_err(|e| format!("subscribe({id}) failed: {e}"))?;
    let events = tokio::time::timeout(Duration::from_secs(30), sub.collect::<Vec<_>>())
        .await
        .map_err(|_| "the subscription did not end within 30 s".to_owned())?;
    Ok(events.iter().map(show).collect())
}

/// Runs every check below against `manager`.
///
/// # Errors
/// The first check that failed, saying what it expected.
pub async fn check_stream_manager(manager: Arc<dyn StreamManager>) -> Check {
    check_replay_then_live(&*manager).await?;
    check_errors_and_unknown_ids(&*manager).await?;
    check_dropped_writer(&*manager).await
}

/// A subscriber gets the chunks written so far, then live ones, then the result; a late
/// subscriber gets it all again; writes after the end are ignored.
///
/// # Errors
/// What differed.
pub async fn check_replay_then_live(m: &dyn StreamManager) -> Check {
    let id = fresh()?;
    let w = m.open(&id).await.map_err(|e| format!("open failed: {e}"))?;
    w.write(json!({"n": 1})).await.map_err(|e| e.to_string())?;
    w.write(json!("two")).await.map_err(|e| e.to_string())?;
    let mut sub = m.subscribe(&id).await.map_err(|e| format!("subscribe failed: {e}"))?;
    ensure(next(&mut sub).await? == r#"chunk {"n":1}"#, || "the first chunk was not replayed".into())?;
    ensure(next(&mut sub).await? == r#"chunk "two""#, || "the second chunk was not replayed".into())?;
    w.write(json!(3)).await.map_err(|e| e.to_string())?;
    let live = next(&mut sub).await?;
    ensure(live == "chunk 3", || format!("the live chunk came as {live}"))?;
    w.done(json!({"out": true})).await.map_err(|e| e.to_string())?;
    let end = next(&mut sub).await?;
    ensure(end == r#"done {"out":true}"#, || format!("the end came as {end}"))?;
    let after = tokio::time::timeout(Duration::from_secs(30), sub.next()).await.map_err(|_| "no end after done")?;
    ensure(after.is_none(), || "the subscription went on after done".into())?;
    w.write(json!(4)).await.map_err(|e| e.to_string())?;
    let late = all(m, &id).await?;
    ensure(late == [r#"chunk {"n":1}"#, r#"chunk "two""#, "chunk 3", r#"done {"out":true}"#], || {
        format!("a late subscriber saw {late:?}")
    })
}

/// An unknown id is `NOT_FOUND` (JS `StreamNotFoundError`); opening an id twice is
/// `ALREADY_EXISTS`; a failed stream ends with its error (status and message kept).
///
/// # Errors
/// What differed.
pub async fn check_errors_and_unknown_ids(m: &dyn StreamManager) -> Check {
    let unknown = fresh()?;
    match m.subscribe(&unknown).await {
        Err(e) if e.status() == Status::NotFound => {}
        Err(e) => return Err(format!("an unknown stream gave {e}, expected NOT_FOUND")),
        Ok(_) => return Err("an unknown stream was found".into()),
    }
    let id = fresh()?;
    let w = m.open(&id).await.map_err(|e| format!("open failed: {e}"))?;
    match m.open(&id).await {
        Err(e) if e.status() == Status::AlreadyExists => {}
        Err(e) => return Err(format!("opening an id twice gave {e}, expected ALREADY_EXISTS")),
        Ok(_) => return Err("opening an id twice succeeded".into()),
    }
    w.write(json!("a")).await.map_err(|e| e.to_string())?;
    w.error(Error::new(Status::PermissionDenied, "no").with_details(json!({"why": "test"})))
        .await
        .map_err(|e| e.to_string())?;
    let seen = all(m, &id).await?;
    ensure(seen == [r#"chunk "a""#, "error PERMISSION_DENIED: no"], || format!("a failed stream gave {seen:?}"))
}

/// A writer dropped before its result (its run panicked or was cancelled) fails the stream
/// with `ABORTED`, so subscribers are not left waiting.
///
/// # Errors
/// What differed.
pub async fn check_dropped_writer(m: &dyn StreamManager) -> Check {
    let id = fresh()?;
    let w = m.open(&id).await.map_err(|e| format!("open failed: {e}"))?;
    let sub = m.subscribe(&id).await.map_err(|e| format!("subscribe failed: {e}"))?;
    drop(w);
    let events = tokio::time::timeout(Duration::from_secs(30), sub.collect::<Vec<_>>())
        .await
        .map_err(|_| "the subscription of a dropped writer's stream did not end within 30 s".to_owned())?;
    let seen: Vec<String> = events.iter().map(show).collect();
    ensure(seen.len() == 1 && seen[0].starts_with("error ABORTED"), || {
        format!("a dropped writer's stream gave {seen:?}")
    })
}

/// A finished stream is gone (`NOT_FOUND`) once `manager`'s time-to-live has passed, which
/// must be shorter than `wait`; a running one stays.
///
/// # Errors
/// What differed.
pub async fn check_ttl(m: &dyn StreamManager, wait: Duration) -> Check {
    let (done, running) = (fresh()?, fresh()?);
    let w = m.open(&done).await.map_err(|e| format!("open failed: {e}"))?;
    let r = m.open(&running).await.map_err(|e| format!("open failed: {e}"))?;
    w.done(Value::Null).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(wait).await;
    match m.subscribe(&done).await {
        Err(e) if e.status() == Status::NotFound => {}
        Err(e) => return Err(format!("an expired stream gave {e}, expected NOT_FOUND")),
        Ok(_) => return Err("a finished stream was still there after its time-to-live".into()),
    }
    let still = m.subscribe(&running).await.map(|_| ()).map_err(|e| format!("a running stream expired: {e}"));
    drop(r);
    still
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryStreamManager;

    #[tokio::test]
    async fn the_in_memory_manager_keeps_the_contract() {
        check_stream_manager(Arc::new(InMemoryStreamManager::new())).await.unwrap();
        let short = InMemoryStreamManager::new().with_ttl(Duration::from_millis(20));
        check_ttl(&short, Duration::from_millis(100)).await.unwrap();
    }
}
