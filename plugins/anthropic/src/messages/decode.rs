//! Messages API answer → Genkit response: content blocks to parts (text with citations,
//! thinking with its signature, redacted thinking, tool calls, server tool calls and results),
//! stop reasons to finish reasons, usage with the cache counts.

use genkit_ai::{FinishReason, GenerationUsage, Message, ModelResponse, Part, Role};
use serde_json::{Map, Value, json};

use super::encode::{RAW_BLOCK_KEY, REDACTED_THINKING_KEY, SERVER_TOOL_RESULT_KEY, SERVER_TOOL_USE_KEY, SIGNATURE_KEY};
use super::wire::{MessageResponse, Usage};

/// Genkit's finish reason for a `stop_reason`, as Genkit JS maps them: the turn ended,
/// a stop sequence, a tool call, or a paused server tool turn (send the content back to
/// continue) → `stop`; the token limit or the context window → `length`; a refusal →
/// `other`; none → `unknown`.
pub fn finish_reason(r: Option<&str>) -> FinishReason {
    match r {
        Some("end_turn" | "stop_sequence" | "tool_use" | "pause_turn") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some(_) => FinishReason::Other,
        None => FinishReason::Unknown,
    }
}

/// Genkit usage for Anthropic `usage`: `inputTokens` and `outputTokens` as reported
/// (Anthropic's input count leaves out cached tokens), `cachedContentTokens` = cache reads,
/// `totalTokens` = input + cache writes + cache reads + output, and every Anthropic count in
/// `custom` (`cache_creation_input_tokens`, `cache_read_input_tokens`,
/// `ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`, `web_search_requests`, …).
pub fn usage(u: &Usage) -> GenerationUsage {
    let f = |n: Option<u64>| n.map(|n| n as f64);
    let mut custom = Map::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() {
            custom.insert(k.to_owned(), v);
        }
    };
    put("cache_creation_input_tokens", json!(u.cache_creation_input_tokens));
    put("cache_read_input_tokens", json!(u.cache_read_input_tokens));
    for m in [&u.cache_creation, &u.server_tool_use].into_iter().flatten() {
        for (k, v) in m {
            put(k, v.clone());
        }
    }
    if let Some(t) = &u.service_tier {
        put("service_tier", json!(t));
    }
    let total = match (u.input_tokens, u.output_tokens) {
        (None, None) => None,
        (i, o) => Some(
            i.unwrap_or(0)
                + o.unwrap_or(0)
                + u.cache_creation_input_tokens.unwrap_or(0)
                + u.cache_read_input_tokens.unwrap_or(0),
        ),
    };
    GenerationUsage {
        input_tokens: f(u.input_tokens),
        output_tokens: f(u.output_tokens),
        total_tokens: f(total),
        cached_content_tokens: f(u.cache_read_input_tokens),
        custom: (!custom.is_empty()).then_some(custom),
        ..GenerationUsage::default()
    }
}

fn custom_part(key: &str, value: Value) -> Part {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Part { custom: Some(Box::new(m)), ..Part::default() }
}

/// A text part, with `metadata.citations` when the block cites documents.
pub(crate) fn text_part(text: String, citations: Vec<Value>) -> Part {
    let p = Part::text(text);
    if citations.is_empty() { p } else { p.with_metadata("citations", Value::Array(citations)) }
}

/// A reasoning part, with the signature in `metadata.thoughtSignature`.
pub(crate) fn thinking_part(thinking: String, signature: Option<String>) -> Part {
    let p = Part::reasoning(thinking);
    match signature.filter(|s| !s.is_empty()) {
        Some(s) => p.with_metadata(SIGNATURE_KEY, Value::String(s)),
        None => p,
    }
}

/// A tool request part.
pub(crate) fn tool_use_part(id: Option<String>, name: String, input: Value) -> Part {
    Part::tool_request(name, Some(input), id)
}

/// A server tool call (`server_tool_use`, `mcp_tool_use`) as Genkit JS shows it: a text part
/// `[Anthropic server tool <name>] input: <json>` with the call in
/// `metadata.anthropicServerToolUse` (so it can be sent back).
pub(crate) fn server_tool_use_part(block: &Map<String, Value>) -> Part {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("server_tool_use");
    let name = block.get("name").and_then(Value::as_str).unwrap_or("unknown_tool");
    let server = block.get("server_name").and_then(Value::as_str);
    let shown = server.map_or_else(|| name.to_owned(), |s| format!("{s}/{name}"));
    let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
    let label = if kind == "mcp_tool_use" { "MCP tool" } else { "server tool" };
    let mut meta = Map::new();
    meta.insert("id".into(), block.get("id").cloned().unwrap_or(Value::Null));
    meta.insert("name".into(), Value::String(shown.clone()));
    meta.insert("input".into(), input.clone());
    if kind != "server_tool_use" {
        meta.insert("type".into(), Value::String(kind.to_owned()));
    }
    if let Some(s) = server {
        meta.insert("serverName".into(), Value::String(s.to_owned()));
    }
    Part::text(format!("[Anthropic {label} {shown}] input: {input}"))
        .with_metadata(SERVER_TOOL_USE_KEY, Value::Object(meta))
}

/// A server tool result (`web_search_tool_result`, `code_execution_tool_result`,
/// `mcp_tool_result`, …) as Genkit JS shows it: a text part `[Anthropic server tool result
/// <id>] <json>` with `custom.anthropicServerToolResult` = `{type, toolUseId, content, …}`.
fn server_tool_result_part(block: Map<String, Value>) -> Part {
    let mut r = Map::new();
    let mut id = String::new();
    for (k, v) in block {
        if k == "tool_use_id" {
            id = v.as_str().unwrap_or_default().to_owned();
            r.insert("toolUseId".into(), v);
        } else {
            r.insert(k, v);
        }
    }
    let content = r.get("content").cloned().unwrap_or(Value::Null);
    let mut p = custom_part(SERVER_TOOL_RESULT_KEY, Value::Object(r));
    p.text = Some(format!("[Anthropic server tool result {id}] {content}"));
    p
}

/// The part of one complete content block; `None` for blocks with nothing in them (empty text).
pub fn block_part(block: Value) -> Option<Part> {
    let Value::Object(mut b) = block else { return None };
    let kind = b.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let take_str = |b: &mut Map<String, Value>, k: &str| match b.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    match kind.as_str() {
        "text" => {
            let text = take_str(&mut b, "text").unwrap_or_default();
            let citations = match b.remove("citations") {
                Some(Value::Array(c)) => c,
                _ => Vec::new(),
            };
            (!text.is_empty() || !citations.is_empty()).then(|| text_part(text, citations))
        }
        "thinking" => {
            let thinking = take_str(&mut b, "thinking").unwrap_or_default();
            Some(thinking_part(thinking, take_str(&mut b, "signature")))
        }
        "redacted_thinking" => {
            Some(custom_part(REDACTED_THINKING_KEY, Value::String(take_str(&mut b, "data").unwrap_or_default())))
        }
        "tool_use" => {
            let input = b.remove("input").unwrap_or_else(|| json!({}));
            Some(tool_use_part(take_str(&mut b, "id"), take_str(&mut b, "name").unwrap_or_default(), input))
        }
        "server_tool_use" | "mcp_tool_use" => Some(server_tool_use_part(&b)),
        _ if b.contains_key("tool_use_id") => Some(server_tool_result_part(b)),
        _ => Some(custom_part(RAW_BLOCK_KEY, Value::Object(b))),
    }
}

/// `custom` of a response: the message id, model, stop sequence and container.
fn response_custom(m: &MessageResponse) -> Option<Value> {
    let mut c = Map::new();
    for (k, v) in [("id", &m.id), ("model", &m.model), ("stop_sequence", &m.stop_sequence)] {
        if let Some(v) = v {
            c.insert(k.into(), Value::String(v.clone()));
        }
    }
    if let Some(container) = &m.container {
        c.insert("container".into(), container.clone());
    }
    (!c.is_empty()).then_some(Value::Object(c))
}

/// The Genkit response of a message whose content is already parts.
pub(crate) fn response(m: &MessageResponse, content: Vec<Part>) -> ModelResponse {
    let reason = finish_reason(m.stop_reason.as_deref());
    let finish_message = match m.stop_reason.as_deref() {
        Some("refusal") => Some("the model declined to answer (stop_reason: refusal)".to_owned()),
        Some("pause_turn") => {
            Some("a server tool paused the turn: send the response back to let the model continue".to_owned())
        }
        _ => None,
    };
    ModelResponse {
        message: Some(Message::new(Role::Model, content)),
        finish_reason: Some(reason),
        finish_message,
        usage: m.usage.as_ref().map(usage),
        custom: response_custom(m),
        ..ModelResponse::default()
    }
}

/// Decodes a whole (non-streamed) message.
///
/// ```
/// use genkit_anthropic::codec::{MessageResponse, decode_message};
/// let m: MessageResponse = serde_json::from_value(serde_json::json!({
///     "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
///     "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "end_turn",
///     "usage": {"input_tokens": 5, "output_tokens": 2}
/// })).unwrap();
/// let r = decode_message(m);
/// assert_eq!(r.text(), "Hi!");
/// assert_eq!(r.usage.unwrap().total_tokens, Some(7.0));
/// ```
pub fn decode_message(mut m: MessageResponse) -> ModelResponse {
    let content: Vec<Part> = std::mem::take(&mut m.content).into_iter().filter_map(block_part).collect();
    response(&m, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_map_as_genkit_js_maps_them() {
        for (r, f) in [
            (Some("end_turn"), FinishReason::Stop),
            (Some("stop_sequence"), FinishReason::Stop),
            (Some("tool_use"), FinishReason::Stop),
            (Some("pause_turn"), FinishReason::Stop),
            (Some("max_tokens"), FinishReason::Length),
            (Some("model_context_window_exceeded"), FinishReason::Length),
            (Some("refusal"), FinishReason::Other),
            (None, FinishReason::Unknown),
        ] {
            assert_eq!(finish_reason(r), f, "{r:?}");
        }
    }

    #[test]
    fn usage_keeps_cache_counts() {
        let u: Usage = serde_json::from_value(json!({
            "input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 200,
            "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 40},
            "server_tool_use": {"web_search_requests": 2}, "service_tier": "standard"
        }))
        .unwrap();
        let g = usage(&u);
        assert_eq!((g.input_tokens, g.output_tokens, g.total_tokens), (Some(10.0), Some(5.0), Some(315.0)));
        assert_eq!(g.cached_content_tokens, Some(200.0));
        let c = g.custom.unwrap();
        assert_eq!(c["cache_creation_input_tokens"], 100);
        assert_eq!(c["ephemeral_1h_input_tokens"], 40);
        assert_eq!(c["web_search_requests"], 2);
        assert_eq!(c["service_tier"], "standard");
        assert_eq!(usage(&Usage::default()), GenerationUsage::default());
    }

    #[test]
    fn every_block_kind_has_a_part() {
        let parts: Vec<Part> = [
            json!({"type": "text", "text": "a", "citations": [{"type": "char_location", "cited_text": "x"}]}),
            json!({"type": "text", "text": ""}),
            json!({"type": "thinking", "thinking": "hmm", "signature": "sig"}),
            json!({"type": "redacted_thinking", "data": "enc"}),
            json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}),
            json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}),
            json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"type": "web_search_result", "url": "u"}]}),
            json!({"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "echo", "server_name": "srv", "input": {}}),
            json!({"type": "compaction", "content": "summary"}),
        ]
        .into_iter()
        .filter_map(block_part)
        .collect();
        assert_eq!(parts.len(), 8, "the empty text block has no part");
        assert_eq!(parts[0].metadata_value("citations").unwrap()[0]["type"], "char_location");
        assert_eq!(parts[1].reasoning.as_deref(), Some("hmm"));
        assert_eq!(parts[1].metadata_value("thoughtSignature").unwrap(), "sig");
        assert_eq!(parts[2].custom.as_ref().unwrap()["redactedThinking"], "enc");
        assert_eq!(parts[3].tool_request.as_ref().unwrap().reference.as_deref(), Some("toolu_1"));
        assert_eq!(parts[4].text.as_deref(), Some(r#"[Anthropic server tool web_search] input: {"query":"q"}"#));
        let r = &parts[5].custom.as_ref().unwrap()["anthropicServerToolResult"];
        assert_eq!((r["type"].as_str(), r["toolUseId"].as_str()), (Some("web_search_tool_result"), Some("srvtoolu_1")));
        assert!(parts[5].text.as_deref().unwrap().starts_with("[Anthropic server tool result srvtoolu_1] [{"));
        assert_eq!(parts[6].metadata_value("anthropicServerToolUse").unwrap()["name"], "srv/echo");
        assert_eq!(parts[7].custom.as_ref().unwrap()["anthropicBlock"]["type"], "compaction");
    }
}
