//! The suite files of this directory pass the entry program's dry run (no server, no key),
//! live and offline; a broken suite does not. The offline run itself is
//! `scripts/test-model-conformance openai-compat --offline` (CI).

use std::path::Path;
use std::process::Command;

const ENTRY: &str = env!("CARGO_BIN_EXE_conformance-openai-compat");

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The offline configuration of `offline.env`, with a placeholder server (nothing is called).
fn offline(cmd: &mut Command) -> &mut Command {
    let url = "http://127.0.0.1:9";
    cmd.env("OPENAI_API_KEY", "k")
        .env("OPENAI_BASE_URL", format!("{url}/v1"))
        .env("AZURE_OPENAI_ENDPOINT", url)
        .env("AZURE_OPENAI_DEPLOYMENTS", "echo-model")
        .env("OPENAI_COMPATIBLE_NAME", "llm-katan")
        .env("OPENAI_COMPATIBLE_BASE_URL", format!("{url}/v1"))
        .env("OPENAI_COMPATIBLE_MODELS", "echo-model")
}

#[test]
fn the_suites_pass_the_dry_run() {
    let o = Command::new(ENTRY).arg("--dry-run").arg(dir().join("model-conformance.yaml")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = offline(&mut Command::new(ENTRY))
        .arg("--dry-run")
        .arg(dir().join("model-conformance.offline.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn the_offline_models_are_only_known_in_the_offline_configuration() {
    let o = Command::new(ENTRY)
        .env_remove("AZURE_OPENAI_DEPLOYMENTS")
        .env_remove("OPENAI_COMPATIBLE_BASE_URL")
        .arg("--dry-run")
        .arg(dir().join("model-conformance.offline.yaml"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("'/model/microsoft-foundry/echo-model' is not in the known model list"), "{out}");
    assert!(out.contains("'/model/llm-katan/echo-model' is not in the known model list"), "{out}");
    assert!(out.contains("2 problem(s)"), "{out}");
}

#[test]
fn list_models_needs_no_key() {
    let o = Command::new(ENTRY)
        .env_remove("OPENAI_API_KEY")
        .env_remove("DEEPSEEK_API_KEY")
        .env_remove("XAI_API_KEY")
        .arg("--list-models")
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for m in ["openai/gpt-4o-mini", "deepseek/deepseek-chat", "xai/grok-3", "xai/grok-3-mini"] {
        assert!(out.lines().any(|l| l == m), "{m} missing from:\n{out}");
    }
}

#[test]
fn outside_dev_mode_the_runtime_says_how_to_run_it() {
    let o = Command::new(ENTRY).env_remove("GENKIT_ENV").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("dev:test-model"));
}
