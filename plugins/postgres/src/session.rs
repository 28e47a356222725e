//! [`PostgresSessionStore`]: session snapshots in one PostgreSQL table.

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

use crate::listen::{Listener, Wake};
use crate::sql::{
    Connection, check_table_name, check_text, create_schema, derived_name, pg_error, quote_ident, quote_table,
};

/// The table [`PostgresSessionStore`] uses unless told otherwise.
pub const DEFAULT_SESSION_TABLE: &str = "genkit_session_snapshots";

/// How often a watch re-reads its snapshot even without a notification (a backstop for
/// notifications lost while the `LISTEN` connection was reconnecting).
pub const DEFAULT_WATCH_BACKSTOP: Duration = Duration::from_secs(10);

type TenantFn = dyn Fn(&ActionContext) -> String + Send + Sync;

/// A [`SessionStore`] in PostgreSQL, for agents served by several processes.
///
/// Schema (created on first use when missing; `genkit_session_snapshots` by default):
///
/// ```sql
/// CREATE TABLE genkit_session_snapshots (
///   tenant      TEXT NOT NULL,          -- the tenant key of the call ('' without a key fn)
///   snapshot_id TEXT NOT NULL,
///   session_id  TEXT,                   -- sessionId, else state.sessionId
///   parent_id   TEXT,
///   created_at  TEXT NOT NULL,          -- the snapshot's ISO createdAt
///   version     BIGINT NOT NULL,        -- 1 on insert, +1 per update
///   updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
///   snapshot    JSON NOT NULL,          -- the SessionSnapshot as Genkit JSON (key order kept)
///   PRIMARY KEY (tenant, snapshot_id)
/// );
/// CREATE INDEX genkit_session_snapshots_session ON genkit_session_snapshots (tenant, session_id, parent_id);
/// ```
///
/// Guarantees: a save is one transaction holding a transaction-scoped advisory lock on
/// (table, tenant, snapshot id) and the row `FOR UPDATE`, so concurrent read-modify-writes
/// of one snapshot from any number of processes are serialized and lose nothing. A session
/// lookup selects the newest leaf in SQL (a snapshot no other snapshot of the session names
/// as parent). Every save sends `NOTIFY <table>_changes` (payload: tenant and snapshot id)
/// on commit; [`watch`](SessionStore::watch) listens on one connection per store and re-reads
/// the snapshot when notified, yielding each new version once.
///
/// Connections are plain TCP (no TLS): use it on a private network, a Unix socket
/// (`host=/run/postgresql`) or through a TLS-terminating proxy.
///
/// ```no_run
/// use genkit_postgres::PostgresSessionStore;
/// # fn demo() -> genkit_core::Result<()> {
/// let store = PostgresSessionStore::new("postgres://app:secret@127.0.0.1/app")?
///     .tenant_key(|cx| cx.auth().and_then(|a| a["uid"].as_str()).unwrap_or_default().to_owned());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresSessionStore {
    conn: Connection,
    table: String,
    tenant: Option<Arc<TenantFn>>,
    reject_branching: bool,
    backstop: Duration,
    shared: Arc<Shared>,
}

/// What clones share: the schema check and the `LISTEN` connection.
#[derive(Default)]
struct Shared {
    schema: OnceCell<()>,
    listener: OnceCell<Listener>,
}

impl std::fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSessionStore")
            .field("connection", &self.conn)
            .field("table", &self.table)
            .field("reject_branching_sessions", &self.reject_branching)
            .finish_non_exhaustive()
    }
}

/// The `NOTIFY` payload of a save.
#[derive(Serialize, Deserialize)]
struct Changed {
    tenant: String,
    id: String,
}

impl PostgresSessionStore {
    /// A store on the database at `url` (`postgres://user:password@host:port/dbname` or a
    /// `key=value` string), with a pool of up to 16 connections. Nothing is connected until
    /// first use; the table is created then if missing.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed connection string (not quoted back: it may hold a
    /// password).
    pub fn new(url: &str) -> Result<PostgresSessionStore> {
        Ok(PostgresSessionStore {
            conn: Connection::new(url, 16)?,
            table: DEFAULT_SESSION_TABLE.to_owned(),
            tenant: None,
            reject_branching: false,
            backstop: DEFAULT_WATCH_BACKSTOP,
            shared: Arc::default(),
        })
    }

    /// Uses `table` (a plain identifier, or `schema.table`) instead of
    /// `genkit_session_snapshots`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a name that is not a plain identifier.
    pub fn table(mut self, table: &str) -> Result<Self> {
        check_table_name(table)?;
        self.table = table.to_owned();
        self.shared = Arc::default();
        Ok(self)
    }

    /// Scopes every read and write to a tenant key derived from the calling action's context
    /// (e.g. the signed-in user), so tenants never see each other's snapshots. Default: one
    /// tenant, `''`.
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

    /// How often a watch re-reads its snapshot without a notification (default 10 s).
    #[must_use]
    pub fn watch_backstop(mut self, every: Duration) -> Self {
        self.backstop = every.max(Duration::from_millis(10));
        self
    }

    /// Sets the most connections the store's pool opens (default 16); watches use one more.
    #[must_use]
    pub fn max_connections(self, n: usize) -> Self {
        self.conn.pool.resize(n.max(1));
        self
    }

    /// Creates the table and index if they are missing (done on first use anyway).
    ///
    /// # Errors
    /// The database's.
    pub async fn create_schema(&self) -> Result<()> {
        let i = self;
        i.shared
            .schema
            .get_or_try_init(|| async {
                let t = quote_table(&i.table);
                let idx = quote_ident(&derived_name(&i.table, "_session"));
                let ddl = format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                       tenant TEXT NOT NULL,
                       snapshot_id TEXT NOT NULL,
                       session_id TEXT,
                       parent_id TEXT,
                       created_at TEXT NOT NULL,
                       version BIGINT NOT NULL,
                       updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                       snapshot JSON NOT NULL,
                       PRIMARY KEY (tenant, snapshot_id));
                     CREATE INDEX IF NOT EXISTS {idx} ON {t} (tenant, session_id, parent_id);"
                );
                create_schema(&i.conn, &format!("genkit:{}", i.table), &ddl).await
            })
            .await
            .map(|_| ())
    }

    fn tenant(&self, cx: &ActionContext) -> String {
        self.tenant.as_ref().map(|f| f(cx)).unwrap_or_default()
    }

    fn channel(&self) -> String {
        derived_name(&self.table, "_changes")
    }

    async fn get(&self, query: &SnapshotQuery, cx: &ActionContext) -> Result<Option<SessionSnapshot>> {
        let tenant = self.tenant(cx);
        check_text(&tenant, "the tenant key")?;
        match query {
            SnapshotQuery::SnapshotId(id) => check_text(id, "snapshotId")?,
            SnapshotQuery::SessionId(id) => check_text(id, "sessionId")?,
        }
        self.create_schema().await?;
        match query {
            SnapshotQuery::SnapshotId(id) => Ok(self.read(&tenant, id).await?.map(|(s, _)| s)),
            SnapshotQuery::SessionId(sid) => self.latest_of_session(&tenant, sid).await,
        }
    }

    /// The snapshot and its version.
    async fn read(&self, tenant: &str, id: &str) -> Result<Option<(SessionSnapshot, i64)>> {
        let t = quote_table(&self.table);
        let client = self.conn.get().await?;
        let sql = format!("SELECT snapshot::text, version FROM {t} WHERE tenant = $1 AND snapshot_id = $2");
        let stmt = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let row = client.query_opt(&stmt, &[&tenant, &id]).await.map_err(pg_error)?;
        row.map(|r| Ok((parse(id, r.get::<_, &str>(0))?, r.get::<_, i64>(1)))).transpose()
    }

    async fn latest_of_session(&self, tenant: &str, session_id: &str) -> Result<Option<SessionSnapshot>> {
        let t = quote_table(&self.table);
        let client = self.conn.get().await?;
        let sql = format!(
            "SELECT s.snapshot_id, s.snapshot::text, count(*) OVER () FROM {t} s
             WHERE s.tenant = $1 AND s.session_id = $2
               AND NOT EXISTS (SELECT 1 FROM {t} c
                               WHERE c.tenant = s.tenant AND c.session_id = s.session_id
                                 AND c.parent_id = s.snapshot_id)
             ORDER BY s.created_at COLLATE \"C\" DESC, s.snapshot_id COLLATE \"C\"
             LIMIT 1"
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_error)?;
        let row = client.query_opt(&stmt, &[&tenant, &session_id]).await.map_err(pg_error)?;
        let leaves = row.as_ref().map_or(0, |r| r.get::<_, i64>(2));
        if let Some(r) = row.filter(|_| leaves == 1 || !self.reject_branching) {
            return parse(r.get::<_, &str>(0), r.get::<_, &str>(1)).map(Some);
        }
        // No leaf, or branching refused: let `select_leaf_snapshot` say what is wrong (or
        // find that the session has no snapshot at all), from the tree's skeleton.
        let sql = format!("SELECT snapshot_id, parent_id, created_at FROM {t} WHERE tenant = $1 AND session_id = $2");
        let rows = client.query(&sql, &[&tenant, &session_id]).await.map_err(pg_error)?;
        let skeleton: Vec<SessionSnapshot> = rows
            .iter()
            .map(|r| SessionSnapshot {
                snapshot_id: r.get(0),
                parent_id: r.get(1),
                created_at: r.get(2),
                ..SessionSnapshot::default()
            })
            .collect();
        match select_leaf_snapshot(&skeleton, session_id, self.reject_branching)? {
            None => Ok(None),
            // The tree changed between the two queries: read the leaf found now.
            Some(leaf) => Ok(self.read(tenant, &leaf.snapshot_id).await?.map(|(s, _)| s)),
        }
    }

    async fn save(
        &self,
        snapshot_id: Option<&str>,
        mutator: &mut SnapshotMutator<'_>,
        cx: &ActionContext,
    ) -> Result<Option<String>> {
        let tenant = self.tenant(cx);
        check_text(&tenant, "the tenant key")?;
        let snapshot_id = snapshot_id.filter(|s| !s.is_empty());
        if let Some(id) = snapshot_id {
            check_text(id, "snapshotId")?;
        }
        self.create_schema().await?;
        let t = quote_table(&self.table);
        let mut client = self.conn.get().await?;
        let tx = client.transaction().await.map_err(pg_error)?;
        let current = match snapshot_id {
            Some(id) => {
                // The advisory lock also serializes the first writes of an id not stored yet,
                // which `FOR UPDATE` (no row to lock) would not.
                let key = format!("{}|{tenant}|{id}", self.table);
                tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await.map_err(pg_error)?;
                let sql = format!("SELECT snapshot::text FROM {t} WHERE tenant = $1 AND snapshot_id = $2 FOR UPDATE");
                let stmt = tx.prepare_cached(&sql).await.map_err(pg_error)?;
                let row = tx.query_opt(&stmt, &[&tenant, &id]).await.map_err(pg_error)?;
                row.map(|r| parse(id, r.get::<_, &str>(0))).transpose()?
            }
            None => None,
        };
        let Some(mut next) = mutator(current.as_ref()) else {
            tx.rollback().await.map_err(pg_error)?;
            return Ok(None);
        };
        let id = match snapshot_id {
            Some(id) => id.to_owned(),
            None if !next.snapshot_id.is_empty() => next.snapshot_id.clone(),
            None => reserve_snapshot_id()?,
        };
        next.snapshot_id.clone_from(&id);
        check_text(&id, "snapshotId")?;
        for text in [next.owner(), next.parent_id.as_deref(), Some(next.created_at.as_str())].into_iter().flatten() {
            check_text(text, "a snapshot's sessionId, parentId or createdAt")?;
        }
        let json = serde_json::to_string(&next).map_err(Error::internal)?;
        let sql = format!(
            "INSERT INTO {t} AS t (tenant, snapshot_id, session_id, parent_id, created_at, version, snapshot)
             VALUES ($1, $2, $3, $4, $5, 1, $6::text::json)
             ON CONFLICT (tenant, snapshot_id) DO UPDATE SET
               session_id = EXCLUDED.session_id, parent_id = EXCLUDED.parent_id,
               created_at = EXCLUDED.created_at, snapshot = EXCLUDED.snapshot,
               version = t.version + 1, updated_at = now()"
        );
        let stmt = tx.prepare_cached(&sql).await.map_err(pg_error)?;
        tx.execute(&stmt, &[&tenant, &id, &next.owner(), &next.parent_id, &next.created_at, &json])
            .await
            .map_err(pg_error)?;
        let payload = serde_json::to_string(&Changed { tenant, id: id.clone() }).map_err(Error::internal)?;
        tx.execute("SELECT pg_notify($1, $2)", &[&self.channel(), &payload]).await.map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(id))
    }

    async fn listener(&self) -> Result<&Listener> {
        self.shared.listener.get_or_try_init(|| Listener::start(self.conn.config.clone(), self.channel())).await
    }

    async fn watch_snapshot(&self, snapshot_id: &str, cx: &ActionContext) -> Result<SnapshotWatch> {
        let tenant = self.tenant(cx);
        check_text(&tenant, "the tenant key")?;
        check_text(snapshot_id, "snapshotId")?;
        self.create_schema().await?;
        // Listen first, then read the baseline: a save committed after the baseline read
        // notifies a receiver that already exists.
        let wakes = self.listener().await?.subscribe();
        let last = self.read(&tenant, snapshot_id).await?.map_or(0, |(_, v)| v);
        let store = self.clone();
        let (id, every) = (snapshot_id.to_owned(), self.backstop);
        let mine =
            serde_json::to_string(&Changed { tenant: tenant.clone(), id: id.clone() }).map_err(Error::internal)?;
        Ok(versioned_watch(
            wakes,
            move |w| !matches!(w, Wake::Notified(p) if *p != mine),
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

impl SessionStore for PostgresSessionStore {
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
