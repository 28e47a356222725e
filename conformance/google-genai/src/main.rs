//! Model conformance entry program for `genkit-google-genai`: a Genkit runtime with only the
//! Gemini API plugin (`googleai/*`) and, when a Google Cloud project is configured, the Vertex
//! AI plugin (`vertexai/*`), for `genkit dev:test-model`.
//!
//! ```text
//! genkit --non-interactive dev:test-model --from-file model-conformance.yaml -- conformance-google-genai
//! conformance-google-genai --list-models
//! conformance-google-genai --dry-run model-conformance.yaml model-conformance.offline.yaml
//! conformance-google-genai --native model-conformance.offline.yaml [--compare cli-output.txt]
//! ```
//!
//! Environment (besides the plugins' own `GEMINI_API_KEY`, `GOOGLE_CLOUD_PROJECT`,
//! `GOOGLE_CLOUD_LOCATION`, Application Default Credentials):
//! - `GOOGLE_GENAI_BASE_URL`: the Gemini API base URL (a local fake);
//! - `GOOGLE_GENAI_KEY_TRANSPORT=query`: send the key as `?key=` (llm-katan refuses the header);
//! - `VERTEX_BASE_URL`, `VERTEX_ACCESS_TOKEN`: Vertex AI's base URL and a fixed bearer token;
//! - `GOOGLE_GENAI_LIST_REMOTE=0`: list the catalogues only (the echo server has no model list).
//!
//! `--list-models` and `--dry-run` use the catalogues without any key and without calling a
//! server.

use std::process::ExitCode;

use genkit_conformance::entry::{EntryProgram, Runtime};
use genkit_core::{ActionType, Plugin};
use genkit_google_genai::{ApiKey, Credentials, GoogleAi, KeyTransport, VertexAi};

const NAME: &str = "conformance-google-genai";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn list_remote() -> bool {
    env("GOOGLE_GENAI_LIST_REMOTE").is_none_or(|v| v != "0")
}

fn google_ai() -> GoogleAi {
    let mut p = GoogleAi::new().list_remote_models(list_remote());
    if let Some(url) = env("GOOGLE_GENAI_BASE_URL") {
        p = p.base_url(url);
    }
    if env("GOOGLE_GENAI_KEY_TRANSPORT").as_deref() == Some("query") {
        p = p.key_transport(KeyTransport::Query);
    }
    p
}

/// The Vertex AI plugin, when a project (or an express-mode key) is configured.
fn vertex_ai() -> Option<VertexAi> {
    env("GOOGLE_CLOUD_PROJECT").or_else(|| env("GCLOUD_PROJECT")).or_else(|| env("VERTEX_API_KEY"))?;
    let mut p = VertexAi::new().list_remote_models(list_remote());
    if let Some(url) = env("VERTEX_BASE_URL") {
        p = p.base_url(url);
    }
    if let Some(token) = env("VERTEX_ACCESS_TOKEN") {
        p = p.credentials(Credentials::AccessToken(ApiKey::new(token)));
    }
    Some(p)
}

/// Every model name in both catalogues (no server is called).
async fn catalogue() -> Result<Vec<String>, String> {
    let g = GoogleAi::new().api_key("dry-run").list_remote_models(false);
    let v = VertexAi::new()
        .project("dry-run")
        .credentials(Credentials::AccessToken(ApiKey::new("dry-run")))
        .list_remote_models(false);
    let mut listed = g.list().await.map_err(|e| format!("listing plugin 'googleai': {e}"))?;
    listed.extend(v.list().await.map_err(|e| format!("listing plugin 'vertexai': {e}"))?);
    Ok(listed.into_iter().filter(|m| m.action_type == ActionType::Model).map(|m| m.name.to_string()).collect())
}

struct GoogleGenAiEntry;

impl EntryProgram for GoogleGenAiEntry {
    fn name(&self) -> &str {
        NAME
    }

    async fn catalogue(&self) -> Result<Vec<String>, String> {
        catalogue().await
    }

    async fn start(&self) -> Result<Runtime, String> {
        let mut b = genkit::Genkit::builder().plugin(google_ai());
        let mut description = "plugin googleai".to_owned();
        if let Some(v) = vertex_ai() {
            b = b.plugin(v);
            description.push_str(" and vertexai");
        }
        let g = b.build().await.map_err(|e| e.to_string())?;
        Ok(Runtime {
            registry: g.registry().clone(),
            reflection_url: g.reflection().map(|r| r.url()),
            description,
            keep_alive: Box::new(g),
        })
    }
}

fn main() -> ExitCode {
    genkit_conformance::entry::main(&GoogleGenAiEntry)
}
