//! Shared test setup: llm-katan's echo server with its Vertex AI provider (a real Gemini API
//! HTTP server).

#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

/// The base URL (`http://127.0.0.1:PORT`) of a running llm-katan for these tests: the one in
/// `LLM_KATAN_GEMINI_URL`, else one started with `tests/start-llm-katan` for this test process (stopped
/// when the process exits). `None` only when `GENKIT_SKIP_LLM_KATAN=1`.
///
/// # Panics
/// When the server cannot be started and the opt-out is not set.
pub fn katan_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/start-llm-katan");
        let help = "Needs python3 with venv and access to PyPI (llm-katan==0.22.0), or set \
                LLM_KATAN_GEMINI_URL to a running `llm-katan --backend echo --providers vertexai`, \
                or set GENKIT_SKIP_LLM_KATAN=1 to skip these tests explicitly.";
        genkit_core::testing::llm_katan(script, "LLM_KATAN_GEMINI_URL", &[], help).unwrap_or_else(|e| panic!("{e}"))
    })
    .clone()
}
