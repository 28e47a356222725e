//! A tool round: every tool request of the model's message runs (in parallel, through the
//! middleware's tool hooks); responses are kept in request order; tools that interrupt mark
//! their request instead.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, try_join_all};
use genkit_core::{Action, ActionType, Error, Result, Status};
use serde_json::{Map, Value, json};

use super::turn::Engine;
use crate::middleware::{ToolHookCx, run_tool};
use crate::tool::as_interrupt;
use crate::{GenerateActionOptions, Message, MultipartToolResponse, Part, ToolResponse};

/// What a tool round produced.
pub(super) enum ToolRound {
    /// Some tools interrupted: the model message with its requests marked.
    Interrupted(Message),
    /// Every tool answered: the tool response parts.
    Responses(Vec<Part>),
}

/// What one tool request produced.
pub(super) enum ToolOutcome {
    Response(Part),
    Interrupt(Part),
    Dropped,
}

/// The tool whose short name (the last `/` segment of its name) is `name`.
pub(super) fn tool_named<'a>(tools: &'a [Arc<dyn Action>], name: &str) -> Option<&'a Arc<dyn Action>> {
    tools.iter().find(|t| short_name(&***t) == name)
}

pub(super) fn short_name(action: &dyn Action) -> &str {
    let n: &str = &action.metadata().name;
    n.rsplit('/').next().unwrap_or(n)
}

/// Duplicate short names are rejected.
pub(super) fn assert_valid_tool_names(tools: &[Arc<dyn Action>]) -> Result<()> {
    for (i, t) in tools.iter().enumerate() {
        if let Some(prev) = tools[..i].iter().find(|p| short_name(&***p) == short_name(&**t)) {
            return Err(Error::invalid_argument(format!(
                "Cannot provide two tools with the same name: '{}' and '{}'",
                t.metadata().name,
                prev.metadata().name
            )));
        }
    }
    Ok(())
}

/// Runs one tool with the request part's input; panics become `INTERNAL` errors.
fn execute_tool(
    tool: Arc<dyn Action>,
    part: Part,
    cx: ToolHookCx,
    eng: Arc<Engine>,
) -> BoxFuture<'static, Result<Option<Part>>> {
    async move {
        let Some(req) = part.tool_request else { return Ok(None) };
        let mut opts = crate::model::run_options::<Value>(eng.cancellation.clone(), eng.context.clone());
        if let Some(m) = cx.metadata {
            opts = opts.call_metadata(Value::Object(m));
        }
        let input = req.input.clone().unwrap_or(Value::Null);
        let run = tool.run_json(input, opts);
        let out = match AssertUnwindSafe(run).catch_unwind().await {
            Ok(r) => r?.result,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                return Err(Error::new(Status::Internal, format!("Tool '{}' panicked: {what}", req.name)));
            }
        };
        if tool.metadata().action_type == ActionType::ToolV2 {
            let mp: MultipartToolResponse = serde_json::from_value(out).map_err(|e| {
                Error::internal(format!("tool '{}' returned an invalid multipart response: {e}", req.name))
            })?;
            return Ok(Some(Part {
                tool_response: Some(Box::new(ToolResponse {
                    reference: req.reference,
                    name: req.name,
                    output: mp.output,
                    content: mp.content,
                })),
                metadata: mp.metadata,
                ..Part::default()
            }));
        }
        Ok(Some(Part {
            tool_response: Some(Box::new(ToolResponse {
                reference: req.reference,
                name: req.name,
                output: Some(out),
                content: None,
            })),
            ..Part::default()
        }))
    }
    .boxed()
}

/// Runs the tool request `part` through the middleware's tool hooks.
pub(super) async fn resolve_tool_request(
    eng: &Arc<Engine>,
    part: &Part,
    tools: &[Arc<dyn Action>],
    request: &GenerateActionOptions,
) -> Result<ToolOutcome> {
    let Some(tr) = &part.tool_request else { return Ok(ToolOutcome::Dropped) };
    let Some(tool) = tool_named(tools, &tr.name) else {
        return Err(Error::not_found(format!("Tool {} not found", tr.name))
            .with_details(json!({ "request": serde_json::to_value(request).unwrap_or(Value::Null) })));
    };
    let cx = ToolHookCx { metadata: part.metadata.clone() };
    let result = if eng.middleware.is_empty() {
        execute_tool(tool.clone(), part.clone(), cx, eng.clone()).await
    } else {
        let end = |p: Part, c: ToolHookCx| execute_tool(tool.clone(), p, c, eng.clone());
        run_tool(&eng.middleware, part.clone(), cx, &end).await
    };
    match result {
        Ok(Some(p)) => Ok(ToolOutcome::Response(p)),
        Ok(None) => Ok(ToolOutcome::Dropped),
        Err(e) => match as_interrupt(&e) {
            Some(i) => {
                tracing::debug!("tool '{}' triggered an interrupt", tool.name());
                let mut meta = part.metadata.clone().unwrap_or_default();
                meta.insert("interrupt".into(), i.metadata.clone().unwrap_or(Value::Bool(true)));
                Ok(ToolOutcome::Interrupt(Part {
                    tool_request: part.tool_request.clone(),
                    metadata: Some(meta),
                    ..Part::default()
                }))
            }
            None => Err(e),
        },
    }
}

fn with_pending_output(part: &Part, response: &Part) -> Part {
    let mut p = part.clone();
    let out = response.tool_response.as_ref().and_then(|r| r.output.clone()).unwrap_or(Value::Null);
    p.metadata.get_or_insert_with(Map::new).insert("pendingOutput".into(), out);
    p
}

/// Runs every tool request of the model message in parallel; responses are kept in request
/// order.
pub(super) async fn resolve_tool_requests(
    eng: &Arc<Engine>,
    request: &GenerateActionOptions,
    generated: &Message,
    tools: &[Arc<dyn Action>],
) -> Result<ToolRound> {
    let futs = generated.content.iter().map(|p| resolve_tool_request(eng, p, tools, request));
    let outcomes = try_join_all(futs).await?;
    let mut revised = generated.clone();
    let mut responses = Vec::new();
    let mut interrupted = false;
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            ToolOutcome::Response(r) => {
                revised.content[i] = with_pending_output(&generated.content[i], &r);
                responses.push(r);
            }
            ToolOutcome::Interrupt(p) => {
                revised.content[i] = p;
                interrupted = true;
            }
            ToolOutcome::Dropped => {}
        }
    }
    if interrupted {
        return Ok(ToolRound::Interrupted(revised));
    }
    Ok(ToolRound::Responses(responses))
}
