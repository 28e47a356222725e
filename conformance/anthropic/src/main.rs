//! Model conformance entry program for `genkit-anthropic`: a Genkit runtime with only the
//! Anthropic plugin, for `genkit dev:test-model`.
//!
//! ```text
//! genkit --non-interactive dev:test-model --from-file model-conformance.yaml -- conformance-anthropic
//! conformance-anthropic --list-models
//! conformance-anthropic --dry-run model-conformance.yaml model-conformance.offline.yaml
//! conformance-anthropic --native model-conformance.offline.yaml [--compare cli-output.txt]
//! ```
//!
//! The plugin reads `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (see docs/anthropic.md);
//! `ANTHROPIC_LIST_REMOTE=0` keeps it from asking `GET /v1/models` (the offline echo server has
//! none). `--list-models` and `--dry-run` use the catalogue without any key and without calling
//! a server.

use std::process::ExitCode;

use genkit_anthropic::Anthropic;
use genkit_conformance::entry::{EntryProgram, Runtime};
use genkit_core::{ActionType, Plugin};

const NAME: &str = "conformance-anthropic";

fn list_remote() -> bool {
    std::env::var("ANTHROPIC_LIST_REMOTE").map_or(true, |v| v.trim() != "0")
}

/// Every model name in the catalogue (no server is called).
async fn catalogue() -> Result<Vec<String>, String> {
    let p = Anthropic::new().api_key("dry-run").list_remote_models(false);
    let listed = p.list().await.map_err(|e| format!("listing plugin 'anthropic': {e}"))?;
    Ok(listed.into_iter().filter(|m| m.action_type == ActionType::Model).map(|m| m.name.to_string()).collect())
}

struct AnthropicEntry;

impl EntryProgram for AnthropicEntry {
    fn name(&self) -> &str {
        NAME
    }

    async fn catalogue(&self) -> Result<Vec<String>, String> {
        catalogue().await
    }

    async fn start(&self) -> Result<Runtime, String> {
        let plugin = Anthropic::new().list_remote_models(list_remote());
        let g = genkit::Genkit::builder().plugin(plugin).build().await.map_err(|e| e.to_string())?;
        Ok(Runtime {
            registry: g.registry().clone(),
            reflection_url: g.reflection().map(|r| r.url()),
            description: "plugin anthropic".to_owned(),
            keep_alive: Box::new(g),
        })
    }
}

fn main() -> ExitCode {
    genkit_conformance::entry::main(&AnthropicEntry)
}
