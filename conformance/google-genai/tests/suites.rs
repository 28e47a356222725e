//! The suite files of this directory pass the entry program's dry run (no server, no key),
//! live and offline; a broken suite does not. The offline run itself is
//! `scripts/test-model-conformance google-genai --offline` (CI).

use std::path::Path;
use std::process::Command;

const ENTRY: &str = env!("CARGO_BIN_EXE_conformance-google-genai");

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_suites_pass_the_dry_run() {
    for suite in ["model-conformance.yaml", "model-conformance.offline.yaml"] {
        let o = Command::new(ENTRY)
            .env("GEMINI_API_KEY", "k")
            .env("GOOGLE_GENAI_BASE_URL", "http://127.0.0.1:9")
            .arg("--dry-run")
            .arg(dir().join(suite))
            .output()
            .unwrap();
        assert!(o.status.success(), "{suite}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn a_broken_suite_fails_the_dry_run() {
    let bad = std::env::temp_dir().join(format!("google-genai-bad-suite-{}.yaml", std::process::id()));
    std::fs::write(&bad, "- model: googleai/no-such-model\n  supports: [tool-request]\n").unwrap();
    let o = Command::new(ENTRY).arg("--dry-run").arg(&bad).output().unwrap();
    std::fs::remove_file(&bad).ok();
    assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn list_models_needs_no_key_and_shows_both_backends() {
    let o = Command::new(ENTRY).env_remove("GEMINI_API_KEY").arg("--list-models").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for m in ["googleai/gemini-2.5-flash", "googleai/gemini-2.5-pro", "vertexai/gemini-2.5-flash"] {
        assert!(out.lines().any(|l| l == m), "{m} missing from:\n{out}");
    }
}

#[test]
fn outside_dev_mode_the_runtime_says_how_to_run_it() {
    let o = Command::new(ENTRY).env_remove("GENKIT_ENV").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("dev:test-model"));
}
