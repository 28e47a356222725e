//! Rendering a prompt into `GenerateOptions` (JS `renderOptionsFn`): the system message,
//! the messages (with the call's history), the user prompt, docs, then the prompt's options
//! with the call's options laid over them and the configs merged.

use std::borrow::Cow;
use std::sync::Arc;

use dotprompt::DataArgument;
use genkit_core::js::truthy;
use genkit_core::{ActionContext, Error, Result, Telemetry, current_context};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::config::{PromptConfig, PromptContent, PromptCx, PromptDocs, PromptMessages};
use super::metadata::{model_name, tool_name};
use super::state::{PromptState, Slot};
use crate::generate::GenerateOptions;
use crate::{Media, Message, Part, Role};

// ---- conversions between Genkit and Dotprompt messages (moves, no JSON round trip) ----

fn role_from_dp(role: dotprompt::Role) -> Role {
    match role {
        dotprompt::Role::System => Role::System,
        dotprompt::Role::Model => Role::Model,
        dotprompt::Role::Tool => Role::Tool,
        _ => Role::User,
    }
}

fn role_to_dp(role: Role) -> dotprompt::Role {
    match role {
        Role::System => dotprompt::Role::System,
        Role::User => dotprompt::Role::User,
        Role::Model => dotprompt::Role::Model,
        Role::Tool => dotprompt::Role::Tool,
    }
}

fn part_from_dp(part: dotprompt::Part) -> Result<Part> {
    Ok(match part {
        dotprompt::Part::Text { text, metadata } => Part { text: Some(text), metadata, ..Part::default() },
        dotprompt::Part::Media { media, metadata } => Part {
            media: Some(Box::new(Media { url: media.url, content_type: media.content_type })),
            metadata,
            ..Part::default()
        },
        dotprompt::Part::Metadata { metadata } => Part { metadata: Some(metadata), ..Part::default() },
        dotprompt::Part::Other(map) => serde_json::from_value(Value::Object(map))
            .map_err(|e| Error::internal(format!("a rendered part is not a valid part: {e}")))?,
        other => serde_json::to_value(&other)
            .and_then(serde_json::from_value)
            .map_err(|e| Error::internal(format!("a rendered part is not a valid part: {e}")))?,
    })
}

pub(crate) fn message_from_dp(m: dotprompt::Message) -> Result<Message> {
    let content = m.content.into_iter().map(part_from_dp).collect::<Result<Vec<_>>>()?;
    Ok(Message { role: role_from_dp(m.role), content, metadata: m.metadata })
}

fn part_to_dp(p: &Part) -> dotprompt::Part {
    let others = p.tool_request.is_some()
        || p.tool_response.is_some()
        || p.data.is_some()
        || p.custom.is_some()
        || p.reasoning.is_some()
        || p.resource.is_some();
    match (&p.text, &p.media, others) {
        (Some(t), None, false) => dotprompt::Part::Text { text: t.clone(), metadata: p.metadata.clone() },
        (None, Some(m), false) => dotprompt::Part::Media {
            media: dotprompt::Media { url: m.url.clone(), content_type: m.content_type.clone() },
            metadata: p.metadata.clone(),
        },
        _ => match serde_json::to_value(p) {
            Ok(Value::Object(map)) => dotprompt::Part::Other(map),
            _ => dotprompt::Part::Other(Map::new()),
        },
    }
}

fn message_to_dp(m: &Message) -> dotprompt::Message {
    dotprompt::Message {
        role: role_to_dp(m.role),
        content: m.content.iter().map(part_to_dp).collect(),
        metadata: m.metadata.clone(),
    }
}

// ---- rendering ----

/// `{...default, ...input}` (an object input over an object default; otherwise the input).
fn with_default<'a>(default: Option<&Value>, input: &'a Value) -> Cow<'a, Value> {
    match (default, input) {
        (Some(Value::Object(d)), Value::Object(i)) => {
            let mut merged = d.clone();
            merged.extend(i.iter().map(|(k, v)| (k.clone(), v.clone())));
            Cow::Owned(Value::Object(merged))
        }
        (Some(d), Value::Null) => Cow::Owned(d.clone()),
        (_, input) => Cow::Borrowed(input),
    }
}

/// Template data, built once per render and only when a template is used.
struct Data<'a> {
    input: &'a Value,
    context: &'a ActionContext,
    arg: Option<DataArgument>,
}

impl Data<'_> {
    fn get(&mut self) -> &mut DataArgument {
        let (input, context) = (self.input, self.context);
        self.arg.get_or_insert_with(|| DataArgument {
            input: Some(input.clone()),
            context: Some(context.as_map().clone()),
            ..DataArgument::default()
        })
    }
}

async fn render_parts(
    state: &PromptState,
    slot: Slot,
    content: &PromptContent,
    input: &Value,
    cx: &PromptCx,
    data: &mut Data<'_>,
) -> Result<Vec<Part>> {
    match content {
        PromptContent::Parts(p) => Ok(p.clone()),
        PromptContent::Fn(f) => (f.0)(input.clone(), cx.clone()).await,
        PromptContent::Template(source) => {
            let compiled = state.template(slot, source)?;
            let rendered = compiled.render(data.get(), None).map_err(|e| super::convert_error(e, None))?;
            let mut messages = rendered.messages.into_iter();
            match (messages.next(), messages.next()) {
                (Some(m), None) => Ok(message_from_dp(m)?.content),
                _ => Err(Error::invalid_argument(format!(
                    "the {} template of prompt '{}' must render exactly one message",
                    if slot == Slot::System { "system" } else { "prompt" },
                    state.key
                ))),
            }
        }
    }
}

/// The render context with the current session's state as `state` (JS passes
/// `session.getCustom()`): templates read it as `@state`, prompt functions as
/// `PromptCx::state`. Outside a session, or when the session has no state, the context is
/// left as it is.
fn with_session_state(context: ActionContext) -> ActionContext {
    match crate::experimental::session::current_session().ok().and_then(|s| s.custom()) {
        Some(state) => context.with("state", state),
        None => context,
    }
}

/// Renders the prompt with `input` and the call options `opts` into the options of a
/// `generate` call.
pub(crate) async fn render(state: &PromptState, input: &Value, mut opts: GenerateOptions) -> Result<GenerateOptions> {
    let resolved = state.resolve()?;
    let cfg: &PromptConfig = &resolved.config;
    let context = with_session_state(opts.context.clone().or_else(current_context).unwrap_or_default());
    let input = with_default(cfg.input_default.as_ref(), input);
    let input: &Value = &input;
    let history = std::mem::take(&mut opts.messages);
    let cx = PromptCx { context: context.clone(), history: None };
    let mut data = Data { input, context: &context, arg: None };
    let mut messages = Vec::with_capacity(history.len() + 2);

    if let Some(system) = &cfg.system {
        let parts = render_parts(state, Slot::System, system, input, &cx, &mut data).await?;
        messages.push(Message::new(Role::System, parts));
    }
    match &cfg.messages {
        Some(PromptMessages::Fn(f)) => {
            let cx = PromptCx { context: context.clone(), history: Some(history) };
            messages.extend((f.0)(input.clone(), cx).await?);
        }
        Some(PromptMessages::Template(source)) => {
            let compiled = state.template(Slot::Messages, source)?;
            let arg = data.get();
            arg.messages = (!history.is_empty()).then(|| history.iter().map(message_to_dp).collect());
            let rendered = compiled.render(arg, None).map_err(|e| super::convert_error(e, None));
            arg.messages = None;
            for m in rendered?.messages {
                messages.push(message_from_dp(m)?);
            }
        }
        Some(PromptMessages::Messages(m)) => messages.extend(m.iter().cloned()),
        None => messages.extend(history),
    }
    if let Some(prompt) = &cfg.prompt {
        let parts = render_parts(state, Slot::Prompt, prompt, input, &cx, &mut data).await?;
        messages.push(Message::new(Role::User, parts));
    }
    let docs = match &cfg.docs {
        Some(PromptDocs::Fn(f)) => (f.0)(input.clone(), cx).await?,
        Some(PromptDocs::Docs(d)) => d.clone(),
        None => Vec::new(),
    };
    Ok(assemble(cfg, messages, docs, opts))
}

/// The prompt's options with the call's set options laid over them (JS
/// `{...prompt, ...stripUndefined(opts), config: {...prompt.config, ...opts.config}}`).
fn assemble(
    cfg: &PromptConfig,
    messages: Vec<Message>,
    docs: Vec<crate::DocumentData>,
    opts: GenerateOptions,
) -> GenerateOptions {
    let GenerateOptions {
        model,
        system,
        prompt,
        messages: _,
        docs: call_docs,
        tools,
        resources,
        tool_choice,
        return_tool_requests,
        max_turns,
        config,
        output,
        resume,
        middleware,
        context,
        cancellation,
        step_name,
        on_chunk,
        metadata,
    } = opts;
    let config = match (&cfg.config, config) {
        (Some(Value::Object(base)), Some(Value::Object(over))) => {
            let mut merged = base.clone();
            merged.extend(over);
            Some(Value::Object(merged))
        }
        (base, None) => base.clone().filter(|b| b.as_object().is_none_or(|m| !m.is_empty())),
        (_, Some(over)) => Some(over),
    };
    let prompt_metadata = cfg.metadata.as_ref().and_then(|m| m.get("metadata")).filter(|m| truthy(m));
    GenerateOptions {
        model: model.or_else(|| cfg.model.clone()),
        system,
        prompt,
        messages,
        docs: if call_docs.is_empty() { docs } else { call_docs },
        tools: if tools.is_empty() { cfg.tools.clone() } else { tools },
        resources,
        tool_choice: tool_choice.or(cfg.tool_choice),
        return_tool_requests: return_tool_requests.or(cfg.return_tool_requests),
        max_turns: max_turns.or(cfg.max_turns),
        config,
        output: output.or_else(|| cfg.output.clone()),
        resume,
        middleware: if middleware.is_empty() { cfg.middleware.clone() } else { middleware },
        context,
        cancellation,
        step_name,
        on_chunk,
        metadata: metadata.or_else(|| {
            prompt_metadata.map(|m| {
                let mut out = Map::new();
                out.insert("prompt".into(), m.clone());
                out
            })
        }),
    }
}

/// Renders inside a `render` span of type `promptTemplate` (attribute `promptName`).
pub(crate) async fn render_traced(
    state: &PromptState,
    telemetry: &Arc<Telemetry>,
    input: &Value,
    opts: GenerateOptions,
) -> Result<GenerateOptions> {
    let fut = async { render(state, input, opts).await.map(Rendered) };
    let r = genkit_core::run_span_with_metadata(
        telemetry,
        "render",
        "promptTemplate",
        &[("promptName", &state.key)],
        || Some(input.to_string()),
        fut,
    )
    .await?;
    Ok(r.0)
}

/// The rendered options as the `render` span records them.
struct Rendered(GenerateOptions);

impl Serialize for Rendered {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let o = &self.0;
        let mut m = serializer.serialize_map(None)?;
        if let Some(model) = &o.model {
            m.serialize_entry("model", &model_name(model))?;
        }
        if let Some(n) = o.max_turns {
            m.serialize_entry("maxTurns", &n)?;
        }
        m.serialize_entry("messages", &o.messages)?;
        if !o.docs.is_empty() {
            m.serialize_entry("docs", &o.docs)?;
        }
        if !o.tools.is_empty() {
            m.serialize_entry("tools", &o.tools.iter().map(tool_name).collect::<Vec<_>>())?;
        }
        if let Some(r) = o.return_tool_requests {
            m.serialize_entry("returnToolRequests", &r)?;
        }
        if let Some(c) = o.tool_choice {
            m.serialize_entry("toolChoice", &c)?;
        }
        if let Some(out) = &o.output {
            let mut j = Map::new();
            if let Some(s) = &out.schema {
                j.insert("jsonSchema".into(), s.clone());
            }
            if let Some(f) = &out.format {
                j.insert("format".into(), Value::String(f.clone()));
            }
            m.serialize_entry("output", &j)?;
        }
        if !o.middleware.is_empty() {
            m.serialize_entry("use", &o.middleware.iter().map(|u| u.to_ref()).collect::<Vec<_>>())?;
        }
        if let Some(c) = &o.config {
            m.serialize_entry("config", c)?;
        }
        if let Some(md) = &o.metadata {
            m.serialize_entry("metadata", md)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_parts_survive_the_trip_through_dotprompt() {
        let parts = vec![
            Part::text("t").with_metadata("k", json!(1)),
            Part::media("data:image/png;base64,AA", Some("image/png".into())),
            Part::tool_request("lookup", Some(json!({"q": 1})), Some("r1".into())),
            Part::tool_response("lookup", Some(json!("ok")), Some("r1".into())),
            Part::data(json!({"x": [1, 2]})),
            Part::reasoning("hmm"),
            Part { metadata: Some(Map::from_iter([("purpose".to_owned(), json!("output"))])), ..Part::default() },
        ];
        let m = Message { role: Role::Model, content: parts, metadata: Some(Map::new()) };
        let back = message_from_dp(message_to_dp(&m)).unwrap();
        assert_eq!(back, m);
        assert!(matches!(message_to_dp(&m).content[0], dotprompt::Part::Text { .. }));
        assert!(matches!(message_to_dp(&m).content[1], dotprompt::Part::Media { .. }));
    }

    #[test]
    fn defaults_merge_under_object_inputs() {
        let d = json!({"a": 1, "b": 2});
        assert_eq!(*with_default(Some(&d), &json!({"b": 3})), json!({"a": 1, "b": 3}));
        assert_eq!(*with_default(Some(&d), &Value::Null), d);
        assert_eq!(*with_default(None, &json!("x")), json!("x"));
    }
}
