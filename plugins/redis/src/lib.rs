//! Redis for Genkit for Rust: a session store for agents and a durable stream manager for
//! flow servers, so that several server processes can share sessions and streams.
//!
//! - [`RedisSessionStore`] implements the experimental
//!   [`SessionStore`](genkit_ai::experimental::session::SessionStore): snapshots in hashes,
//!   optimistic read-modify-write checked by a Lua script, a per-session index for session
//!   lookups, `watch` over a pub/sub channel of its own (an abort saved by one process reaches
//!   the process running the turn).
//! - [`RedisStreamManager`] implements genkit-server's
//!   [`StreamManager`](genkit_server::StreamManager) with Redis Streams (`XADD`, `XREAD
//!   BLOCK`) and key expiry for the time-to-live.
//!
//! Key layouts are documented on each type. Tests run against a real server:
//! `eval "$(scripts/lib/start-redis.sh)"` starts one and sets `GENKIT_TEST_REDIS_URL`.

mod conn;
mod session;
mod stream;

pub use session::{DEFAULT_KEY_PREFIX, DEFAULT_WATCH_BACKSTOP, RedisSessionStore};
pub use stream::RedisStreamManager;
