//! The validators of `genkit dev:test-model` (CLI 1.43), with the CLI's semantics.
//!
//! "Text" means the text of the **first part** of `response.message` (or of the first legacy
//! candidate's message). JavaScript truthiness is kept: an empty string counts as no text.

use genkit_ai::{Message, ModelResponse, Part};
use genkit_core::js::truthy;
use serde_json::Value;

/// Every validator name.
pub const VALIDATORS: [&str; 10] = [
    "has-tool-request",
    "valid-json",
    "text-includes",
    "stream-text-includes",
    "stream-has-tool-request",
    "stream-valid-json",
    "text-starts-with",
    "text-not-empty",
    "valid-media",
    "reasoning",
];

/// Whether `name` (without its argument) is a known validator.
pub fn is_validator(name: &str) -> bool {
    VALIDATORS.contains(&name)
}

/// Whether the validator `name` needs streamed chunks (it fails on a non-streaming test).
pub fn needs_stream(name: &str) -> bool {
    name.starts_with("stream-") && is_validator(name)
}

/// Splits `name[:arg]` at the first `:`; the argument is everything after it (empty when
/// there is none, which the validators treat as "no argument", like the CLI).
///
/// ```
/// use genkit_conformance::split_validator;
/// assert_eq!(split_validator("text-starts-with:RESPONSE:"), ("text-starts-with", "RESPONSE:"));
/// assert_eq!(split_validator("valid-json"), ("valid-json", ""));
/// ```
pub fn split_validator(spec: &str) -> (&str, &str) {
    spec.split_once(':').unwrap_or((spec, ""))
}

/// Runs one validator (`name[:arg]`) on a response and the chunks streamed before it (as
/// JSON, unparsed, as the CLI collects them).
///
/// # Errors
/// The failure reason, worded like the CLI's; `Unknown validator: <name>` for an unknown
/// name.
///
/// ```
/// use genkit_ai::{ModelResponse, Message};
/// use genkit_conformance::validate;
/// let resp = ModelResponse { message: Some(Message::model("Hello Genkit")), ..Default::default() };
/// assert!(validate("text-includes:genkit", &resp, &[]).is_ok());
/// assert!(validate("text-starts-with:RESPONSE:", &resp, &[]).is_err());
/// ```
pub fn validate(spec: &str, response: &ModelResponse, chunks: &[Value]) -> Result<(), String> {
    let (name, arg) = split_validator(spec);
    let arg = (!arg.is_empty()).then_some(arg);
    match name {
        "has-tool-request" => has_tool_request(response, arg),
        "valid-json" => valid_json(response),
        "text-includes" => text_includes(response, arg),
        "stream-text-includes" => stream_text_includes(arg, chunks),
        "stream-has-tool-request" => stream_has_tool_request(response, arg, chunks),
        "stream-valid-json" => stream_valid_json(chunks),
        "text-starts-with" => text_starts_with(response, arg),
        "text-not-empty" => text_not_empty(response),
        "valid-media" => valid_media(response, arg),
        "reasoning" => reasoning(response),
        _ => Err(format!("Unknown validator: {name}")),
    }
}

fn message(response: &ModelResponse) -> Option<&Message> {
    response.message()
}

/// The first part's text, `None` when missing or empty (JS falsy).
fn first_text(response: &ModelResponse) -> Option<&str> {
    message(response)?.content.first()?.text.as_deref().filter(|t| !t.is_empty())
}

fn display_text(text: Option<&str>) -> &str {
    text.unwrap_or("undefined")
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn content(response: &ModelResponse) -> Result<&[Part], String> {
    match message(response) {
        Some(m) => Ok(&m.content),
        None => Err(format!("Response missing message content. Full response: {}", pretty(response))),
    }
}

fn has_tool_request(response: &ModelResponse, tool: Option<&str>) -> Result<(), String> {
    let content = content(response)?;
    let Some(req) = content.iter().find_map(|p| p.tool_request.as_ref()) else {
        return Err(format!("Model did not return a tool request. Content: {}", pretty(&content)));
    };
    match tool {
        Some(t) if req.name != t => Err(format!("Expected tool request '{t}', got '{}'", req.name)),
        _ => Ok(()),
    }
}

fn valid_json(response: &ModelResponse) -> Result<(), String> {
    let content = content(response)?;
    let Some(text) = content.iter().find_map(|p| p.text.as_deref().filter(|t| !t.is_empty())) else {
        return Err(format!("Model did not return text content for JSON. Content: {}", pretty(&content)));
    };
    if is_json(text) { Ok(()) } else { Err(format!("Response text is not valid JSON. Text: {text}")) }
}

/// `JSON.parse` accepts leading and trailing JSON whitespace around one value.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn text_includes(response: &ModelResponse, expected: Option<&str>) -> Result<(), String> {
    let text = first_text(response);
    let ok = match (text, expected) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(t), Some(e)) => t.to_lowercase().contains(&e.to_lowercase()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Response text does not include '{}'. Text: {}", display_text(expected), display_text(text)))
    }
}

/// The concatenation of each chunk's first non-empty text part.
fn streamed_text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.get("content")?
                .as_array()?
                .iter()
                .find_map(|p| p.get("text").and_then(Value::as_str).filter(|t| !t.is_empty()))
        })
        .collect()
}

fn need_chunks(chunks: &[Value]) -> Result<(), String> {
    if chunks.is_empty() { Err("Streaming expected but no chunks were received".to_owned()) } else { Ok(()) }
}

fn stream_text_includes(expected: Option<&str>, chunks: &[Value]) -> Result<(), String> {
    need_chunks(chunks)?;
    let text = streamed_text(chunks);
    match expected {
        Some(e) if !text.contains(e) => Err(format!("Streaming response did not include '{e}'. Streamed text: {text}")),
        _ => Ok(()),
    }
}

fn stream_has_tool_request(response: &ModelResponse, tool: Option<&str>, chunks: &[Value]) -> Result<(), String> {
    need_chunks(chunks)?;
    let found = chunks.iter().any(|c| {
        c.get("content")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(|p| p.get("toolRequest").is_some_and(truthy)))
    });
    if !found {
        return Err("No tool request found in the streamed chunks".to_owned());
    }
    match tool {
        Some(_) => has_tool_request(response, tool),
        None => Ok(()),
    }
}

fn stream_valid_json(chunks: &[Value]) -> Result<(), String> {
    need_chunks(chunks)?;
    let text = streamed_text(chunks);
    if text.trim().is_empty() {
        return Err("Streamed response contained no text".to_owned());
    }
    if is_json(&text) { Ok(()) } else { Err(format!("Streamed text is not valid JSON: {text}")) }
}

fn text_starts_with(response: &ModelResponse, expected: Option<&str>) -> Result<(), String> {
    let text = first_text(response);
    let ok = match (text, expected) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(t), Some(e)) => js_trim(t).starts_with(e),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Response text does not start with '{}'. Text: {}", display_text(expected), display_text(text)))
    }
}

/// `String.prototype.trim`: JS whitespace and line terminators (Rust's `trim` plus U+FEFF).
fn js_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

fn text_not_empty(response: &ModelResponse) -> Result<(), String> {
    match first_text(response) {
        Some(t) if !js_trim(t).is_empty() => Ok(()),
        _ => Err("Response text is empty".to_owned()),
    }
}

fn valid_media(response: &ModelResponse, kind: Option<&str>) -> Result<(), String> {
    let media = message(response).and_then(|m| m.content.iter().find_map(|p| p.media.as_ref()));
    let Some(media) = media else {
        return Err(format!("Model did not return {} part.", kind.unwrap_or("media")));
    };
    if let Some(k) = kind
        && let Some(ct) = media.content_type.as_deref().filter(|c| !c.is_empty())
        && !ct.starts_with(&format!("{k}/"))
    {
        return Err(format!("Expected {k} content type, got {ct}"));
    }
    if kind == Some("image") {
        let url = media.url.as_str();
        if url.is_empty() {
            return Err("Media part missing URL".to_owned());
        }
        if url.starts_with("data:") {
            if !url.starts_with("data:image/") {
                return Err("Invalid data URL content type for image".to_owned());
            }
        } else if url.starts_with("http") {
            if !parses_as_url(url) {
                return Err(format!("Invalid URL: {url}"));
            }
        } else {
            return Err(format!("Unknown URL format: {url}"));
        }
    }
    Ok(())
}

/// An approximation of `new URL(url)` succeeding for a string starting with `http`: a scheme
/// (`[A-Za-z][A-Za-z0-9+.-]*:`) is required; for `http`/`https` a non-empty host without
/// forbidden characters and a numeric port (≤ 65535) if given.
fn parses_as_url(url: &str) -> bool {
    let url = js_trim(url);
    let Some((scheme, rest)) = url.split_once(':') else { return false };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return false;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return true;
    }
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => (h, Some(p)),
        _ => (host_port, None),
    };
    let forbidden = |c: char| c.is_whitespace() || "<>^|%\u{0}".contains(c);
    if host.is_empty() || host.chars().any(forbidden) {
        return false;
    }
    match port {
        Some(p) if !p.is_empty() => p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= 65535),
        _ => true,
    }
}

fn reasoning(response: &ModelResponse) -> Result<(), String> {
    let Some(m) = message(response) else {
        return Err("Response is missing message content".to_owned());
    };
    if m.content.iter().any(|p| p.reasoning.as_deref().is_some_and(|r| !r.is_empty())) {
        Ok(())
    } else {
        Err("reasoning content not found".to_owned())
    }
}

#[cfg(test)]
mod tests;
