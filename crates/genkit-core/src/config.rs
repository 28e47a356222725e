//! Runtime environment: `GENKIT_ENV` and friends.

/// The environment name from `GENKIT_ENV` (default `prod`).
///
/// ```
/// let env = genkit_core::current_env();
/// assert!(!env.is_empty());
/// ```
pub fn current_env() -> String {
    std::env::var("GENKIT_ENV").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "prod".to_owned())
}

/// Whether `GENKIT_ENV=dev` (the Genkit CLI sets it; enables the reflection server).
pub fn is_dev_env() -> bool {
    current_env() == "dev"
}

/// The client header Genkit for Rust identifies itself with (appended to provider requests,
/// like JS `genkit-node/<ver> gl-node/<ver>`).
pub fn client_header() -> String {
    format!("genkit-rust/{} gl-rust/unknown", env!("CARGO_PKG_VERSION"))
}
