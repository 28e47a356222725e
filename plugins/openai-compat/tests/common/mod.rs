//! Shared test setup: the llm-katan echo server (a real OpenAI-compatible HTTP server).

#![allow(dead_code, unreachable_pub)]

use std::sync::{Mutex, OnceLock};

/// The base URL (`http://127.0.0.1:PORT`, without `/v1`) of a running llm-katan: the one in
/// `LLM_KATAN_URL`, else one started with `tests/start-llm-katan` for this test process
/// (stopped when the process exits). `None` only when `GENKIT_SKIP_LLM_KATAN=1`.
///
/// # Panics
/// When the server cannot be started and the opt-out is not set.
pub fn katan_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(start).clone()
}

/// The base URL of an llm-katan of this test process started with extra command-line
/// arguments (its fault options, such as `--error-rate 1.0`), one server per distinct
/// argument list. `LLM_KATAN_URL` is not used: a shared server has no fault options.
///
/// # Panics
/// As [`katan_url`].
pub fn katan_with(args: &[&str]) -> Option<String> {
    static SERVERS: Mutex<Vec<(Vec<String>, Option<String>)>> = Mutex::new(Vec::new());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let mut servers = SERVERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, url)) = servers.iter().find(|(a, _)| *a == args) {
        return url.clone();
    }
    let url = spawn(&args);
    servers.push((args, url.clone()));
    url
}

fn start() -> Option<String> {
    // `LLM_KATAN_URL` may name the server with its `/v1` suffix.
    spawn(&[]).map(|u| u.trim_end_matches("/v1").to_owned())
}

fn spawn(extra: &[String]) -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/start-llm-katan");
    let help = "Needs python3 with venv and access to PyPI (llm-katan==0.22.0), or set LLM_KATAN_URL \
                to a running `llm-katan --backend echo --providers openai,azure_openai`, or set \
                GENKIT_SKIP_LLM_KATAN=1 to skip these tests explicitly.";
    genkit_core::testing::llm_katan(script, "LLM_KATAN_URL", extra, help).unwrap_or_else(|e| panic!("{e}"))
}
