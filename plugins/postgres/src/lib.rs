//! PostgreSQL for Genkit for Rust: a session store for agents and a durable stream manager
//! for flow servers, so that several server processes can share sessions and streams.
//!
//! - [`PostgresSessionStore`] implements the experimental
//!   [`SessionStore`](genkit_ai::experimental::session::SessionStore): snapshots in one table,
//!   atomic read-modify-write, session lookups choosing the latest leaf in SQL, `watch` over
//!   `LISTEN`/`NOTIFY` (an abort saved by one process reaches the process running the turn).
//! - [`PostgresStreamManager`] implements genkit-server's
//!   [`StreamManager`](genkit_server::StreamManager): chunks in a table, `NOTIFY` for live
//!   subscribers, finished streams deleted after a time-to-live. A client that lost its
//!   connection resumes a stream (`x-genkit-stream-id`) on any server process.
//!
//! Tables are created on first use when missing; their schemas are documented on each type.
//! Tests run against a real server: `eval "$(scripts/lib/start-postgres.sh)"` starts one and
//! sets `GENKIT_TEST_POSTGRES_URL`.

mod listen;
mod session;
mod sql;
mod stream;

pub use session::{DEFAULT_SESSION_TABLE, DEFAULT_WATCH_BACKSTOP, PostgresSessionStore};
pub use stream::{DEFAULT_STREAM_TABLE, PostgresStreamManager};
