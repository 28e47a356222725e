//! The ports of Genkit JS's `@genkit-ai/middleware` package: [`retry`], [`fallback`],
//! [`tool_approval`], [`filesystem`], [`skills`], the experimental [`agents`] and
//! [`artifacts`] and (feature `download-media`)
//! [`download_request_media`]. Each is a [`Middleware`](genkit_ai::middleware::Middleware)
//! with a registered definition (`retry_def()`, …) so `/util/generate`'s `use: [{name}]`
//! finds it; `genkit`'s builder registers [`builtin_defs`].
//!
//! ```
//! use genkit_middleware::{retry, RetryOptions};
//! let mw = retry(RetryOptions { max_retries: 2, ..Default::default() });
//! assert_eq!(mw.to_ref().name, "retry");
//! ```
#![deny(unsafe_code)]

mod agents;
mod artifacts;
#[cfg(feature = "download-media")]
mod download_media;
mod fallback;
mod filesystem;
mod retry;
mod skills;
mod tool_approval;

use genkit_ai::middleware::MiddlewareDef;
use genkit_ai::tool::as_interrupt;
use genkit_core::{Error, Status};

pub use agents::{AGENTS_METADATA_KEY, AgentRef, AgentsOptions, ArtifactStrategy, agents, agents_def};
pub use artifacts::{ARTIFACTS_METADATA_KEY, ArtifactsOptions, artifacts, artifacts_def};
#[cfg(feature = "download-media")]
pub use download_media::{
    DEFAULT_DOWNLOAD_MAX_BYTES, DEFAULT_DOWNLOAD_TIMEOUT, DownloadMediaOptions, download_request_media,
    download_request_media_def,
};
pub use fallback::{FallbackOptions, fallback, fallback_def};
pub use filesystem::{ACCESS_DENIED, FilesystemOptions, filesystem, filesystem_def};
pub use retry::{RetryOptions, retry, retry_def};
pub use skills::{SKILLS_METADATA_KEY, SkillsOptions, skills, skills_def};
pub use tool_approval::{ToolApprovalOptions, tool_approval, tool_approval_def};

/// Whether an error must never be retried or fall back: interrupts and cancellation.
fn never_retry(e: &Error) -> bool {
    as_interrupt(e).is_some() || e.status() == Status::Cancelled
}

/// The definitions registered by default (`retry`, `fallback`, `toolApproval`).
pub fn builtin_defs() -> Vec<MiddlewareDef> {
    vec![retry_def(), fallback_def(), tool_approval_def()]
}
