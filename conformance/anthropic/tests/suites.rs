//! The suite files of this directory pass the entry program's dry run (no server, no key),
//! live and offline; a broken suite does not. The offline run itself is
//! `scripts/test-model-conformance anthropic --offline` (CI).

use std::path::Path;
use std::process::Command;

const ENTRY: &str = env!("CARGO_BIN_EXE_conformance-anthropic");

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_suites_pass_the_dry_run() {
    for suite in ["model-conformance.yaml", "model-conformance.offline.yaml"] {
        let o = Command::new(ENTRY)
            .env("ANTHROPIC_API_KEY", "k")
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
            .arg("--dry-run")
            .arg(dir().join(suite))
            .output()
            .unwrap();
        assert!(o.status.success(), "{suite}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn list_models_needs_no_key() {
    let o = Command::new(ENTRY).env_remove("ANTHROPIC_API_KEY").arg("--list-models").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for m in ["anthropic/claude-sonnet-4", "anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-5"] {
        assert!(out.lines().any(|l| l == m), "{m} missing from:\n{out}");
    }
}

#[test]
fn outside_dev_mode_the_runtime_says_how_to_run_it() {
    let o = Command::new(ENTRY).env_remove("GENKIT_ENV").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("dev:test-model"));
}
