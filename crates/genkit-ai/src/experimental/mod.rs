//! **Experimental**: sessions, snapshot stores and agents, as in Genkit 1.42's beta agents API
//! (JS `genkit/beta`; Go, Python and Dart mark theirs experimental too). Names and shapes here
//! may change in a minor release; everything else in the crate follows semver.
//!
//! - [`session`]: the state a conversation keeps between turns ([`session::SessionState`]),
//!   the live [`session::Session`] a turn mutates, snapshots of it
//!   ([`session::SessionSnapshot`]) and the [`session::SessionStore`] trait that persists
//!   them, with an in-memory store.
//! - [`agent`]: agents served as bidi actions, with their wire types.
//! - [`chat`]: sessions with app state and named chat threads, and chats on them (the beta
//!   `createSession`/`chat` API), on the same session state model.

pub mod agent;
pub mod chat;
pub mod session;
