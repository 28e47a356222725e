//! Genkit request → Messages API request: system prompt, roles, text, images, documents,
//! tool calls and results, thinking sent back with its signature, server tool blocks sent
//! back as they came, prompt caching from part metadata, tools and `tool_choice`, thinking,
//! effort, structured output, the beta list and the config keys passed through.

use genkit_ai::{Message, ModelRequest, Part, Role, ToolChoice, ToolDefinition};
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};

use super::wire::{Block, KnownBlock, MessageParam, MessagesRequest, Source, SystemPrompt};
use crate::config::{AnthropicConfig, ApiSurface, RESERVED};
use crate::document::DOCUMENT_KEY;

/// `max_tokens` when the config sets none (as Genkit JS).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The beta features `apiVersion: "beta"` turns on (as Genkit JS's beta runner).
pub const DEFAULT_BETAS: [&str; 4] =
    ["effort-2025-11-24", "structured-outputs-2025-11-13", "task-budgets-2026-03-13", "files-api-2025-04-14"];

/// The beta that structured output (`output_format`) needs.
pub const STRUCTURED_OUTPUTS_BETA: &str = "structured-outputs-2025-11-13";
/// The beta that `output_config.effort` needs.
pub const EFFORT_BETA: &str = "effort-2025-11-24";
/// The beta that Files API sources (`anthropic/file`, `anthropic/image` media) need.
pub const FILES_BETA: &str = "files-api-2025-04-14";

/// Part metadata key of a thinking block's signature (as Genkit Go and Python keep it).
pub const SIGNATURE_KEY: &str = "thoughtSignature";
/// Part `custom` key of a redacted thinking block's data.
pub const REDACTED_THINKING_KEY: &str = "redactedThinking";
/// Part metadata key of a server tool call (`server_tool_use`, `mcp_tool_use`).
pub const SERVER_TOOL_USE_KEY: &str = "anthropicServerToolUse";
/// Part `custom` key of a server tool result (`web_search_tool_result`, …).
pub const SERVER_TOOL_RESULT_KEY: &str = "anthropicServerToolResult";
/// Part `custom` key of a block of a kind this plugin does not model, kept as it came.
pub const RAW_BLOCK_KEY: &str = "anthropicBlock";

/// What the encoding needs besides the request and its config.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions<'a> {
    /// The model id at the API (the config's `version` wins).
    pub model: &'a str,
    /// Ask for an SSE stream.
    pub stream: bool,
    /// The model takes native structured output (`output_format`).
    pub structured_output: bool,
    /// Mark the system prompt for caching (plugin option, as Genkit JS's `cacheSystemPrompt`).
    pub cache_system_prompt: bool,
}

/// An encoded request: the body, the beta features it needs and a per-request key.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The JSON body.
    pub body: MessagesRequest,
    /// `anthropic-beta` values this request needs (besides the plugin's own).
    pub betas: Vec<String>,
    /// The config's `apiKey`, if any.
    pub api_key: Option<String>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::invalid_argument(msg)
}

/// `cache_control` of a part or tool: `metadata.cache_control` (or `cacheControl`) as an
/// object, `true` for `{"type":"ephemeral"}`, or a TTL string such as `"1h"`.
fn cache_control(metadata: Option<&Map<String, Value>>) -> Option<Value> {
    let v = metadata?.get("cache_control").or_else(|| metadata?.get("cacheControl"))?;
    match v {
        Value::Object(_) => Some(v.clone()),
        Value::Bool(true) => Some(json!({"type": "ephemeral"})),
        Value::String(ttl) => Some(json!({"type": "ephemeral", "ttl": ttl})),
        _ => None,
    }
}

/// `(mime, base64 data)` of a `data:` URL (`None` if it is not a base64 data URL).
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    Some((mime, data))
}

fn media_source(url: &str, content_type: Option<&str>) -> Result<(String, Source)> {
    if let Some((mime, data)) = data_url(url) {
        let mime = content_type.filter(|c| !c.is_empty()).unwrap_or(mime).to_owned();
        return Ok((mime.clone(), Source::Base64 { media_type: mime, data: data.to_owned() }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok((content_type.unwrap_or("").to_owned(), Source::Url { url: url.to_owned() }));
    }
    let shown: String = url.chars().take(40).collect();
    Err(invalid(format!(
        "Anthropic takes media as base64 data: URLs or http(s) URLs; got {shown:?} (download it first, \
         for example with the download-media middleware)"
    )))
}

fn decode_text(data: &str) -> Result<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| invalid(format!("a text/plain media part has invalid base64 data: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("a text/plain media part is not UTF-8 text"))
}

fn document(source: Source, cache: Option<Value>) -> Block {
    Block::Known(KnownBlock::Document { source, title: None, context: None, citations: None, cache_control: cache })
}

/// The block of a media part: images, PDFs and plain text documents, Files API files.
fn media_block(url: &str, content_type: Option<&str>, cache: Option<Value>, betas: &mut Vec<String>) -> Result<Block> {
    match content_type {
        Some("anthropic/file") => {
            push_beta(betas, FILES_BETA);
            return Ok(document(Source::File { file_id: url.to_owned() }, cache));
        }
        Some("anthropic/image") => {
            push_beta(betas, FILES_BETA);
            return Ok(Block::Known(KnownBlock::Image {
                source: Source::File { file_id: url.to_owned() },
                cache_control: cache,
            }));
        }
        _ => {}
    }
    let (mime, source) = media_source(url, content_type)?;
    match (mime.as_str(), source) {
        ("application/pdf", source) => Ok(document(source, cache)),
        ("text/plain", Source::Base64 { data, .. }) => {
            Ok(document(Source::Text { media_type: "text/plain".into(), data: decode_text(&data)? }, cache))
        }
        (m, source) if m.starts_with("image/") || (m.is_empty() && matches!(source, Source::Url { .. })) => {
            Ok(Block::Known(KnownBlock::Image { source, cache_control: cache }))
        }
        (m, _) => Err(invalid(format!(
            "Anthropic does not take media of type {m:?}: images (jpeg, png, gif, webp), application/pdf and \
             text/plain documents only"
        ))),
    }
}

fn push_beta(betas: &mut Vec<String>, beta: &str) {
    if !betas.iter().any(|b| b == beta) {
        betas.push(beta.to_owned());
    }
}

/// The content blocks of a tool result: its multipart `content`, else its output (a string
/// as text, an image as an image, anything else as JSON text).
fn tool_result_content(
    part_content: Option<&Vec<Part>>,
    output: Option<&Value>,
    betas: &mut Vec<String>,
) -> Result<Vec<Block>> {
    if let Some(parts) = part_content.filter(|p| !p.is_empty()) {
        let mut out = Vec::new();
        for p in parts {
            if let Some(t) = p.text.as_deref().filter(|t| !t.is_empty()) {
                out.push(Block::Known(KnownBlock::Text { text: t.to_owned(), cache_control: None }));
            } else if let Some(m) = &p.media {
                out.push(media_block(&m.url, m.content_type.as_deref(), None, betas)?);
            }
        }
        return Ok(out);
    }
    let image = |url: &str, ct: Option<&str>| -> Option<Block> {
        let (mime, data) = data_url(url)?;
        let mime = ct.unwrap_or(mime);
        mime.starts_with("image/").then(|| {
            Block::Known(KnownBlock::Image {
                source: Source::Base64 { media_type: mime.to_owned(), data: data.to_owned() },
                cache_control: None,
            })
        })
    };
    let text = |t: String| Block::Known(KnownBlock::Text { text: t, cache_control: None });
    Ok(match output {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![image(s, None).unwrap_or_else(|| text(s.clone()))],
        Some(v @ Value::Object(o)) => {
            let media = o
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| image(u, o.get("contentType").and_then(Value::as_str)));
            vec![media.unwrap_or_else(|| text(v.to_string()))]
        }
        Some(v) => vec![text(v.to_string())],
    })
}

fn signature(part: &Part) -> Option<String> {
    part.metadata_value(SIGNATURE_KEY)
        .or_else(|| part.custom.as_ref()?.get("anthropicThinking")?.get("signature"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A server tool result part sent back: `custom.anthropicServerToolResult` as a block.
fn server_result_block(r: &Map<String, Value>) -> Block {
    let mut b = Map::new();
    for (k, v) in r {
        let key = match k.as_str() {
            "toolUseId" => "tool_use_id",
            other => other,
        };
        b.insert(key.to_owned(), v.clone());
    }
    Block::Raw(Value::Object(b))
}

/// A server tool call part sent back: `metadata.anthropicServerToolUse` as a block.
fn server_use_block(u: &Map<String, Value>) -> Block {
    let mut b = Map::new();
    b.insert("type".into(), u.get("type").cloned().unwrap_or_else(|| json!("server_tool_use")));
    for (k, v) in u {
        match k.as_str() {
            "type" => {}
            "serverName" => {
                b.insert("server_name".into(), v.clone());
            }
            "name" if u.contains_key("serverName") => {
                // `server/tool` as shown → the tool name alone, as the API sent it.
                let name = v.as_str().map(|n| n.rsplit('/').next().unwrap_or(n).to_owned());
                b.insert("name".into(), name.map_or_else(|| v.clone(), Value::String));
            }
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    Block::Raw(Value::Object(b))
}

/// The block of one part, `None` for parts that have nothing to send (empty text, thinking
/// without a signature, which the API would reject: such reasoning comes from another model).
fn part_block(part: &Part, betas: &mut Vec<String>) -> Result<Option<Block>> {
    let cache = || cache_control(part.metadata.as_ref());
    if let Some(r) = &part.reasoning {
        let Some(signature) = signature(part) else {
            tracing::debug!("a reasoning part without a signature is not sent to Anthropic");
            return Ok(None);
        };
        return Ok(Some(Block::Known(KnownBlock::Thinking { thinking: r.clone(), signature })));
    }
    if let Some(custom) = &part.custom {
        if let Some(data) = custom.get(REDACTED_THINKING_KEY).and_then(Value::as_str) {
            return Ok(Some(Block::Known(KnownBlock::RedactedThinking { data: data.to_owned() })));
        }
        if let Some(doc) = custom.get(DOCUMENT_KEY) {
            return crate::document::document_block(doc, cache(), betas).map(Some);
        }
        if let Some(Value::Object(r)) = custom.get(SERVER_TOOL_RESULT_KEY) {
            return Ok(Some(server_result_block(r)));
        }
        if let Some(raw) = custom.get(RAW_BLOCK_KEY) {
            return Ok(Some(Block::Raw(raw.clone())));
        }
    }
    if let Some(Value::Object(u)) = part.metadata_value(SERVER_TOOL_USE_KEY) {
        return Ok(Some(server_use_block(u)));
    }
    if let Some(t) = &part.text {
        if t.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Block::Known(KnownBlock::Text { text: t.clone(), cache_control: cache() })));
    }
    if let Some(m) = &part.media {
        return media_block(&m.url, m.content_type.as_deref(), cache(), betas).map(Some);
    }
    if let Some(t) = &part.tool_request {
        let id = t.reference.clone().ok_or_else(|| {
            invalid(format!("the tool request for '{}' has no ref: Anthropic needs the tool_use id", t.name))
        })?;
        let input = match &t.input {
            None | Some(Value::Null) => json!({}),
            Some(v) => v.clone(),
        };
        return Ok(Some(Block::Known(KnownBlock::ToolUse { id, name: t.name.clone(), input, cache_control: cache() })));
    }
    if let Some(t) = &part.tool_response {
        let tool_use_id = t.reference.clone().ok_or_else(|| {
            invalid(format!("the tool response for '{}' has no ref: Anthropic needs the tool_use id", t.name))
        })?;
        let is_error = part.metadata_value("is_error").and_then(Value::as_bool).filter(|e| *e);
        let content = tool_result_content(t.content.as_ref(), t.output.as_ref(), betas)?;
        return Ok(Some(Block::Known(KnownBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
            cache_control: cache(),
        })));
    }
    if let Some(d) = &part.data {
        return Ok(Some(Block::Known(KnownBlock::Text { text: d.to_string(), cache_control: cache() })));
    }
    Err(invalid(format!("Anthropic cannot take this part: {}", serde_json::to_string(part).unwrap_or_default())))
}

/// The top-level system prompt of every system message (text parts only).
fn system_prompt(messages: &[Message], cache_all: bool) -> Result<Option<SystemPrompt>> {
    let mut parts: Vec<(&str, Option<Value>)> = Vec::new();
    for m in messages.iter().filter(|m| m.role == Role::System) {
        for p in &m.content {
            match &p.text {
                Some(t) if !t.is_empty() => parts.push((t, cache_control(p.metadata.as_ref()))),
                Some(_) => {}
                None if p.media.is_some() || p.tool_request.is_some() || p.tool_response.is_some() => {
                    return Err(invalid("Anthropic system prompts take text parts only"));
                }
                None => {}
            }
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    if !cache_all && parts.iter().all(|(_, c)| c.is_none()) {
        let texts: Vec<&str> = parts.iter().map(|(t, _)| *t).collect();
        return Ok(Some(SystemPrompt::Text(texts.join("\n\n"))));
    }
    let n = parts.len();
    let blocks = parts
        .into_iter()
        .enumerate()
        .map(|(i, (t, c))| {
            let c = c.or_else(|| (cache_all && i + 1 == n).then(|| json!({"type": "ephemeral"})));
            Block::Known(KnownBlock::Text { text: t.to_owned(), cache_control: c })
        })
        .collect();
    Ok(Some(SystemPrompt::Blocks(blocks)))
}

/// A Genkit tool as an Anthropic tool (`input_schema` must be an object schema).
fn tool(t: &ToolDefinition) -> Value {
    let mut schema = match &t.input_schema {
        Some(Value::Object(s)) => s.clone(),
        _ => Map::new(),
    };
    schema.remove("$schema");
    if !schema.contains_key("type") {
        schema.insert("type".into(), json!("object"));
    }
    let mut m = Map::new();
    m.insert("name".into(), json!(t.name));
    if !t.description.is_empty() {
        m.insert("description".into(), json!(t.description));
    }
    m.insert("input_schema".into(), Value::Object(schema));
    if let Some(c) = cache_control(t.metadata.as_ref()) {
        m.insert("cache_control".into(), c);
    }
    Value::Object(m)
}

/// A JSON schema as structured output takes it: no `$schema`, and
/// `additionalProperties: false` on every object schema that does not say otherwise.
///
/// ```
/// use serde_json::json;
/// let s = genkit_anthropic::codec::structured_schema(&json!({
///     "$schema": "http://json-schema.org/draft-07/schema#",
///     "type": "object", "properties": {"tags": {"type": "array", "items": {"type": "object"}}}
/// }));
/// assert_eq!(s["additionalProperties"], false);
/// assert_eq!(s["properties"]["tags"]["items"]["additionalProperties"], false);
/// assert!(s.get("$schema").is_none());
/// ```
pub fn structured_schema(schema: &Value) -> Value {
    fn walk(v: &mut Value, top: bool) {
        match v {
            Value::Object(m) => {
                if top {
                    m.remove("$schema");
                }
                let is_object = match m.get("type") {
                    Some(Value::String(t)) => t == "object",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                    _ => false,
                };
                if is_object && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                for (k, child) in m.iter_mut() {
                    if k == "properties" || k == "$defs" || k == "definitions" || k == "patternProperties" {
                        if let Value::Object(props) = child {
                            props.values_mut().for_each(|p| walk(p, false));
                        }
                    } else if k != "enum" && k != "const" && k != "default" && k != "examples" {
                        walk(child, false);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, false)),
            _ => {}
        }
    }
    let mut out = schema.clone();
    walk(&mut out, true);
    out
}

/// Whether the request asks for JSON matching a schema.
fn wants_structured(req: &ModelRequest) -> Option<&Map<String, Value>> {
    let out = req.output.as_ref()?;
    let json = out.format.as_deref().is_none_or(|f| f == "json");
    (json && out.constrained != Some(false)).then_some(out.schema.as_ref()).flatten()
}

/// Encodes a Genkit request for `POST /v1/messages`.
///
/// # Errors
/// `INVALID_ARGUMENT` for parts Anthropic cannot take (media other than images, PDFs and
/// plain text, media by `gs://` URL, tool calls or results without a `ref`, non-text system
/// parts).
pub fn encode_request(req: &ModelRequest, cfg: AnthropicConfig, opts: &EncodeOptions<'_>) -> Result<Encoded> {
    let AnthropicConfig {
        version,
        temperature,
        max_output_tokens,
        top_k,
        top_p,
        stop_sequences,
        api_key,
        tool_choice,
        metadata,
        thinking,
        effort,
        output_config,
        betas: cfg_betas,
        api_version,
        mut extra,
    } = cfg;
    let mut betas: Vec<String> = Vec::new();
    if api_version == Some(ApiSurface::Beta) {
        DEFAULT_BETAS.iter().for_each(|b| push_beta(&mut betas, b));
    }
    for b in cfg_betas.iter().flatten() {
        push_beta(&mut betas, b);
    }

    let system = system_prompt(&req.messages, opts.cache_system_prompt)?;
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let role = match m.role {
            Role::System => continue,
            Role::Model => "assistant",
            Role::User | Role::Tool => "user",
        };
        let mut content = Vec::with_capacity(m.content.len());
        for p in &m.content {
            if let Some(b) = part_block(p, &mut betas)? {
                content.push(b);
            }
        }
        if !content.is_empty() {
            messages.push(MessageParam { role, content });
        }
    }

    let mut tools: Vec<Value> = req.tools.iter().flatten().map(tool).collect();
    match extra.remove("tools") {
        Some(Value::Array(server_tools)) => tools.extend(server_tools),
        Some(Value::Null) | None => {}
        Some(other) => return Err(invalid(format!("config.tools must be an array of tools, got {other}"))),
    }
    let tool_choice = tool_choice.or_else(|| {
        let kind = match req.tool_choice? {
            ToolChoice::Auto => "auto",
            ToolChoice::Required => "any",
            ToolChoice::None => "none",
        };
        (!tools.is_empty()).then(|| json!({ "type": kind }))
    });

    let thinking_budget = thinking.as_ref().and_then(|t| t.budget());
    let thinking = thinking.as_ref().and_then(|t| t.to_wire());
    let max_tokens = max_output_tokens.unwrap_or_else(|| DEFAULT_MAX_TOKENS + thinking_budget.unwrap_or(0));

    let mut output_config = output_config;
    if let Some(e) = effort {
        output_config.get_or_insert_with(Map::new).insert("effort".into(), Value::String(e));
    }
    if output_config.as_ref().is_some_and(|o| o.contains_key("effort")) {
        push_beta(&mut betas, EFFORT_BETA);
    }
    let output_format = match wants_structured(req) {
        Some(schema) if opts.structured_output => {
            push_beta(&mut betas, STRUCTURED_OUTPUTS_BETA);
            Some(json!({"type": "json_schema", "schema": structured_schema(&Value::Object(schema.clone()))}))
        }
        _ => None,
    };
    for k in RESERVED {
        extra.remove(k);
    }
    // A config key naming a body field the plugin sets would be sent twice: the field wins
    // (`max_tokens` given raw counts when `maxOutputTokens` is unset).
    let max_tokens = match extra.remove("max_tokens").and_then(|v| v.as_u64()) {
        Some(raw) if max_output_tokens.is_none() => u32::try_from(raw).unwrap_or(u32::MAX),
        _ => max_tokens,
    };

    let body = MessagesRequest {
        model: version.unwrap_or_else(|| opts.model.to_owned()),
        max_tokens,
        system,
        messages,
        tools,
        tool_choice,
        temperature,
        top_p,
        top_k,
        stop_sequences: stop_sequences.filter(|s| !s.is_empty()),
        metadata,
        thinking,
        output_config,
        output_format,
        stream: opts.stream.then_some(true),
        extra,
    };
    let mut body = body;
    let set = [
        ("tool_choice", body.tool_choice.is_some()),
        ("temperature", body.temperature.is_some()),
        ("top_p", body.top_p.is_some()),
        ("top_k", body.top_k.is_some()),
        ("stop_sequences", body.stop_sequences.is_some()),
        ("metadata", body.metadata.is_some()),
        ("thinking", body.thinking.is_some()),
        ("output_config", body.output_config.is_some()),
        ("output_format", body.output_format.is_some()),
    ];
    for (k, present) in set {
        if present {
            body.extra.remove(k);
        }
    }
    Ok(Encoded { body, betas, api_key })
}

#[cfg(test)]
mod tests;
