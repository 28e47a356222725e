//! Genkit's agent conformance spec (the 39 cases of genkit-ai's `tests/data/agent-spec.yaml`)
//! through the reflection API, as the Genkit CLI and Dev UI reach agents: the spec harness
//! ([`SpecHarness`]) is defined on a registry served by [`Reflection`], and every step goes
//! over the wire ([`ReflectionAgentDriver`]): `send` runs `/agent/<name>`, `getSnapshotData`
//! `/agent-snapshot/<name>`, `abort` `/agent-abort/<name>`. Only the programmable model is
//! programmed in process (the spec's harness programs it out of band in every runtime).
//!
//! Over v2 (WebSocket, input streams) every case must pass. Over v1 (HTTP, one input per run)
//! every case whose sends carry at most one input must pass.

use std::sync::Arc;

use futures::future::BoxFuture;
use genkit_ai::experimental::agent::testing::{AgentSpecDriver, SendOutcome, SpecHarness, run_agent_spec};
use genkit_core::{Registry, Result, Status};
use genkit_reflection::agent_driver::{ReflectionAgentDriver, V2Listener};
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::Value;

/// The spec runner's driver over a reflection server serving a fresh harness.
struct ReflectionSpecDriver {
    harness: SpecHarness,
    driver: ReflectionAgentDriver,
    reflection: Arc<Reflection>,
    root: Option<std::path::PathBuf>,
}

impl Drop for ReflectionSpecDriver {
    fn drop(&mut self) {
        self.reflection.stop();
        if let Some(root) = &self.root {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Wire {
    V1,
    V2,
}

impl ReflectionSpecDriver {
    async fn start(wire: Wire) -> Result<ReflectionSpecDriver> {
        let registry = Registry::new();
        let harness = SpecHarness::define(&registry)?;
        match wire {
            Wire::V2 => {
                let listener = V2Listener::bind().await?;
                let opts = ReflectionOptions {
                    reflection_v2_server: Some(listener.url().to_owned()),
                    handle_signals: false,
                    ..Default::default()
                };
                let reflection = Reflection::start(&registry, opts).await?;
                let driver = ReflectionAgentDriver::v2(listener).await?;
                Ok(ReflectionSpecDriver { harness, driver, reflection, root: None })
            }
            Wire::V1 => {
                let root = std::env::temp_dir().join(format!("genkit-refl-spec-{}", genkit_core::id::uuid_v4()?));
                std::fs::create_dir_all(&root).map_err(genkit_core::Error::internal)?;
                let opts =
                    ReflectionOptions { project_root: Some(root.clone()), handle_signals: false, ..Default::default() };
                let reflection = Reflection::start(&registry, opts).await?;
                reflection.announced().await;
                let driver = ReflectionAgentDriver::v1(reflection.url());
                Ok(ReflectionSpecDriver { harness, driver, reflection, root: Some(root) })
            }
        }
    }
}

impl AgentSpecDriver for ReflectionSpecDriver {
    fn program_model(&self, responses: Vec<Value>, chunks: Vec<Vec<Value>>) -> Result<()> {
        self.harness.program_model(responses, chunks)
    }

    fn send<'a>(&'a self, agent: &'a str, init: Value, inputs: Vec<Value>) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            match self.driver.send(agent, &init, &inputs).await {
                Ok(run) => SendOutcome { chunks: run.chunks, output: run.output },
                Err(e) => SendOutcome { chunks: Vec::new(), output: Err(e) },
            }
        })
    }

    fn get_snapshot<'a>(
        &'a self,
        agent: &'a str,
        snapshot_id: Option<&'a str>,
        session_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            // The action answers NOT_FOUND where the Rust API answers `None`.
            match self.driver.get_snapshot_data(agent, snapshot_id, session_id).await {
                Ok(snap) => Ok(Some(snap)),
                Err(e) if e.status() == Status::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn abort<'a>(&'a self, agent: &'a str, snapshot_id: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let res = self.driver.abort(agent, snapshot_id).await?;
            Ok(res.get("status").and_then(Value::as_str).map(str::to_owned))
        })
    }
}

fn spec() -> Value {
    let yaml = include_str!("../../genkit-ai/tests/data/agent-spec.yaml");
    serde_norway::from_str(yaml).expect("the spec parses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_spec_passes_through_reflection_v2() {
    let report = run_agent_spec(&spec(), || ReflectionSpecDriver::start(Wire::V2)).await;
    println!("{report}");
    assert_eq!(report.total(), 39, "{report}");
    assert_eq!(report.passed(), 39, "{report}");
}

/// Whether every `send` step of the case carries at most one input (what a v1 run takes).
fn one_input_per_send(case: &Value) -> bool {
    case["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["type"] == "send")
        .all(|s| s["inputs"].as_array().is_none_or(|i| i.len() <= 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_spec_passes_through_reflection_v1_for_single_input_sends() {
    let mut spec = spec();
    let tests = spec["tests"].as_array_mut().unwrap();
    tests.retain(one_input_per_send);
    let single = tests.len();
    let report = run_agent_spec(&spec, || ReflectionSpecDriver::start(Wire::V1)).await;
    println!("{report}");
    println!("{single} of 39 cases send at most one input per run (v1 runs one input)");
    assert_eq!(single, 37, "the spec has 37 cases with at most one input per send");
    assert_eq!(report.total(), single, "{report}");
    assert_eq!(report.passed(), single, "{report}");
}
