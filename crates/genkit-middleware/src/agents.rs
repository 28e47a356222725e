//! The `agents` generate middleware (JS `@genkit-ai/middleware` 0.7 `agents`): sub-agent
//! delegation. Each configured agent becomes a `delegate_to_<agent>` tool that runs the
//! agent with a task and answers with its reply and artifacts; a `<sub-agents>` block in
//! the system prompt lists them. **Experimental**, like agents.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use futures::StreamExt;
use genkit_ai::experimental::agent::AgentOutput;
use genkit_ai::experimental::session::{AgentFinishReason, Artifact, current_session};
use genkit_ai::middleware::{GenerateEnvelope, GenerateNext, Middleware, MiddlewareDef, MiddlewareUse};
use genkit_ai::tool::{self, ToolConfig};
use genkit_ai::{Message, ModelResponse, Part, Role};
use genkit_core::{Action, Error, Registry, Result, RunOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::artifacts::{artifact_text, inject_system_part};

/// The metadata key marking the injected `<sub-agents>` part.
pub const AGENTS_METADATA_KEY: &str = "agents-middleware-instructions";

/// An agent to delegate to: its name, or its name with a description for the model
/// (otherwise the agent's own description, then its prompt's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AgentRef {
    /// A registered agent's name.
    Name(String),
    /// A name with a description override.
    Described {
        /// Name of the registered agent.
        name: String,
        /// Custom description for this agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

impl AgentRef {
    fn name(&self) -> &str {
        match self {
            AgentRef::Name(n) | AgentRef::Described { name: n, .. } => n,
        }
    }

    fn description(&self) -> Option<&str> {
        match self {
            AgentRef::Name(_) => None,
            AgentRef::Described { description, .. } => description.as_deref(),
        }
    }
}

impl From<&str> for AgentRef {
    fn from(s: &str) -> Self {
        AgentRef::Name(s.to_owned())
    }
}

/// How sub-agent artifacts reach the orchestrator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactStrategy {
    /// Their content is in the tool result, and they are added to the parent session.
    #[default]
    Inline,
    /// They are added to the parent session; the tool result names them (pair with the
    /// `artifacts` middleware to read them).
    Session,
}

/// Options of [`agents`] (JS `AgentsOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentsOptions {
    /// Agents available for delegation.
    pub agents: Vec<AgentRef>,
    /// Prefix of the tool names (default `delegate_to`: `delegate_to_<agent>`; empty: the
    /// bare agent names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_prefix: Option<String>,
    /// Delegations allowed per `generate` call (none: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delegations: Option<u32>,
    /// Recent user/model messages (text only) forwarded to client-managed sub-agents as
    /// context; 0 or none sends only the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_length: Option<u32>,
    /// How artifacts are handled (default inline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_strategy: Option<ArtifactStrategy>,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
struct DelegateInput {
    /// A clear, self-contained description of the task to delegate.
    task: String,
}

#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
struct ArtifactOut {
    /// Name of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Text content of the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
struct DelegateOutput {
    /// The sub-agent's text response.
    response: String,
    /// Artifacts produced by the sub-agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    artifacts: Option<Vec<ArtifactOut>>,
}

impl DelegateOutput {
    fn text(response: String) -> Self {
        DelegateOutput { response, artifacts: None }
    }
}

#[derive(Default)]
struct Shared {
    delegations: u32,
    conversation: Vec<Message>,
}

struct Delegation {
    registry: Registry,
    name: String,
    max: Option<u32>,
    history_length: usize,
    strategy: ArtifactStrategy,
    shared: Arc<Mutex<Shared>>,
}

fn tool_name(prefix: &str, agent: &str) -> String {
    if prefix.is_empty() { agent.to_owned() } else { format!("{prefix}_{agent}") }
}

fn texts(parts: &[Part]) -> String {
    parts.iter().filter_map(|p| p.text.as_deref()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n")
}

impl Delegation {
    async fn run(&self, task: String) -> DelegateOutput {
        let history = {
            let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(max) = self.max
                && s.delegations >= max
            {
                return DelegateOutput::text(format!(
                    "Delegation limit reached ({max}). Complete the task using information already gathered."
                ));
            }
            s.delegations += 1;
            recent_text_history(&s.conversation, self.history_length)
        };
        match self.call(task, history).await {
            Ok(out) => out,
            Err(e) => DelegateOutput::text(format!("Error calling agent '{}': {}", self.name, e.message())),
        }
    }

    async fn call(&self, task: String, history: Vec<Message>) -> Result<DelegateOutput> {
        let Some(action) = self.registry.lookup_action(&format!("/agent/{}", self.name)).await? else {
            return Ok(DelegateOutput::text(format!("Error: Agent '{}' not found in registry.", self.name)));
        };
        let server_managed = action
            .metadata()
            .metadata
            .as_ref()
            .and_then(|m| m.get("agent"))
            .and_then(|a| a.get("stateManagement"))
            .and_then(Value::as_str)
            == Some("server");
        let init =
            if !history.is_empty() && !server_managed { json!({"state": {"messages": history}}) } else { json!({}) };
        let input = json!({"message": {"role": "user", "content": [{"text": task}]}});
        let out =
            action.run_bidi_json(futures::stream::iter([input]).boxed(), RunOptions::new().init(init)).await?.result;
        let out: AgentOutput = serde_json::from_value(out)
            .map_err(|e| Error::internal(format!("the agent's output is not an AgentOutput: {e}")))?;
        match out.finish_reason {
            Some(AgentFinishReason::Interrupted) => {
                return Ok(DelegateOutput::text(format!(
                    "Sub-agent '{}' interrupted for additional input and could not complete the task. Interactive \
                     sub-agent interrupts are not currently supported; try delegating a more self-contained task.",
                    self.name
                )));
            }
            Some(AgentFinishReason::Failed) => {
                let msg = out.error.map_or_else(|| "Unknown sub-agent failure.".to_owned(), |e| e.message);
                return Ok(DelegateOutput::text(format!("Error calling agent '{}': {msg}", self.name)));
            }
            _ => {}
        }
        let text = out.message.as_ref().map(|m| texts(&m.content)).unwrap_or_default();
        let produced: Vec<Artifact> =
            out.artifacts.unwrap_or_default().into_iter().filter(|a| a.name.is_some()).collect();
        let invocation = format!("{}_{}", self.name, genkit_core::id::uuid_v4()?.get(..4).unwrap_or("0000"));
        let namespaced = |a: &Artifact| format!("{invocation}/{}", a.name.as_deref().unwrap_or_default());
        if !produced.is_empty()
            && let Ok(session) = current_session()
        {
            session.add_artifacts(produced.iter().map(|a| {
                let mut meta = a.metadata.clone().unwrap_or_else(Map::new);
                meta.insert("source".into(), json!(self.name));
                meta.insert("invocationId".into(), json!(invocation));
                Artifact { name: Some(namespaced(a)), parts: a.parts.clone(), metadata: Some(meta) }
            }));
        }
        let artifacts = (!produced.is_empty()).then(|| {
            produced
                .iter()
                .map(|a| ArtifactOut {
                    name: Some(namespaced(a)),
                    content: (self.strategy == ArtifactStrategy::Inline).then(|| artifact_text(a)),
                })
                .collect()
        });
        let response = if text.is_empty() { "(no response)".to_owned() } else { text };
        Ok(DelegateOutput { response, artifacts })
    }
}

/// Up to `n` of the last user/model messages, text parts only (JS drops tool parts: a
/// request without its response would confuse the sub-agent).
fn recent_text_history(messages: &[Message], n: usize) -> Vec<Message> {
    if n == 0 {
        return Vec::new();
    }
    let convo: Vec<&Message> = messages.iter().filter(|m| matches!(m.role, Role::User | Role::Model)).collect();
    convo[convo.len().saturating_sub(n)..]
        .iter()
        .map(|m| Message {
            role: m.role,
            content: m.content.iter().filter(|p| p.text.as_deref().is_some_and(|t| !t.is_empty())).cloned().collect(),
            metadata: None,
        })
        .filter(|m| !m.content.is_empty())
        .collect()
}

struct Agents {
    registry: Registry,
    refs: Vec<AgentRef>,
    prefix: String,
    shared: Arc<Mutex<Shared>>,
    tools: Vec<Arc<dyn Action>>,
}

impl Agents {
    fn new(options: AgentsOptions, registry: &Registry) -> Result<Self> {
        if options.agents.is_empty() {
            return Err(Error::invalid_argument(
                "agents middleware requires at least one agent in the \"agents\" option.",
            ));
        }
        let prefix = options.tool_prefix.unwrap_or_else(|| "delegate_to".to_owned());
        let strategy = options.artifact_strategy.unwrap_or_default();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let output_schema = {
            let mut item = json!({"type": "object", "properties": {"name": {"type": "string"}}});
            let what = match strategy {
                ArtifactStrategy::Inline => {
                    item["properties"]["content"] = json!({"type": "string"});
                    "Artifacts produced by the sub-agent, including their content."
                }
                ArtifactStrategy::Session => {
                    "Names of artifacts produced by the sub-agent. Use read_artifact to access content."
                }
            };
            json!({"type": "object", "properties": {
                "response": {"type": "string", "description": "The sub-agent's text response."},
                "artifacts": {"type": "array", "items": item, "description": what}
            }, "required": ["response"]})
        };
        let tools = options
            .agents
            .iter()
            .map(|r| {
                let name = r.name().to_owned();
                let description = r
                    .description()
                    .map_or_else(|| format!("Delegates a task to the \"{name}\" sub-agent."), str::to_owned);
                let d = Arc::new(Delegation {
                    registry: registry.clone(),
                    name: name.clone(),
                    max: options.max_delegations,
                    history_length: options.history_length.unwrap_or(0) as usize,
                    strategy,
                    shared: shared.clone(),
                });
                tool::dynamic::<DelegateInput, DelegateOutput, _, _>(
                    ToolConfig::new(tool_name(&prefix, &name), description).output_schema(output_schema.clone()),
                    move |input, _cx| {
                        let d = d.clone();
                        async move { Ok(d.run(input.task).await) }
                    },
                )
                .as_action()
            })
            .collect();
        Ok(Agents { registry: registry.clone(), refs: options.agents, prefix, shared, tools })
    }

    async fn describe(&self, r: &AgentRef) -> String {
        if let Some(d) = r.description() {
            return d.to_owned();
        }
        for key in [format!("/agent/{}", r.name()), format!("/prompt/{}", r.name())] {
            if let Ok(Some(a)) = self.registry.lookup_action(&key).await
                && let Some(d) = a.metadata().description.clone().filter(|d| !d.is_empty())
            {
                return d;
            }
        }
        "No description available.".to_owned()
    }
}

impl Middleware for Agents {
    async fn wrap_generate(&self, mut env: GenerateEnvelope, next: GenerateNext<'_>) -> Result<ModelResponse> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).conversation = env.request.messages.clone();
        let mut lines = Vec::with_capacity(self.refs.len());
        for r in &self.refs {
            lines.push(format!("  - {}: {}", tool_name(&self.prefix, r.name()), self.describe(r).await));
        }
        let instructions = format!(
            "<sub-agents>\nYou can delegate tasks to specialized sub-agents using their delegation tools:\n{}\n\nWhen \
             a task is better handled by a specialized agent, delegate it using the appropriate tool. Provide a \
             clear, self-contained task description.\n</sub-agents>",
            lines.join("\n")
        );
        inject_system_part(&mut env.request.messages, AGENTS_METADATA_KEY, instructions, false);
        next.run(env).await
    }

    fn tools(&self) -> Vec<Arc<dyn Action>> {
        self.tools.clone()
    }
}

/// The `agents` middleware definition (register it to use `{name: "agents"}` by name).
pub fn agents_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "agents",
            "Injects per-agent delegation tools for calling registered sub-agents.",
            |options: AgentsOptions, init| Agents::new(options, init.registry),
        )
    })
    .clone()
}

/// Lets the model delegate to registered agents (**experimental**): for each agent a tool
/// `<toolPrefix>_<agent> {task}` → `{response, artifacts?}` that runs the agent with the
/// task as a user message (with `historyLength` recent text messages as client state, for
/// client-managed agents) and answers with its reply; interrupts and failures come back as
/// text. The sub-agent's named artifacts are added to the current session as
/// `<agent>_<id>/<name>` (metadata `source`, `invocationId`) and, with the inline strategy,
/// their text is in the result. A `<sub-agents>` block listing the tools and the agents'
/// descriptions is added to the system message once (marked
/// `{"agents-middleware-instructions": true}`). `maxDelegations` bounds the calls per
/// `generate`.
///
/// ```
/// use genkit_middleware::{agents, AgentsOptions};
/// let mw = agents(AgentsOptions { agents: vec!["researcher".into()], ..Default::default() });
/// assert_eq!(mw.to_ref().name, "agents");
/// ```
pub fn agents(options: AgentsOptions) -> MiddlewareUse {
    agents_def().with_config(serde_json::to_value(options).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_names_or_described_refs() {
        let o: AgentsOptions = serde_json::from_value(json!({
            "agents": ["a", {"name": "b", "description": "Does B."}], "artifactStrategy": "session", "toolPrefix": ""
        }))
        .unwrap();
        assert_eq!(o.agents[0], AgentRef::Name("a".into()));
        assert_eq!(o.agents[1].description(), Some("Does B."));
        assert_eq!(o.artifact_strategy, Some(ArtifactStrategy::Session));
        assert_eq!(tool_name(o.tool_prefix.as_deref().unwrap_or("delegate_to"), "a"), "a");
        assert_eq!(tool_name("delegate_to", "a"), "delegate_to_a");
    }

    #[test]
    fn history_keeps_the_last_text_messages() {
        let tool_req: Part = serde_json::from_value(json!({"toolRequest": {"name": "t"}})).unwrap();
        let msgs = vec![
            Message::user("one"),
            Message::new(Role::Model, vec![tool_req]),
            Message::new(Role::Tool, vec![Part::text("tool")]),
            Message::model("two"),
            Message::user("three"),
        ];
        let h = recent_text_history(&msgs, 3);
        let texts: Vec<String> = h.iter().map(Message::text).collect();
        assert_eq!(texts, ["two", "three"]);
        assert!(recent_text_history(&msgs, 0).is_empty());
    }
}
