//! The `artifacts` generate middleware (JS `@genkit-ai/middleware` 0.7 `artifacts`): tools
//! to read and write the current session's artifacts, and a listing of them in the system
//! prompt of every turn. **Experimental**, like the sessions it works on.

use std::sync::{Arc, OnceLock};

use genkit_ai::experimental::session::{Artifact, current_session};
use genkit_ai::middleware::{GenerateEnvelope, GenerateNext, Middleware, MiddlewareDef, MiddlewareUse};
use genkit_ai::tool::{self, ToolConfig};
use genkit_ai::{Message, ModelResponse, Part, Role};
use genkit_core::{Action, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The metadata key marking the injected `<artifacts>` part.
pub const ARTIFACTS_METADATA_KEY: &str = "artifacts-middleware-listing";

/// Options of [`artifacts`] (JS `ArtifactsOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ArtifactsOptions {
    /// Only `read_artifact`: the model cannot create or update artifacts.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
}

/// An artifact's text parts joined with newlines.
pub(crate) fn artifact_text(a: &Artifact) -> String {
    a.parts.iter().filter_map(|p| p.text.as_deref()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The `<artifacts>` block listing the session's artifacts (sizes in UTF-16 units, as JS).
fn listing(artifacts: &[Artifact]) -> String {
    if artifacts.is_empty() {
        return "<artifacts>\nNo artifacts are currently available in the session.\n</artifacts>".to_owned();
    }
    let lines: Vec<String> = artifacts
        .iter()
        .map(|a| {
            let len = artifact_text(a).encode_utf16().count();
            let size = if len > 0 { format!(" ({len} chars)") } else { String::new() };
            let source = match a.metadata.as_ref().and_then(|m| m.get("source")) {
                Some(Value::String(s)) if !s.is_empty() => format!(" [from: {s}]"),
                Some(v) if genkit_core::js::truthy(v) => format!(" [from: {v}]"),
                _ => String::new(),
            };
            let name = a.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("(unnamed)");
            format!("  - {name}{size}{source}")
        })
        .collect();
    format!(
        "<artifacts>\nThe following artifacts are available in the session. Use the read_artifact tool to view their \
         content.\n{}\n</artifacts>",
        lines.join("\n")
    )
}

/// Puts `text` as a marked part into `messages`: drops earlier marked parts, then appends
/// to the first system message or prepends a system message.
pub(crate) fn inject_system_part(messages: &mut Vec<Message>, key: &str, text: String, replace: bool) {
    let marked = |p: &Part| p.metadata_value(key).is_some_and(genkit_core::js::truthy);
    if replace {
        for m in messages.iter_mut() {
            m.content.retain(|p| !marked(p));
        }
    } else if messages.iter().any(|m| m.content.iter().any(|p| p.text.is_some() && marked(p))) {
        return;
    }
    let part = Part::text(text).with_metadata(key, json!(true));
    match messages.iter_mut().find(|m| m.role == Role::System) {
        Some(sys) => sys.content.push(part),
        None => messages.insert(0, Message::new(Role::System, vec![part])),
    }
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct ReadInput {
    /// The name of the artifact to read.
    name: String,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct ReadOutput {
    /// The artifact name.
    name: String,
    /// The text content of the artifact.
    content: String,
    /// Whether the artifact was found in the session.
    found: bool,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct WriteInput {
    /// A unique name for the artifact (e.g. a filename like "report.md").
    name: String,
    /// The full text content of the artifact.
    content: String,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct WriteOutput {
    /// Confirmation that the artifact was created or updated.
    status: String,
}

struct Artifacts {
    tools: Vec<Arc<dyn Action>>,
}

impl Artifacts {
    fn new(options: &ArtifactsOptions) -> Self {
        let read = tool::dynamic::<ReadInput, ReadOutput, _, _>(
            ToolConfig::new(
                "read_artifact",
                "Reads the content of a named artifact from the session. Use this to inspect artifacts produced by \
                 sub-agents or previously created artifacts.",
            ),
            |input, _cx| async move {
                let Ok(session) = current_session() else {
                    return Ok(ReadOutput {
                        name: input.name,
                        content: "Error: no active session.".into(),
                        found: false,
                    });
                };
                let found = session.artifacts().into_iter().find(|a| a.name.as_deref() == Some(input.name.as_str()));
                Ok(match found {
                    Some(a) => ReadOutput { content: artifact_text(&a), name: input.name, found: true },
                    None => ReadOutput {
                        content: format!("Artifact \"{}\" not found.", input.name),
                        name: input.name,
                        found: false,
                    },
                })
            },
        );
        let mut tools = vec![read.as_action()];
        if !options.readonly {
            let write = tool::dynamic::<WriteInput, WriteOutput, _, _>(
                ToolConfig::new(
                    "write_artifact",
                    "Creates or updates a named artifact in the session. If an artifact with the same name already \
                     exists, it will be replaced. Use this to produce files, reports, code, or other deliverables.",
                ),
                |input, _cx| async move {
                    let Ok(session) = current_session() else {
                        return Ok(WriteOutput { status: "Error: no active session.".into() });
                    };
                    session.add_artifacts([Artifact::new(input.name.clone(), vec![Part::text(input.content)])]);
                    Ok(WriteOutput { status: format!("Artifact \"{}\" saved successfully.", input.name) })
                },
            );
            tools.push(write.as_action());
        }
        Artifacts { tools }
    }
}

impl Middleware for Artifacts {
    async fn wrap_generate(&self, mut env: GenerateEnvelope, next: GenerateNext<'_>) -> Result<ModelResponse> {
        let current = current_session().map(|s| s.artifacts()).unwrap_or_default();
        inject_system_part(&mut env.request.messages, ARTIFACTS_METADATA_KEY, listing(&current), true);
        next.run(env).await
    }

    fn tools(&self) -> Vec<Arc<dyn Action>> {
        self.tools.clone()
    }
}

/// The `artifacts` middleware definition (register it to use `{name: "artifacts"}` by name).
pub fn artifacts_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "artifacts",
            "Provides read_artifact and write_artifact tools for interacting with session artifacts, and injects \
             an artifact listing into the system prompt.",
            |options: ArtifactsOptions, _| Ok(Artifacts::new(&options)),
        )
    })
    .clone()
}

/// Gives the model the current session's artifacts (**experimental**): the tools
/// `read_artifact {name}` → `{name, content, found}` and (unless `readonly`)
/// `write_artifact {name, content}` → `{status}`, which adds or replaces the artifact in the
/// session (an agent streams it as an `artifact` chunk), and an `<artifacts>` listing of
/// names, sizes and sources in the system message of every turn (the part marked
/// `{"artifacts-middleware-listing": true}`, refreshed each turn). Outside a session the
/// tools answer `Error: no active session.` and the listing is empty.
///
/// ```
/// use genkit_middleware::{artifacts, ArtifactsOptions};
/// let mw = artifacts(ArtifactsOptions { readonly: true });
/// assert_eq!(mw.to_ref().name, "artifacts");
/// ```
pub fn artifacts(options: ArtifactsOptions) -> MiddlewareUse {
    artifacts_def().with_config(serde_json::to_value(options).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn the_listing_names_sizes_and_sources() {
        assert_eq!(listing(&[]), "<artifacts>\nNo artifacts are currently available in the session.\n</artifacts>");
        let mut meta = Map::new();
        meta.insert("source".into(), json!("coder"));
        let a = Artifact {
            name: Some("a.md".into()),
            parts: vec![Part::text("héllo"), Part::text("")],
            metadata: Some(meta),
        };
        let b = Artifact { name: None, parts: vec![], metadata: None };
        assert_eq!(
            listing(&[a, b]),
            "<artifacts>\nThe following artifacts are available in the session. Use the read_artifact tool to view \
             their content.\n  - a.md (5 chars) [from: coder]\n  - (unnamed)\n</artifacts>"
        );
    }

    #[test]
    fn the_listing_replaces_the_last_one_in_the_system_message() {
        let mut msgs = vec![Message::user("hi")];
        inject_system_part(&mut msgs, ARTIFACTS_METADATA_KEY, "one".into(), true);
        assert_eq!((msgs.len(), msgs[0].role), (2, Role::System));
        inject_system_part(&mut msgs, ARTIFACTS_METADATA_KEY, "two".into(), true);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].text(), "two");
        let mut msgs = vec![Message::system("be brief"), Message::user("hi")];
        inject_system_part(&mut msgs, ARTIFACTS_METADATA_KEY, "list".into(), true);
        assert_eq!(msgs[0].content.len(), 2);
    }
}
