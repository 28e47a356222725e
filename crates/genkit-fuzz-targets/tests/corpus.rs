//! Replays every kept fuzz input (`fuzz/corpus/<target>/*`) and crash reproducer
//! (`fuzz/artifacts/<target>/*`) through its target, so what the fuzzer found once stays fixed.

use std::path::PathBuf;

use genkit_fuzz_targets::TARGETS;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else { continue };
        files.extend(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

fn replay(name: &str) {
    let (_, target) = TARGETS.iter().find(|(n, _)| *n == name).unwrap();
    let files = inputs(name);
    assert!(!files.is_empty(), "no corpus kept for {name}");
    for file in files {
        let data = std::fs::read(&file).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
            std::panic::resume_unwind(Box::new(format!("{} failed: {panic:?}", file.display())));
        }
    }
}

#[test]
fn every_target_is_replayed_here() {
    let tested = ["framing", "retry_after", "extract", "dotprompt", "uri_template", "flow_body", "reflection_body"];
    let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, tested);
}

#[test]
fn framing_corpus() {
    replay("framing");
}

#[test]
fn retry_after_corpus() {
    replay("retry_after");
}

#[test]
fn extract_corpus() {
    replay("extract");
}

#[test]
fn dotprompt_corpus() {
    replay("dotprompt");
}

#[test]
fn uri_template_corpus() {
    replay("uri_template");
}

#[test]
fn flow_body_corpus() {
    replay("flow_body");
}

#[test]
fn reflection_body_corpus() {
    replay("reflection_body");
}
