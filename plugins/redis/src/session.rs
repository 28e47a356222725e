//! [`RedisSessionStore`]: session snapshots in Redis hashes.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use genkit_ai::experimental::session::{
    SessionSnapshot, SessionStore, SnapshotMutator, SnapshotQuery, SnapshotWatch, reserve_snapshot_id,
    select_leaf_snapshot, versioned_watch,
};
use genkit_core::{ActionContext, Error, Result, Status};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::conn::{Listener, Redis, Wake, escape, redis_error};

/// The key prefix [`RedisSessionStore`] uses unless told otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "genkit:";

/// How often a watch re-reads its snapshot even without a message (a backstop for messages
/// lost while the subscription was reconnecting).
pub const DEFAULT_WATCH_BACKSTOP: Duration = Duration::from_secs(10);

/// How many times a save retries when another writer changed the snapshot between its read
/// and its write.
const MAX_ATTEMPTS: u32 = 1000;

type TenantFn = dyn Fn(&ActionContext) -> String + Send + Sync;

/// Writes a snapshot if its version is still the one read (`*`: unconditionally), indexes it
/// under its session and publishes the change. Returns the new version, or -1 on a conflict.
const SAVE_SCRIPT: &str = r"
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[1] ~= '*' and v ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', v + 1)
if #KEYS > 1 then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return v + 1
";

/// [`SAVE_SCRIPT`], hashed once.
static SAVE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(SAVE_SCRIPT));

/// A [`SessionStore`] in Redis, for agents served by several processes.
///
/// Keys (prefix `genkit:` by default; `<tenant>` is the tenant key, `''` without a key fn, with
/// `%` and `:` percent-encoded):
///
/// ```text
/// <prefix>snap:<tenant>:<snapshotId>     hash  json: the SessionSnapshot's JSON, version: 1, 2, ...
/// <prefix>session:<tenant>:<sessionId>   hash  <snapshotId> → [parentId or null, createdAt]
/// <prefix>snapshots                      pub/sub channel: {"tenant": …, "id": …} per save
/// ```
///
/// Guarantees: a save is an optimistic read-modify-write: it reads the snapshot and its
/// version, runs the mutator, then a Lua script writes only if the version is unchanged
/// (else the save reads again and retries, so the mutator may run more than once). Concurrent
/// saves of one snapshot from any number of processes therefore lose nothing. A session
/// lookup reads the session's index and picks the latest leaf with
/// [`select_leaf_snapshot`]. [`watch`](SessionStore::watch) subscribes to the channel (one
/// subscription per store) and re-reads the snapshot when it changes, yielding each new
/// version once. Keys do not expire: delete old sessions yourself if you need to.
///
/// ```no_run
/// use genkit_redis::RedisSessionStore;
/// # fn demo() -> genkit_core::Result<()> {
/// let store = RedisSessionStore::new("redis://127.0.0.1:6379/0")?
///     .tenant_key(|cx| cx.auth().and_then(|a| a["uid"].as_str()).unwrap_or_default().to_owned());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessionStore {
    redis: Redis,
    prefix: String,
    tenant: Option<Arc<TenantFn>>,
    reject_branching: bool,
    backstop: Duration,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    listener: OnceCell<Listener>,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("redis", &self.redis)
            .field("prefix", &self.prefix)
            .field("reject_branching_sessions", &self.reject_branching)
            .finish_non_exhaustive()
    }
}

/// The message a save publishes.
#[derive(Serialize, Deserialize)]
struct Changed<'a> {
    tenant: &'a str,
    id: &'a str,
}

impl RedisSessionStore {
    /// A store on the Redis server at `url` (`redis://[user:password@]host[:port][/db]`).
    /// Nothing is connected until first use.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed URL (not quoted back: it may hold a password).
    pub fn new(url: &str) -> Result<RedisSessionStore> {
        Ok(RedisSessionStore {
            redis: Redis::new(url)?,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            tenant: None,
            reject_branching: false,
            backstop: DEFAULT_WATCH_BACKSTOP,
            shared: Arc::default(),
        })
    }

    /// Starts every key (and the channel) with `prefix` instead of `genkit:`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.shared = Arc::default();
        self
    }

    /// Scopes every read and write to a tenant key derived from the calling action's context
    /// (e.g. the signed-in user), so tenants never see each other's snapshots.
    #[must_use]
    pub fn tenant_key(mut self, f: impl Fn(&ActionContext) -> String + Send + Sync + 'static) -> Self {
        self.tenant = Some(Arc::new(f));
        self
    }

    /// With `true`, a session lookup that finds a branched history fails with
    /// `FAILED_PRECONDITION` instead of returning the newest leaf. Default `false`, as in JS.
    #[must_use]
    pub fn reject_branching_sessions(mut self, yes: bool) -> Self {
        self.reject_branching = yes;
        self
    }

    /// How often a watch re-reads its snapshot without a message (default 10 s).
    #[must_use]
    pub fn watch_backstop(mut self, every: Duration) -> Self {
        self.backstop = every.max(Duration::from_millis(10));
        self
    }

    fn tenant(&self, cx: &ActionContext) -> String {
        self.tenant.as_ref().map(|f| f(cx)).unwrap_or_default()
    }

    fn snap_key(&self, tenant: &str, id: &str) -> String {
        format!("{}snap:{}:{id}", self.prefix, escape(tenant))
    }

    fn session_key(&self, tenant: &str, session_id: &str) -> String {
        format!("{}session:{}:{session_id}", self.prefix, escape(tenant))
    }

    fn channel(&self) -> String {
        format!("{}snapshots", self.prefix)
    }

    /// The snapshot and its version.
    async fn read(&self, tenant: &str, id: &str) -> Result<Option<(SessionSnapshot, i64)>> {
        let mut conn = self.redis.conn().await?;
        let (json, version): (Option<String>, Option<i64>) = redis::cmd("HMGET")
            .arg(self.snap_key(tenant, id))
            .arg("json")
            .arg("version")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        match json {
            Some(json) => Ok(Some((parse(id, &json)?, version.unwrap_or(0)))),
            None => Ok(None),
        }
    }

    async fn get(&self, query: &SnapshotQuery, cx: &ActionContext) -> Result<Option<SessionSnapshot>> {
        let tenant = self.tenant(cx);
        match query {
            SnapshotQuery::SnapshotId(id) => Ok(self.read(&tenant, id).await?.map(|(s, _)| s)),
            SnapshotQuery::SessionId(sid) => {
                let mut conn = self.redis.conn().await?;
                let index: Vec<(String, String)> = redis::cmd("HGETALL")
                    .arg(self.session_key(&tenant, sid))
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                let skeleton: Vec<SessionSnapshot> = index
                    .into_iter()
                    .filter_map(|(id, entry)| {
                        let (parent_id, created_at) = serde_json::from_str::<(Option<String>, String)>(&entry).ok()?;
                        Some(SessionSnapshot { snapshot_id: id, parent_id, created_at, ..SessionSnapshot::default() })
                    })
                    .collect();
                match select_leaf_snapshot(&skeleton, sid, self.reject_branching)? {
                    Some(leaf) => Ok(self.read(&tenant, &leaf.snapshot_id).await?.map(|(s, _)| s)),
                    None => Ok(None),
                }
            }
        }
    }

    async fn save(
        &self,
        snapshot_id: Option<&str>,
        mutator: &mut SnapshotMutator<'_>,
        cx: &ActionContext,
    ) -> Result<Option<String>> {
        let tenant = self.tenant(cx);
        let snapshot_id = snapshot_id.filter(|s| !s.is_empty());
        for attempt in 0..MAX_ATTEMPTS {
            let (current, expected) = match snapshot_id {
                Some(id) => match self.read(&tenant, id).await? {
                    Some((s, v)) => (Some(s), v.to_string()),
                    None => (None, "0".to_owned()),
                },
                None => (None, "*".to_owned()),
            };
            let Some(mut next) = mutator(current.as_ref()) else { return Ok(None) };
            let id = match snapshot_id {
                Some(id) => id.to_owned(),
                None if !next.snapshot_id.is_empty() => next.snapshot_id.clone(),
                None => reserve_snapshot_id()?,
            };
            next.snapshot_id.clone_from(&id);
            let json = serde_json::to_string(&next).map_err(Error::internal)?;
            let entry = serde_json::to_string(&(&next.parent_id, &next.created_at)).map_err(Error::internal)?;
            let message = serde_json::to_string(&Changed { tenant: &tenant, id: &id }).map_err(Error::internal)?;
            let mut invocation = SAVE.key(self.snap_key(&tenant, &id));
            if let Some(owner) = next.owner() {
                invocation.key(self.session_key(&tenant, owner));
            }
            invocation.arg(&expected).arg(&json).arg(&id).arg(&entry).arg(self.channel()).arg(&message);
            let mut conn = self.redis.conn().await?;
            let version: i64 = invocation.invoke_async(&mut conn).await.map_err(redis_error)?;
            if version >= 0 {
                return Ok(Some(id));
            }
            // Another writer got in first: back off a little (more with each loss, with
            // jitter so that the losers do not collide again) and read again.
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let jitter = u64::from(now.subsec_micros() % 1000);
            let ms = u64::from(attempt.min(20));
            tokio::time::sleep(Duration::from_micros(ms * 250 + jitter)).await;
        }
        Err(Error::new(
            Status::Aborted,
            format!("the snapshot was changed by other writers {MAX_ATTEMPTS} times while saving; try again"),
        ))
    }

    async fn watch_snapshot(&self, snapshot_id: &str, cx: &ActionContext) -> Result<SnapshotWatch> {
        let tenant = self.tenant(cx);
        let listener =
            self.shared.listener.get_or_try_init(|| Listener::start(self.redis.client.clone(), self.channel())).await?;
        // Subscribe first, then read the baseline: a save after the baseline read reaches a
        // receiver that already exists.
        let wakes = listener.subscribe();
        let last = self.read(&tenant, snapshot_id).await?.map_or(0, |(_, v)| v);
        let mine = serde_json::to_string(&Changed { tenant: &tenant, id: snapshot_id }).map_err(Error::internal)?;
        let (store, id, every) = (self.clone(), snapshot_id.to_owned(), self.backstop);
        Ok(versioned_watch(
            wakes,
            move |w| !matches!(w, Wake::Published(p) if *p != mine),
            every,
            last,
            move || {
                let (store, tenant, id) = (store.clone(), tenant.clone(), id.clone());
                async move { store.read(&tenant, &id).await }
            },
        ))
    }
}

fn parse(id: &str, json: &str) -> Result<SessionSnapshot> {
    serde_json::from_str(json).map_err(|e| {
        Error::new(Status::DataLoss, format!("the stored snapshot {id} is not a valid session snapshot: {e}"))
    })
}

impl SessionStore for RedisSessionStore {
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
        Box::pin(async move { self.watch_snapshot(snapshot_id, cx).await.map(Some) })
    }
}
