//! Shared test setup: llm-katan's echo server with its Vertex AI provider (a real Gemini API
//! HTTP server).

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The base URL (`http://127.0.0.1:PORT`) of a running llm-katan with the Gemini (vertexai) provider:
/// the one in `LLM_KATAN_GEMINI_URL`, else one started with `tests/start-llm-katan` for this
/// test process (stopped when the process exits). `None` only when `GENKIT_SKIP_LLM_KATAN=1`.
///
/// # Panics
/// When the server cannot be started and the opt-out is not set.
pub fn katan_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(start).clone()
}

fn start() -> Option<String> {
    if let Ok(u) = std::env::var("LLM_KATAN_GEMINI_URL")
        && !u.trim().is_empty()
    {
        return Some(u.trim().trim_end_matches('/').to_owned());
    }
    if std::env::var("GENKIT_SKIP_LLM_KATAN").is_ok_and(|v| v == "1") {
        eprintln!("GENKIT_SKIP_LLM_KATAN=1: skipping the llm-katan tests");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/start-llm-katan");
    let help = "Needs python3 with venv and access to PyPI (llm-katan==0.22.0), or set \
                LLM_KATAN_GEMINI_URL to a running `llm-katan --backend echo --providers vertexai`, \
                or set GENKIT_SKIP_LLM_KATAN=1 to skip these tests explicitly.";
    let mut child = Command::new("bash")
        .arg(script)
        .arg("--watch")
        .arg(std::process::id().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}. {help}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        if let Some(u) = line.strip_prefix("LLM_KATAN_URL=") {
            url = Some(u.to_owned());
            break;
        }
    }
    let Some(url) = url else {
        let status = child.wait().ok();
        panic!("llm-katan could not be started by {script} (exit {status:?}; its output is above). {help}");
    };
    // The script stays up while this process lives and stops the server when it exits.
    std::mem::forget(lines);
    std::mem::forget(child);
    Some(url)
}
