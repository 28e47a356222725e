//! Model conformance entry program for `genkit-openai-compat`: a Genkit runtime with only the
//! OpenAI-compatible plugins, for `genkit dev:test-model`.
//!
//! ```text
//! genkit --non-interactive dev:test-model --from-file model-conformance.yaml -- conformance-openai-compat
//! conformance-openai-compat --list-models
//! conformance-openai-compat --dry-run model-conformance.yaml model-conformance.offline.yaml
//! conformance-openai-compat --native model-conformance.offline.yaml [--compare cli-output.txt]
//! ```
//!
//! Which plugins the runtime registers follows the environment (each plugin reads its own
//! variables, see docs/openai-compat.md):
//!
//! | plugin | registered when | variables |
//! |---|---|---|
//! | `openai/*` | `OPENAI_API_KEY` is set | `OPENAI_BASE_URL` |
//! | `deepseek/*` | `DEEPSEEK_API_KEY` is set | `DEEPSEEK_BASE_URL` |
//! | `xai/*` | `XAI_API_KEY` is set | `XAI_BASE_URL` |
//! | `microsoft-foundry/*` | `AZURE_OPENAI_ENDPOINT` is set | `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_DEPLOYMENTS` (comma list of deployments to declare), `OPENAI_API_VERSION` |
//! | `<OPENAI_COMPATIBLE_NAME>/*` (default `compat`) | `OPENAI_COMPATIBLE_BASE_URL` is set | `OPENAI_COMPATIBLE_API_KEY`, `OPENAI_COMPATIBLE_MODELS` (comma list to declare) |
//!
//! `--list-models` and `--dry-run` use every plugin's catalogue (the declared lists above
//! included) without any key and without calling a server.

use std::process::ExitCode;

use genkit_conformance::entry::{EntryProgram, Runtime};
use genkit_core::{ActionType, Plugin};
use genkit_openai_compat::{ModelSpec, OpenAiCompat, openai_compatible};

const NAME: &str = "conformance-openai-compat";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn env_list(name: &str) -> Vec<String> {
    env(name)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn declare(mut plugin: OpenAiCompat, models: &[String]) -> OpenAiCompat {
    for m in models {
        plugin = plugin.model(ModelSpec::chat(m.as_str()));
    }
    plugin
}

/// The plugins the runtime registers, following the environment (see the module docs).
/// With `catalogue`, every plugin is built (with a placeholder key, no remote listing) so
/// that its catalogue can be listed without credentials or network.
fn plugins(catalogue: bool) -> Vec<OpenAiCompat> {
    let placeholder = |p: OpenAiCompat| p.api_key("dry-run").list_remote_models(false);
    let mut out = Vec::new();
    for (key, plugin) in [
        ("OPENAI_API_KEY", OpenAiCompat::openai as fn() -> OpenAiCompat),
        ("DEEPSEEK_API_KEY", OpenAiCompat::deepseek),
        ("XAI_API_KEY", OpenAiCompat::xai),
    ] {
        if catalogue {
            out.push(placeholder(plugin()));
        } else if env(key).is_some() {
            out.push(plugin());
        }
    }
    let deployments = env_list("AZURE_OPENAI_DEPLOYMENTS");
    if catalogue {
        out.push(placeholder(declare(OpenAiCompat::azure().base_url("http://dry-run.invalid"), &deployments)));
    } else if env("AZURE_OPENAI_ENDPOINT").is_some() {
        out.push(declare(OpenAiCompat::azure(), &deployments));
    }
    if let Some(url) = env("OPENAI_COMPATIBLE_BASE_URL") {
        let name = env("OPENAI_COMPATIBLE_NAME").unwrap_or_else(|| "compat".to_owned());
        let key = env("OPENAI_COMPATIBLE_API_KEY");
        let p = declare(openai_compatible(name, url, key.as_deref()), &env_list("OPENAI_COMPATIBLE_MODELS"));
        out.push(if catalogue { placeholder(p) } else { p });
    }
    out
}

/// Every model name in the plugins' catalogues (no server is called).
async fn catalogue() -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for p in plugins(true) {
        let listed = p.list().await.map_err(|e| format!("listing plugin '{}': {e}", Plugin::name(&p)))?;
        names.extend(listed.into_iter().filter(|m| m.action_type == ActionType::Model).map(|m| m.name.to_string()));
    }
    Ok(names)
}

struct OpenAiCompatEntry;

impl EntryProgram for OpenAiCompatEntry {
    fn name(&self) -> &str {
        NAME
    }

    async fn catalogue(&self) -> Result<Vec<String>, String> {
        catalogue().await
    }

    async fn start(&self) -> Result<Runtime, String> {
        let plugins = plugins(false);
        let names: Vec<String> = plugins.iter().map(|p| Plugin::name(p).to_owned()).collect();
        if names.is_empty() {
            eprintln!(
                "warning: no plugin configured: set OPENAI_API_KEY, DEEPSEEK_API_KEY, XAI_API_KEY, \
                 AZURE_OPENAI_ENDPOINT or OPENAI_COMPATIBLE_BASE_URL"
            );
        }
        let mut b = genkit::Genkit::builder();
        for p in plugins {
            b = b.plugin(p);
        }
        let g = b.build().await.map_err(|e| e.to_string())?;
        Ok(Runtime {
            registry: g.registry().clone(),
            reflection_url: g.reflection().map(|r| r.url()),
            description: format!("plugins [{}]", names.join(", ")),
            keep_alive: Box::new(g),
        })
    }
}

fn main() -> ExitCode {
    genkit_conformance::entry::main(&OpenAiCompatEntry)
}
