//! Genkit's agent conformance spec (`tests/data/agent-spec.yaml`, Apache-2.0, the same 39
//! cases the JS, Go, Python and Dart harnesses run) through the Rust API: every case must
//! pass.

use genkit_ai::experimental::agent::testing::{InProcessDriver, run_agent_spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_spec_passes_through_the_rust_api() {
    let yaml = include_str!("data/agent-spec.yaml");
    let spec: serde_json::Value = serde_norway::from_str(yaml).expect("the spec parses");
    let report = run_agent_spec(&spec, || async { InProcessDriver::new() }).await;
    println!("{report}");
    assert_eq!(report.total(), 39, "{report}");
    assert_eq!(report.passed(), 39, "{report}");
}
