//! Genkit request → Chat Completions body: messages (text, vision, audio, files, tool calls
//! and results), tools and `tool_choice`, JSON mode and `json_schema` output, config fields
//! and pass-through keys.

use genkit_ai::{Media, Message, ModelRequest, Part, Role, ToolChoice, ToolDefinition};
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};

use super::config::{ChatConfig, RESERVED, VisualDetailLevel};
use super::schema::strict_schema;
use super::wire::{
    ChatMessage, ChatRequest, ContentPart, FileData, FunctionOut, ImageUrl, InputAudio, MessageContent, StreamOptions,
    ToolCallOut,
};

/// How a request is encoded for one model of one provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncodeOptions<'a> {
    /// The model id sent as `model` (unless `config.version` overrides it).
    pub model: &'a str,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI reasoning models).
    pub max_completion_tokens: bool,
    /// Whether JSON schemas are sent with `strict: true` unless the config says otherwise.
    pub strict_default: bool,
    /// Ask for a streamed answer (with `stream_options.include_usage`).
    pub stream: bool,
}

/// Parses a request's `config` into [`ChatConfig`].
///
/// # Errors
/// `INVALID_ARGUMENT` when the config is not an object of the right shape.
pub fn parse_config(config: Option<&Value>) -> Result<ChatConfig> {
    match config {
        None | Some(Value::Null) => Ok(ChatConfig::default()),
        Some(v) => ChatConfig::deserialize_value(v),
    }
}

impl ChatConfig {
    fn deserialize_value(v: &Value) -> Result<ChatConfig> {
        serde::Deserialize::deserialize(v).map_err(|e| Error::invalid_argument(format!("invalid model config: {e}")))
    }
}

/// Encodes a Genkit model request as a Chat Completions body.
///
/// ```
/// use genkit_ai::{Message, ModelRequest};
/// use genkit_openai_compat::codec::{EncodeOptions, encode_chat_request, parse_config};
/// let req = ModelRequest { messages: vec![Message::user("Hi")], ..Default::default() };
/// let cfg = parse_config(Some(&serde_json::json!({"temperature": 0.5, "seed": 7}))).unwrap();
/// let body = encode_chat_request(&req, cfg, &EncodeOptions { model: "gpt-4o", ..Default::default() }).unwrap();
/// assert_eq!(
///     body.to_json(),
///     serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.5, "seed": 7})
/// );
/// ```
///
/// # Errors
/// `INVALID_ARGUMENT` for content the API cannot take (e.g. a non-image media URL).
pub fn encode_chat_request(req: &ModelRequest, cfg: ChatConfig, o: &EncodeOptions<'_>) -> Result<ChatRequest> {
    let detail = cfg.visual_detail_level;
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        encode_message(m, detail, &mut messages)?;
    }
    let ChatConfig {
        version,
        temperature,
        max_output_tokens,
        top_p,
        top_k: _,
        stop_sequences,
        api_key: _,
        frequency_penalty,
        presence_penalty,
        seed,
        log_probs,
        top_log_probs,
        user,
        store,
        reasoning_effort,
        parallel_tool_calls,
        visual_detail_level: _,
        strict_json_schema,
        mut extra,
    } = cfg;

    let mut tools: Vec<Value> = req.tools.iter().flatten().map(encode_tool).collect();
    if let Some(Value::Array(raw)) = extra.remove("tools") {
        tools.extend(raw);
    }
    let response_format = if extra.contains_key("response_format") {
        None
    } else {
        response_format(req, strict_json_schema.unwrap_or(o.strict_default))
    };
    let (max_tokens, max_completion_tokens) =
        if o.max_completion_tokens { (None, max_output_tokens) } else { (max_output_tokens, None) };
    let mut body = ChatRequest {
        model: version.unwrap_or_else(|| o.model.to_owned()),
        messages,
        tool_choice: if tools.is_empty() { None } else { req.tool_choice.map(tool_choice) },
        tools: (!tools.is_empty()).then_some(tools),
        response_format,
        temperature,
        top_p,
        max_tokens,
        max_completion_tokens,
        stop: stop_sequences.filter(|s| !s.is_empty()),
        frequency_penalty,
        presence_penalty,
        seed,
        logprobs: log_probs,
        top_logprobs: top_log_probs,
        user,
        store,
        reasoning_effort,
        parallel_tool_calls,
        stream: o.stream,
        stream_options: o.stream.then_some(StreamOptions { include_usage: true }),
        extra: Map::new(),
    };
    extra.retain(|k, _| !RESERVED.contains(&k.as_str()) && !is_set(&body, k));
    body.extra = extra;
    Ok(body)
}

/// Whether a typed field of the body already sets `key` (typed config wins over pass-through).
fn is_set(b: &ChatRequest, key: &str) -> bool {
    match key {
        "tools" => b.tools.is_some(),
        "tool_choice" => b.tool_choice.is_some(),
        "response_format" => b.response_format.is_some(),
        "temperature" => b.temperature.is_some(),
        "top_p" => b.top_p.is_some(),
        "max_tokens" => b.max_tokens.is_some(),
        "max_completion_tokens" => b.max_completion_tokens.is_some(),
        "stop" => b.stop.is_some(),
        "frequency_penalty" => b.frequency_penalty.is_some(),
        "presence_penalty" => b.presence_penalty.is_some(),
        "seed" => b.seed.is_some(),
        "logprobs" => b.logprobs.is_some(),
        "top_logprobs" => b.top_logprobs.is_some(),
        "user" => b.user.is_some(),
        "store" => b.store.is_some(),
        "reasoning_effort" => b.reasoning_effort.is_some(),
        "parallel_tool_calls" => b.parallel_tool_calls.is_some(),
        _ => false,
    }
}

fn tool_choice(c: ToolChoice) -> Value {
    Value::String(
        match c {
            ToolChoice::Auto => "auto",
            ToolChoice::Required => "required",
            ToolChoice::None => "none",
        }
        .to_owned(),
    )
}

fn encode_tool(t: &ToolDefinition) -> Value {
    let mut params = t.input_schema.clone().unwrap_or_else(|| json!({"type": "object", "properties": {}}));
    if let Some(o) = params.as_object_mut() {
        o.remove("$schema");
    }
    let mut f = Map::with_capacity(3);
    f.insert("name".into(), Value::String(t.name.clone()));
    if !t.description.is_empty() {
        f.insert("description".into(), Value::String(t.description.clone()));
    }
    f.insert("parameters".into(), params);
    json!({"type": "function", "function": Value::Object(f)})
}

/// `response_format` for JSON output: `json_schema` (strict when possible and wanted) with a
/// schema, `json_object` without.
fn response_format(req: &ModelRequest, strict: bool) -> Option<Value> {
    let out = req.output.as_ref()?;
    let json = out.format.as_deref() == Some("json") || out.content_type.as_deref() == Some("application/json");
    if !json {
        return None;
    }
    let Some(schema) = &out.schema else {
        return Some(json!({"type": "json_object"}));
    };
    let schema = Value::Object(schema.clone());
    let mut js = Map::with_capacity(3);
    js.insert("name".into(), json!("output"));
    match strict.then(|| strict_schema(&schema)).flatten() {
        Some(s) => {
            js.insert("schema".into(), s);
            js.insert("strict".into(), Value::Bool(true));
        }
        None => {
            let mut s = schema;
            if let Some(o) = s.as_object_mut() {
                o.remove("$schema");
            }
            js.insert("schema".into(), s);
        }
    }
    Some(json!({"type": "json_schema", "json_schema": Value::Object(js)}))
}

fn text_of(parts: &[Part]) -> String {
    let mut s = String::new();
    for p in parts {
        if let Some(t) = &p.text {
            s.push_str(t);
        }
    }
    s
}

fn encode_message(m: &Message, detail: Option<VisualDetailLevel>, out: &mut Vec<ChatMessage>) -> Result<()> {
    let msg = |role, content| ChatMessage { role, content, tool_calls: None, tool_call_id: None };
    match m.role {
        Role::System => out.push(msg("system", Some(MessageContent::Text(text_of(&m.content))))),
        Role::User => out.push(msg("user", Some(user_content(&m.content, detail)?))),
        Role::Model => {
            let calls: Vec<ToolCallOut> = m
                .content
                .iter()
                .filter_map(|p| p.tool_request.as_ref())
                .map(|t| ToolCallOut {
                    id: t.reference.clone().unwrap_or_else(|| t.name.clone()),
                    kind: "function",
                    function: FunctionOut {
                        name: t.name.clone(),
                        arguments: t.input.as_ref().map_or_else(|| "{}".to_owned(), Value::to_string),
                    },
                })
                .collect();
            // Reasoning parts are never sent back (DeepSeek rejects them; OpenAI ignores them).
            let text = text_of(&m.content);
            let content = if text.is_empty() && !calls.is_empty() { None } else { Some(MessageContent::Text(text)) };
            out.push(ChatMessage {
                role: "assistant",
                content,
                tool_calls: (!calls.is_empty()).then_some(calls),
                tool_call_id: None,
            });
        }
        Role::Tool => {
            for r in m.content.iter().filter_map(|p| p.tool_response.as_ref()) {
                let content = match &r.output {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => r.content.as_deref().map(text_of).unwrap_or_default(),
                };
                out.push(ChatMessage {
                    role: "tool",
                    content: Some(MessageContent::Text(content)),
                    tool_calls: None,
                    tool_call_id: Some(r.reference.clone().unwrap_or_else(|| r.name.clone())),
                });
            }
        }
    }
    Ok(())
}

/// A user message is a plain string when it is text only, else content parts.
fn user_content(parts: &[Part], detail: Option<VisualDetailLevel>) -> Result<MessageContent> {
    if parts.iter().all(|p| p.media.is_none()) {
        let mut s = text_of(parts);
        for p in parts {
            if let Some(d) = &p.data {
                s.push_str(&d.to_string());
            }
        }
        return Ok(MessageContent::Text(s));
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some(t) = &p.text {
            out.push(ContentPart::Text { text: t.clone() });
        } else if let Some(media) = &p.media {
            out.push(media_part(media, detail)?);
        } else if let Some(d) = &p.data {
            out.push(ContentPart::Text { text: d.to_string() });
        }
    }
    Ok(MessageContent::Parts(out))
}

/// A `data:` URL's MIME type and payload (with whether it is base64).
pub(crate) fn parse_data_url(url: &str) -> Option<(&str, bool, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let base64 = meta.ends_with(";base64");
    let mime = meta.split(';').next().unwrap_or("");
    Some((mime, base64, data))
}

fn media_part(media: &Media, detail: Option<VisualDetailLevel>) -> Result<ContentPart> {
    let data = parse_data_url(&media.url);
    let mime = media.content_type.as_deref().or(data.map(|d| d.0)).unwrap_or("");
    let detail = detail.map(|d| {
        match d {
            VisualDetailLevel::Auto => "auto",
            VisualDetailLevel::Low => "low",
            VisualDetailLevel::High => "high",
        }
        .to_owned()
    });
    let image = ContentPart::ImageUrl { image_url: ImageUrl { url: media.url.clone(), detail } };
    if mime.starts_with("image/") {
        return Ok(image);
    }
    match data {
        Some((_, true, payload)) if mime.starts_with("audio/") => {
            let format = match mime {
                "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
                "audio/mpeg" | "audio/mp3" => "mp3",
                other => other.trim_start_matches("audio/"),
            };
            Ok(ContentPart::InputAudio {
                input_audio: InputAudio { data: payload.to_owned(), format: format.to_owned() },
            })
        }
        Some(_) => {
            let ext = mime.rsplit('/').next().filter(|e| !e.is_empty()).unwrap_or("bin");
            Ok(ContentPart::File {
                file: FileData { filename: Some(format!("file.{ext}")), file_data: media.url.clone() },
            })
        }
        // A URL without a content type is assumed to be an image, as in Genkit JS.
        None if mime.is_empty() => Ok(image),
        None => Err(Error::invalid_argument(format!(
            "media of type {mime} can only be sent as a data: URL (got {}); only images may be given by URL",
            short(&media.url)
        ))),
    }
}

fn short(url: &str) -> &str {
    let mut end = url.len().min(80);
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    &url[..end]
}

#[cfg(test)]
mod tests;
