//! What both stores share: connection set-up, identifier rules, error mapping.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use genkit_core::{Error, Result, Status};
use tokio_postgres::NoTls;

/// Connection settings shared by [`PostgresSessionStore`](crate::PostgresSessionStore) and
/// [`PostgresStreamManager`](crate::PostgresStreamManager).
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) pool: Pool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration holds the password: show where, never how.
        f.debug_struct("Connection")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl Connection {
    /// A lazily connecting pool of at most `max_size` connections to `url` (a `postgres://`
    /// URL or a `key=value` connection string).
    pub(crate) fn new(url: &str, max_size: usize) -> Result<Connection> {
        // The parse error may quote the string, which may hold a password: keep it out.
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            Error::invalid_argument(
                "not a valid PostgreSQL connection string: expected postgres://user[:password]@host[:port]/dbname \
                 or key=value pairs",
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("genkit");
        }
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the PostgreSQL pool: {e}")))?;
        Ok(Connection { config, pool })
    }

    /// A pooled connection.
    pub(crate) async fn get(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg_error(e),
            e => Error::new(Status::Unavailable, format!("no PostgreSQL connection: {e}")),
        })
    }
}

/// A PostgreSQL error as a Genkit error: connection problems are `UNAVAILABLE` (worth a
/// retry), serialization failures and deadlocks `ABORTED`, the rest `INTERNAL` with the
/// server's message.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> Error {
    use tokio_postgres::error::SqlState;
    let status = match e.code() {
        None if e.is_closed() || e.as_db_error().is_none() => Status::Unavailable,
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
            Status::Aborted
        }
        Some(c) if c.code().starts_with("08") || c.code().starts_with("57P") => Status::Unavailable,
        _ => Status::Internal,
    };
    let message = match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {}: {}", db.code().code(), db.message()),
        None => format!("PostgreSQL: {e}"),
    };
    Error::new(status, message).with_source(e)
}

/// Checks a table name given by the app: one or two (`schema.table`) plain identifiers of
/// letters, digits and `_`, not starting with a digit, at most 63 bytes each.
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let parts: Vec<&str> = name.split('.').collect();
    let ok = parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 63
                && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !p.as_bytes()[0].is_ascii_digit()
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "invalid table name {name:?}: use letters, digits and '_' (optionally 'schema.table')"
        )))
    }
}

/// `name` (checked by [`check_table_name`]) quoted for SQL.
pub(crate) fn quote_table(name: &str) -> String {
    name.split('.').map(quote_ident).collect::<Vec<_>>().join(".")
}

/// One identifier, double-quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A name derived from a table name (an index, a notification channel), within PostgreSQL's
/// 63-byte identifier limit.
pub(crate) fn derived_name(table: &str, suffix: &str) -> String {
    let base: String = table.replace('.', "_").chars().take(63 - suffix.len()).collect();
    format!("{base}{suffix}")
}

/// Runs `ddl` once per process and database at a time: concurrent `CREATE ... IF NOT EXISTS`
/// can collide in PostgreSQL's catalogs, so the statements run under a transaction-scoped
/// advisory lock.
pub(crate) async fn create_schema(conn: &Connection, lock_key: &str, ddl: &str) -> Result<()> {
    let mut client = conn.get().await?;
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&lock_key]).await.map_err(pg_error)?;
    tx.batch_execute(ddl).await.map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)
}

/// PostgreSQL text cannot hold NUL characters: an id or key with one is the caller's mistake,
/// not a database failure.
pub(crate) fn check_text(value: &str, label: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid_argument(format!("{label} must not contain NUL characters")));
    }
    Ok(())
}
