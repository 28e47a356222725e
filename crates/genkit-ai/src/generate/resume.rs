//! Resuming an interrupted generation: every tool request of the last model message is
//! answered (`resume.respond`), run again (`resume.restart`) or taken from an earlier partial
//! round (`pendingOutput`), and the tool message is appended.

use std::sync::Arc;

use genkit_core::{Action, Error, Result, Status};
use serde_json::{Map, Value, json};

use super::tools::{ToolOutcome, resolve_tool_request};
use super::turn::Engine;
use crate::{GenerateActionOptions, Message, Part, Role, ToolResponse};

fn same_call(a: &crate::ToolRequest, name: &str, reference: Option<&String>) -> bool {
    a.name == name && a.reference.as_ref() == reference
}

/// Applies `resume`: answers or restarts every tool request of the last model
/// message, appends the tool message and clears `resume`.
pub(super) async fn resolve_resume_option(
    eng: &Arc<Engine>,
    mut request: GenerateActionOptions,
    tools: &[Arc<dyn Action>],
) -> Result<(GenerateActionOptions, Message)> {
    let resume = request.resume.take().unwrap_or_default();
    let snapshot = request.clone();
    let last = match request.messages.last_mut() {
        Some(m) if m.role == Role::Model && m.content.iter().any(|p| p.tool_request.is_some()) => m,
        _ => {
            return Err(Error::new(
                Status::FailedPrecondition,
                "Cannot 'resume' generation unless the previous message is a model message with at least one tool request.",
            ));
        }
    };
    let respond = resume.respond.clone().unwrap_or_default();
    let restart = resume.restart.clone().unwrap_or_default();
    let mut responses = Vec::new();
    let mut interrupted = false;
    let mut new_content = Vec::with_capacity(last.content.len());
    for part in std::mem::take(&mut last.content) {
        let Some(tr) = part.tool_request.clone() else {
            new_content.push(part);
            continue;
        };
        // (a) pending output from an earlier partial round
        if let Some(mut meta) = part.metadata.clone()
            && let Some(pending) = meta.remove("pendingOutput")
        {
            let mut rmeta = meta.clone();
            rmeta.insert("source".into(), json!("pending"));
            responses.push(Part {
                tool_response: Some(Box::new(ToolResponse {
                    reference: tr.reference.clone(),
                    name: tr.name.clone(),
                    output: Some(pending),
                    content: None,
                })),
                metadata: Some(rmeta),
                ..Part::default()
            });
            new_content.push(Part { metadata: Some(meta), ..part });
            continue;
        }
        let resolved_meta = |p: &Part| {
            let mut meta = p.metadata.clone().unwrap_or_default();
            if let Some(i) = meta.remove("interrupt") {
                meta.insert("resolvedInterrupt".into(), i);
            }
            meta
        };
        // (b) a provided response
        if let Some(r) = respond
            .iter()
            .find(|r| r.tool_response.as_ref().is_some_and(|t| t.name == tr.name && t.reference == tr.reference))
        {
            responses.push(r.clone());
            let meta = resolved_meta(&part);
            new_content.push(Part { metadata: (!meta.is_empty()).then_some(meta), ..part });
            continue;
        }
        // (c) a restart
        if let Some(r) = restart
            .iter()
            .find(|r| r.tool_request.as_ref().is_some_and(|t| same_call(t, &tr.name, tr.reference.as_ref())))
        {
            match resolve_tool_request(eng, r, tools, &snapshot).await? {
                ToolOutcome::Interrupt(p) => {
                    interrupted = true;
                    new_content.push(p);
                    continue;
                }
                ToolOutcome::Response(resp) => {
                    responses.push(resp);
                    let meta = resolved_meta(&part);
                    new_content.push(Part { metadata: (!meta.is_empty()).then_some(meta), ..part });
                    continue;
                }
                ToolOutcome::Dropped => {}
            }
        }
        let reference = tr.reference.as_ref().map(|r| format!("#{r}")).unwrap_or_default();
        return Err(Error::invalid_argument(format!(
            "Unresolved tool request '{}{reference}' was not handled by the 'resume' argument. You must supply replies or restarts for all interrupted tool requests.'",
            tr.name
        )));
    }
    last.content = new_content;
    if interrupted {
        return Err(Error::new(
            Status::FailedPrecondition,
            "One or more tools triggered an interrupt during a restarted execution.",
        )
        .with_details(json!({ "message": serde_json::to_value(&*last).unwrap_or(Value::Null) })));
    }
    let n = last.content.iter().filter(|p| p.tool_request.is_some()).count();
    if responses.len() != n {
        return Err(Error::new(
            Status::FailedPrecondition,
            format!("Expected {n} tool responses but resolved to {}.", responses.len()),
        ));
    }
    let mut meta = Map::new();
    meta.insert("resumed".into(), resume.metadata.map_or(Value::Bool(true), Value::Object));
    let tool_message = Message { role: Role::Tool, content: responses, metadata: Some(meta) };
    request.messages.push(tool_message.clone());
    Ok((request, tool_message))
}
