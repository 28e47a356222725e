//! Prompt-backed agents (JS `definePromptAgent`, `defineAgent`): each turn renders the prompt
//! with the conversation so far as history, generates (streaming the model's chunks), and
//! keeps the resulting conversation in the session.

use std::sync::{Arc, OnceLock};

use futures::FutureExt;
use genkit_core::{Error, Registry, Result, Status, StreamSink};
use serde_json::{Map, Value};

use super::define::{Agent, AgentFn, AgentFnCx, AgentOptions, build_agent};
use super::runner::{SessionRunner, TurnResult};
use super::{AgentInput, AgentResult, AgentResume, AgentStreamChunk};
use crate::generate::{GenerateOptions, GenerateResponseChunk, ResumeOptions};
use crate::prompt::{ExecutablePrompt, PromptConfig};
use crate::{FinishReason, Message, ModelResponseChunk, Part, Role};

/// Marks history messages while the prompt renders, to tell them from the template's own.
const HISTORY_TAG: &str = "_genkit_history";
/// Marks the template's messages, which are not kept in the session.
const PREAMBLE_TAG: &str = "agentPreamble";

/// Defines an agent backed by the existing prompt `prompt_name` (JS `definePromptAgent`);
/// the agent has the prompt's name (`opts`' name is not used). Each turn renders the prompt
/// with [`AgentOptions::prompt_input`] (or `{}`) and the session's messages as history.
///
/// # Errors
/// As [`define_custom_agent`](super::define_custom_agent).
pub fn define_prompt_agent(registry: &Registry, prompt_name: &str, opts: AgentOptions) -> Result<Agent> {
    let mut opts = opts;
    opts.name = prompt_name.to_owned();
    let input = opts.prompt_input.clone().unwrap_or_else(empty);
    let handler = prompt_agent_fn(registry.clone(), prompt_name.to_owned(), input);
    build_agent(registry, opts, handler)
}

/// Defines a prompt from `prompt` and an agent backed by it (JS `defineAgent`): registers
/// `/prompt/<name>` and `/executable-prompt/<name>` as well as the agent's actions. The
/// agent has the prompt's name and, unless `opts` sets one, its description.
///
/// # Errors
/// As [`define_prompt_agent`]; the prompt's definition errors.
pub fn define_agent(registry: &Registry, prompt: PromptConfig, opts: AgentOptions) -> Result<Agent> {
    let name = prompt.key_name();
    let mut opts = opts;
    if opts.description.is_none() {
        opts.description.clone_from(&prompt.description);
    }
    crate::prompt::define_prompt(registry, prompt)?;
    define_prompt_agent(registry, &name, opts)
}

fn empty() -> Value {
    Value::Object(Map::new())
}

/// What every turn of one prompt agent shares: the prompt (looked up lazily, by name, so it
/// may be defined after the agent) and its input.
struct PromptTarget {
    registry: Registry,
    name: String,
    input: Value,
    prompt: ExecutablePrompt,
    found: OnceLock<()>,
}

fn prompt_agent_fn(registry: Registry, prompt_name: String, prompt_input: Value) -> AgentFn {
    let prompt = crate::prompt::prompt(&registry, &prompt_name, None);
    let target =
        Arc::new(PromptTarget { registry, name: prompt_name, input: prompt_input, prompt, found: OnceLock::new() });
    Arc::new(move |sess: SessionRunner, cx: AgentFnCx| {
        let target = target.clone();
        async move {
            sess.run(|input, _turn| {
                let target = target.clone();
                let sess = sess.clone();
                let cx = cx.clone();
                async move { prompt_turn(&target, &sess, &cx, input).await }
            })
            .await?;
            let msgs = sess.messages();
            Ok(AgentResult {
                artifacts: Some(sess.artifacts()),
                message: msgs.last().cloned(),
                finish_reason: sess.last_turn_finish_reason(),
            })
        }
        .boxed()
    })
}

fn tagged(m: &Message, tag: &str) -> bool {
    m.metadata.as_ref().and_then(|md| md.get(tag)).is_some_and(|v| *v != Value::Bool(false) && !v.is_null())
}

async fn prompt_turn(
    target: &PromptTarget,
    sess: &SessionRunner,
    cx: &AgentFnCx,
    input: AgentInput,
) -> Result<TurnResult> {
    let registry = &target.registry;
    if target.found.get().is_none() {
        if registry.lookup_action(&format!("/prompt/{}", target.name)).await?.is_none() {
            return Err(Error::not_found(format!(
                "Prompt '{}' not found. Ensure it is defined before the agent is invoked.",
                target.name
            )));
        }
        let _ = target.found.set(());
    }
    let history: Vec<Message> = sess
        .messages()
        .into_iter()
        .map(|mut m| {
            m.metadata.get_or_insert_with(Map::new).insert(HISTORY_TAG.into(), Value::Bool(true));
            m
        })
        .collect();
    let mut opts = target.prompt.render_with(target.input.clone(), GenerateOptions::new().messages(history)).await?;
    opts.messages = std::mem::take(&mut opts.messages)
        .into_iter()
        .map(|mut m| {
            if tagged(&m, HISTORY_TAG) {
                if let Some(md) = m.metadata.as_mut() {
                    md.remove(HISTORY_TAG);
                }
                if m.metadata.as_ref().is_some_and(Map::is_empty) {
                    m.metadata = None;
                }
            } else {
                m.metadata.get_or_insert_with(Map::new).insert(PREAMBLE_TAG.into(), Value::Bool(true));
            }
            m
        })
        .collect();
    if let Some(resume) = &input.resume {
        validate_resume_against_history(resume, &sess.messages())?;
        opts.resume = Some(ResumeOptions {
            respond: resume.respond.clone().unwrap_or_default(),
            restart: resume.restart.clone().unwrap_or_default(),
            metadata: None,
        });
    }
    opts.cancellation = Some(cx.cancellation().clone());
    let chunk_cx = cx.clone();
    opts.on_chunk = Some(StreamSink::new(move |c: GenerateResponseChunk| {
        chunk_cx.send_chunk(AgentStreamChunk { model_chunk: Some(c.into_data()), ..AgentStreamChunk::default() });
    }));
    let res = crate::generate::generate(registry, opts).await?;
    let message = res.message.clone();
    match &res.request {
        Some(req) => {
            let mut msgs: Vec<Message> = req.messages.iter().filter(|m| !tagged(m, PREAMBLE_TAG)).cloned().collect();
            msgs.extend(message.clone());
            sess.set_messages(msgs);
        }
        None => sess.add_messages(message.clone()),
    }
    if res.finish_reason == Some(FinishReason::Interrupted) {
        let parts: Vec<Part> =
            message.map(|m| m.content.into_iter().filter(|p| p.tool_request.is_some()).collect()).unwrap_or_default();
        if !parts.is_empty() {
            cx.send_chunk(AgentStreamChunk {
                model_chunk: Some(ModelResponseChunk { role: Some(Role::Tool), ..ModelResponseChunk::new(parts) }),
                ..AgentStreamChunk::default()
            });
        }
    }
    Ok(TurnResult { finish_reason: res.finish_reason.map(Into::into) })
}

/// Checks a resume against the conversation (JS `validateResumeAgainstHistory`): every
/// `restart` must name a tool request of a model message by name and ref with exactly the
/// same input, and every `respond` must answer one. A client cannot run a tool with inputs
/// the model never asked for.
///
/// # Errors
/// `INVALID_ARGUMENT` saying which request was not found or was modified.
pub fn validate_resume_against_history(resume: &AgentResume, history: &[Message]) -> Result<()> {
    let find = |name: &str, reference: Option<&String>| {
        history.iter().rev().filter(|m| m.role == Role::Model).find_map(|m| {
            m.content
                .iter()
                .filter_map(|p| p.tool_request.as_deref())
                .find(|tr| tr.name == name && tr.reference.as_ref() == reference)
        })
    };
    let ref_note = |r: Option<&String>| r.map(|r| format!(" (ref: {r})")).unwrap_or_default();
    for part in resume.restart.iter().flatten() {
        let Some(tr) = part.tool_request.as_deref() else {
            return Err(Error::invalid_argument("resume.restart entries must be toolRequest parts."));
        };
        let Some(found) = find(&tr.name, tr.reference.as_ref()) else {
            return Err(Error::invalid_argument(format!(
                "resume.restart references tool '{}'{} which was not found in session history.",
                tr.name,
                ref_note(tr.reference.as_ref())
            )));
        };
        if found.input != tr.input {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "resume.restart for tool '{}'{} has modified inputs that do not match the original tool request \
                     in session history. Restart inputs must exactly match the interrupted tool request.",
                    tr.name,
                    ref_note(tr.reference.as_ref())
                ),
            ));
        }
    }
    for part in resume.respond.iter().flatten() {
        let Some(resp) = part.tool_response.as_deref() else {
            return Err(Error::invalid_argument("resume.respond entries must be toolResponse parts."));
        };
        if find(&resp.name, resp.reference.as_ref()).is_none() {
            return Err(Error::invalid_argument(format!(
                "resume.respond references tool '{}'{} which was not found in session history.",
                resp.name,
                ref_note(resp.reference.as_ref())
            )));
        }
    }
    Ok(())
}
