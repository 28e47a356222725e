//! [`FileSessionStore`]: one JSON file per snapshot, in the layout Genkit JS's
//! `FileSessionStore` uses, so a directory can be shared with (or moved from) a JS app.
//!
//! Layout under the store's directory:
//!
//! ```text
//! <dir>/<prefix>/<snapshotId>.json            the snapshot, pretty-printed as JS writes it
//! <dir>/<prefix>/.pointers/<sessionId>.json   {"currentSnapshotId": …, "updatedAt": …}
//! <dir>/<prefix>/.locks/<snapshotId>.lock     lock files for updates in place (Rust only)
//! ```
//!
//! `<prefix>` is `global` unless a [`snapshot_path_prefix`](FileSessionStore::snapshot_path_prefix)
//! function derives it from the calling action's context (one directory per tenant).
//!
//! Guarantees: every file is replaced atomically and durably
//! ([`genkit_core::file::write_atomic`]), so readers never see a torn snapshot. An update of an
//! existing snapshot id (read-modify-write) holds an in-process lock per snapshot and an
//! exclusive advisory lock (`flock`) on its lock file, so concurrent updates from any number of
//! tasks and of processes using this store on one local file system lose nothing. Genkit JS
//! processes do not take the lock file (they serialize within their own process only), and
//! advisory locks may not work on network file systems. Lock files are empty and left in place
//! (removing one would race with a process about to lock it).

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use genkit_core::{ActionContext, Error, Result, Status};
use serde::{Deserialize, Serialize};

use super::store::{SnapshotMutator, SnapshotWatch, reserve_snapshot_id, select_leaf_snapshot};
use super::{SessionSnapshot, SessionStore, SnapshotQuery};

/// How often a [`watch`](SessionStore::watch) re-reads the watched file by default (JS
/// `DEFAULT_SNAPSHOT_WATCH_POLL_INTERVAL_MS`).
pub const DEFAULT_WATCH_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The largest snapshot or pointer file read by default: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

const DEFAULT_PREFIX: &str = "global";
const POINTERS_DIR: &str = ".pointers";
const LOCKS_DIR: &str = ".locks";

type PrefixFn = dyn Fn(&ActionContext) -> String + Send + Sync;

/// A [`SessionStore`] keeping each snapshot in a JSON file (JS `FileSessionStore`; see the
/// module docs for the layout and guarantees). Cheap to clone: clones share their locks.
///
/// ```no_run
/// use std::time::Duration;
/// use genkit_ai::experimental::session::FileSessionStore;
/// # fn demo() -> genkit_core::Result<()> {
/// let store = FileSessionStore::new("./sessions")?
///     .max_persisted_chain_length(20)
///     .watch_poll_interval(Duration::from_millis(500))
///     // One directory per signed-in user (a plain file name; see `snapshot_path_prefix`).
///     .snapshot_path_prefix(|cx| {
///         cx.auth().and_then(|a| a["uid"].as_str()).unwrap_or("anonymous").to_owned()
///     });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileSessionStore {
    dir: PathBuf,
    prefix: Option<Arc<PrefixFn>>,
    max_chain: Option<usize>,
    reject_branching: bool,
    poll_interval: Duration,
    max_file_bytes: u64,
    locks: Arc<Mutex<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>>,
    /// Bumped after every save through this store, so its own watchers re-read at once;
    /// saves by other processes are seen by polling.
    saved: Arc<tokio::sync::watch::Sender<u64>>,
}

impl fmt::Debug for FileSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSessionStore")
            .field("dir", &self.dir)
            .field("max_persisted_chain_length", &self.max_chain)
            .field("reject_branching_sessions", &self.reject_branching)
            .field("watch_poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl FileSessionStore {
    /// A store in `dir`, created (with its parents) if missing. Relative paths are resolved
    /// against the current directory now, as JS does.
    ///
    /// # Errors
    /// `INTERNAL` when the directory cannot be created or resolved.
    pub fn new(dir: impl AsRef<Path>) -> Result<FileSessionStore> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let dir = std::path::absolute(dir).map_err(io_error(dir))?;
        Ok(FileSessionStore {
            dir,
            prefix: None,
            max_chain: None,
            reject_branching: false,
            poll_interval: DEFAULT_WATCH_POLL_INTERVAL,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            locks: Arc::default(),
            saved: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// The directory the store was created in (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps at most `n` snapshots of a chain: after each save, the ancestors beyond the `n`
    /// newest (following `parentId`) are deleted. `0` keeps everything (the default).
    #[must_use]
    pub fn max_persisted_chain_length(mut self, n: usize) -> Self {
        self.max_chain = (n > 0).then_some(n);
        self
    }

    /// Derives the sub-directory every read and write of a call goes to from the calling
    /// action's context (e.g. the signed-in user), so tenants never see each other's
    /// snapshots. It must return a plain file name (no separators, not `.` or `..`); calls for
    /// which it does not fail with `INVALID_ARGUMENT`. Default: `global` for every call.
    #[must_use]
    pub fn snapshot_path_prefix(mut self, f: impl Fn(&ActionContext) -> String + Send + Sync + 'static) -> Self {
        self.prefix = Some(Arc::new(f));
        self
    }

    /// With `true`, a session lookup that finds a branched history fails with
    /// `FAILED_PRECONDITION` instead of returning the newest leaf (and always scans, since the
    /// pointer file cannot show branches). Default `false`, as in JS.
    #[must_use]
    pub fn reject_branching_sessions(mut self, yes: bool) -> Self {
        self.reject_branching = yes;
        self
    }

    /// How often a watch re-reads its file to notice saves made by other processes (saves
    /// through this store wake its watchers at once). Default 2 s.
    #[must_use]
    pub fn watch_poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every.max(Duration::from_millis(1));
        self
    }

    /// The largest snapshot file the store reads (default [`DEFAULT_MAX_FILE_BYTES`]); a larger
    /// one is an error rather than an unbounded read.
    #[must_use]
    pub fn max_file_bytes(mut self, n: u64) -> Self {
        self.max_file_bytes = n;
        self
    }

    fn prefix_dir(&self, cx: &ActionContext) -> Result<PathBuf> {
        let prefix = self.prefix.as_ref().map_or_else(|| DEFAULT_PREFIX.to_owned(), |f| f(cx));
        assert_safe_name(&prefix, "snapshot path prefix")?;
        Ok(self.dir.join(prefix))
    }

    fn lock_for(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = lock_map(&self.locks);
        if let Some(l) = locks.get(path).and_then(Weak::upgrade) {
            return l;
        }
        locks.retain(|_, w| w.strong_count() > 0);
        let l = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(path.to_owned(), Arc::downgrade(&l));
        l
    }

    fn files(&self, cx: &ActionContext) -> Result<Files> {
        Ok(Files { dir: self.prefix_dir(cx)?, max_bytes: self.max_file_bytes })
    }

    async fn get(&self, query: &SnapshotQuery, cx: &ActionContext) -> Result<Option<SessionSnapshot>> {
        let files = self.files(cx)?;
        match query {
            SnapshotQuery::SnapshotId(id) => {
                assert_safe_name(id, "snapshotId")?;
                let id = id.clone();
                blocking(move || files.read_snapshot(&id)).await
            }
            SnapshotQuery::SessionId(sid) => {
                assert_safe_name(sid, "sessionId")?;
                let (sid, reject) = (sid.clone(), self.reject_branching);
                blocking(move || files.latest_of_session(&sid, reject)).await
            }
        }
    }

    async fn save(
        &self,
        snapshot_id: Option<&str>,
        mutator: &mut SnapshotMutator<'_>,
        cx: &ActionContext,
    ) -> Result<Option<String>> {
        let files = self.files(cx)?;
        let snapshot_id = snapshot_id.filter(|s| !s.is_empty());
        // An update in place: serialize it with every other update of this file, in this
        // process (async lock) and across processes (lock file).
        let (_local, _file_lock, current) = match snapshot_id {
            Some(id) => {
                assert_safe_name(id, "snapshotId")?;
                let local = self.lock_for(&files.snapshot_path(id)).lock_owned().await;
                let (files, id) = (files.clone(), id.to_owned());
                let (lock, current) = blocking(move || {
                    let lock = files.lock_file(&id)?;
                    Ok((lock, files.read_snapshot(&id)?))
                })
                .await?;
                (Some(local), Some(lock), current)
            }
            None => (None, None, None),
        };
        let existed = current.is_some();
        let Some(mut next) = mutator(current.as_ref()) else { return Ok(None) };
        let id = match snapshot_id {
            Some(id) => id.to_owned(),
            None if !next.snapshot_id.is_empty() => next.snapshot_id.clone(),
            None => reserve_snapshot_id()?,
        };
        assert_safe_name(&id, "snapshotId")?;
        next.snapshot_id.clone_from(&id);
        let max_chain = self.max_chain;
        blocking(move || files.write_snapshot(&next, existed, max_chain)).await?;
        self.saved.send_modify(|n| *n = n.wrapping_add(1));
        Ok(Some(id))
    }

    async fn watch_file(&self, snapshot_id: &str, cx: &ActionContext) -> Result<SnapshotWatch> {
        assert_safe_name(snapshot_id, "snapshotId")?;
        let files = self.files(cx)?;
        let path = files.snapshot_path(snapshot_id);
        // What is stored now is the baseline: the watch yields later saves only.
        let mut last = {
            let (files, path) = (files.clone(), path.clone());
            blocking(move || Ok(files.read_bytes(&path).ok().flatten())).await?
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<SessionSnapshot>();
        let mut saved = self.saved.subscribe();
        let every = self.poll_interval;
        tokio::spawn(async move {
            // Once every handle of the store is gone, only polling is left.
            let mut local_saves = true;
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    changed = saved.changed(), if local_saves => local_saves = changed.is_ok(),
                    () = tokio::time::sleep(every) => {}
                }
                let (f, p) = (files.clone(), path.clone());
                // Missing, unreadable or half-parsed files are skipped: the next round re-reads.
                let Ok(Ok(Some(bytes))) = tokio::task::spawn_blocking(move || f.read_bytes(&p)).await else {
                    continue;
                };
                if last.as_ref() == Some(&bytes) {
                    continue;
                }
                let Ok(snapshot) = serde_json::from_slice::<SessionSnapshot>(&bytes) else { continue };
                last = Some(bytes);
                if tx.send(snapshot).is_err() {
                    return;
                }
            }
        });
        let updates = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Box::pin(updates))
    }
}

impl SessionStore for FileSessionStore {
    fn get_snapshot<'a>(
        &'a self,
        query: &'a SnapshotQuery,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SessionSnapshot>>> {
        Box::pin(self.get(query, cx))
    }

    fn save_snapshot<'a>(
        &'a self,
        snapshot_id: Option<&'a str>,
        mutator: &'a mut SnapshotMutator<'_>,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(self.save(snapshot_id, mutator, cx))
    }

    fn watch<'a>(
        &'a self,
        snapshot_id: &'a str,
        cx: &'a ActionContext,
    ) -> BoxFuture<'a, Result<Option<SnapshotWatch>>> {
        Box::pin(async move { self.watch_file(snapshot_id, cx).await.map(Some) })
    }
}

/// The pointer file of a session (JS `PointerDoc`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pointer {
    current_snapshot_id: String,
    updated_at: String,
}

/// The blocking file operations of one prefix directory.
#[derive(Clone)]
struct Files {
    dir: PathBuf,
    max_bytes: u64,
}

impl Files {
    fn snapshot_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn pointer_path(&self, session_id: &str) -> PathBuf {
        self.dir.join(POINTERS_DIR).join(format!("{session_id}.json"))
    }

    /// The file's bytes, `None` when it does not exist.
    fn read_bytes(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path)(e)),
        };
        let mut bytes = Vec::new();
        file.take(self.max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(io_error(path))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(Error::new(
                Status::ResourceExhausted,
                format!(
                    "{} is larger than the store's limit of {} bytes; raise it with max_file_bytes.",
                    path.display(),
                    self.max_bytes
                ),
            ));
        }
        Ok(Some(bytes))
    }

    fn read_snapshot(&self, id: &str) -> Result<Option<SessionSnapshot>> {
        let path = self.snapshot_path(id);
        let Some(bytes) = self.read_bytes(&path)? else { return Ok(None) };
        parse_snapshot(&path, &bytes).map(Some)
    }

    fn lock_file(&self, id: &str) -> Result<File> {
        let dir = self.dir.join(LOCKS_DIR);
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let path = dir.join(format!("{id}.lock"));
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        Ok(file)
    }

    fn write_snapshot(&self, snapshot: &SessionSnapshot, existed: bool, max_chain: Option<usize>) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let path = self.snapshot_path(&snapshot.snapshot_id);
        let json = serde_json::to_string_pretty(snapshot).map_err(Error::internal)?;
        genkit_core::file::write_atomic(&path, json.as_bytes()).map_err(io_error(&path))?;
        if let Some(sid) = snapshot.owner()
            && !existed
            && assert_safe_name(sid, "sessionId").is_ok()
        {
            self.write_pointer(sid, &snapshot.snapshot_id);
        }
        if let Some(max) = max_chain {
            self.prune_chain(snapshot, max)?;
        }
        Ok(())
    }

    /// Best effort, as in JS: the pointer only speeds up session lookups, which fall back to
    /// a scan without it.
    fn write_pointer(&self, session_id: &str, snapshot_id: &str) {
        let path = self.pointer_path(session_id);
        let pointer = Pointer { current_snapshot_id: snapshot_id.to_owned(), updated_at: genkit_core::time::now_iso() };
        let written = fs::create_dir_all(self.dir.join(POINTERS_DIR))
            .and_then(|()| serde_json::to_string_pretty(&pointer).map_err(std::io::Error::other))
            .and_then(|json| genkit_core::file::write_atomic(&path, json.as_bytes()));
        if let Err(e) = written {
            tracing::debug!(path = %path.display(), error = %e, "could not write a session pointer file");
        }
    }

    fn read_pointer(&self, session_id: &str) -> Option<Pointer> {
        let bytes = self.read_bytes(&self.pointer_path(session_id)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn latest_of_session(&self, session_id: &str, reject_branching: bool) -> Result<Option<SessionSnapshot>> {
        if !reject_branching
            && let Some(pointer) = self.read_pointer(session_id)
            && assert_safe_name(&pointer.current_snapshot_id, "snapshotId").is_ok()
            && let Ok(Some(snap)) = self.read_snapshot(&pointer.current_snapshot_id)
            && snap.owner() == Some(session_id)
        {
            return Ok(Some(snap));
        }
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&self.dir)(e)),
        };
        let mut owned = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error(&self.dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else { continue };
            if let Some(snap) = self.read_snapshot(id)?
                && snap.owner() == Some(session_id)
            {
                owned.push(snap);
            }
        }
        let Some(leaf) = select_leaf_snapshot(&owned, session_id, reject_branching)?.cloned() else {
            return Ok(None);
        };
        self.write_pointer(session_id, &leaf.snapshot_id);
        Ok(Some(leaf))
    }

    fn prune_chain(&self, newest: &SessionSnapshot, max: usize) -> Result<()> {
        let mut chain = vec![newest.snapshot_id.clone()];
        let mut parent = newest.parent_id.clone();
        while let Some(id) = parent.take() {
            // A parent id that is not a plain name cannot be a file of this store: stop there.
            if assert_safe_name(&id, "snapshotId").is_err() || chain.contains(&id) {
                break;
            }
            let Some(snap) = self.read_snapshot(&id)? else { break };
            chain.push(id);
            parent = snap.parent_id;
        }
        for id in chain.iter().skip(max) {
            let path = self.snapshot_path(id);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        Ok(())
    }
}

fn parse_snapshot(path: &Path, bytes: &[u8]) -> Result<SessionSnapshot> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::new(Status::DataLoss, format!("{} is not a valid session snapshot: {e}", path.display())).with_source(e)
    })
}

/// Checks that `id` can name a file of the store: a plain file name, no path separators, not
/// `.` or `..` (JS `assertSafeId`).
fn assert_safe_name(id: &str, label: &str) -> Result<()> {
    let plain = !id.is_empty()
        && id != "."
        && id != ".."
        && !id.contains(['/', '\\', '\0'])
        && Path::new(id).file_name().is_some_and(|n| n == id);
    if plain {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "Invalid {label}: \"{id}\". A {label} must be a plain file name (no path separators or \"..\")."
        )))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::new(Status::Internal, format!("session store file {}: {e}", path.display())).with_source(e)
}

fn lock_map<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of the map is a single insert or retain: a poisoned lock is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("session store file task failed: {e}")))?
}

#[cfg(test)]
mod tests;
