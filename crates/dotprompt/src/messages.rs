//! Turning a rendered template string into messages (role/history markers) and parts (media/section markers).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::message::{JsonMap, Media, Message, Part, Role};

pub(crate) const ROLE_MARKER_PREFIX: &str = "<<<dotprompt:role:";
pub(crate) const HISTORY_MARKER_PREFIX: &str = "<<<dotprompt:history";
pub(crate) const MEDIA_MARKER_PREFIX: &str = "<<<dotprompt:media:";
pub(crate) const SECTION_MARKER_PREFIX: &str = "<<<dotprompt:section";

#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static ROLE_AND_HISTORY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(<<<dotprompt:(?:role:[a-z]+|history))>>>").expect("valid regex"));
#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static MEDIA_AND_SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(<<<dotprompt:(?:media:url|section).*?)>>>").expect("valid regex"));

/// Whitespace as JavaScript's `String.prototype.trim` sees it.
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
}

/// `source.split(regex)` with the capture group kept, dropping empty and whitespace-only pieces.
fn split_keep_markers<'a>(source: &'a str, re: &Regex) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let mut last = 0;
    for caps in re.captures_iter(source) {
        let (Some(all), Some(marker)) = (caps.get(0), caps.get(1)) else { continue };
        pieces.push(&source[last..all.start()]);
        pieces.push(marker.as_str());
        last = all.end();
    }
    pieces.push(&source[last..]);
    pieces.retain(|p| !is_blank(p));
    pieces
}

struct Source {
    role: Role,
    text: String,
    content: Option<Vec<Part>>,
    metadata: Option<JsonMap>,
}

impl Source {
    fn new(role: Role) -> Self {
        Source { role, text: String::new(), content: None, metadata: None }
    }
}

fn history_metadata(metadata: Option<&JsonMap>) -> JsonMap {
    let mut md = metadata.cloned().unwrap_or_default();
    md.insert("purpose".into(), Value::String("history".into()));
    md
}

/// Converts a rendered template into messages, placing `history` at `{{history}}` markers or, when no marker
/// was used, before the final user message.
pub(crate) fn to_messages(rendered: &str, history: Option<&[Message]>) -> Result<Vec<Message>> {
    let mut sources = vec![Source::new(Role::User)];
    for piece in split_keep_markers(rendered, &ROLE_AND_HISTORY) {
        if let Some(role) = piece.strip_prefix(ROLE_MARKER_PREFIX) {
            let role: Role = role.parse().map_err(|e: crate::message::UnknownRole| {
                Error::new(
                    ErrorKind::Render { line: None },
                    format!("{{{{role \"{}\"}}}} uses an unsupported role: use system, user, model or tool", e.0),
                )
            })?;
            let current = sources.last_mut().filter(|s| s.content.is_none());
            match current {
                Some(cur) if is_blank(&cur.text) => cur.role = role,
                _ => sources.push(Source::new(role)),
            }
        } else if piece.starts_with(HISTORY_MARKER_PREFIX) {
            for m in history.unwrap_or_default() {
                sources.push(Source {
                    role: m.role,
                    text: String::new(),
                    content: Some(m.content.clone()),
                    metadata: Some(history_metadata(m.metadata.as_ref())),
                });
            }
            sources.push(Source::new(Role::Model));
        } else if let Some(cur) = sources.last_mut() {
            cur.text.push_str(piece);
        }
    }

    let messages: Vec<Message> = sources
        .into_iter()
        .filter(|s| s.content.is_some() || !s.text.is_empty())
        .map(|s| Message {
            role: s.role,
            content: s.content.unwrap_or_else(|| to_parts(&s.text)),
            metadata: s.metadata,
        })
        .collect();
    Ok(insert_history(messages, history))
}

fn is_history(m: &Message) -> bool {
    m.metadata.as_ref().and_then(|md| md.get("purpose")).and_then(Value::as_str) == Some("history")
}

fn insert_history(mut messages: Vec<Message>, history: Option<&[Message]>) -> Vec<Message> {
    let history = history.unwrap_or_default();
    if history.is_empty() || messages.iter().any(is_history) {
        return messages;
    }
    if messages.last().is_some_and(|m| m.role == Role::User) {
        let last = messages.pop();
        messages.extend(history.iter().cloned());
        messages.extend(last);
    } else {
        messages.extend(history.iter().cloned());
    }
    messages
}

/// Splits message text into parts at media and section markers.
pub(crate) fn to_parts(source: &str) -> Vec<Part> {
    split_keep_markers(source, &MEDIA_AND_SECTION).into_iter().map(parse_part).collect()
}

fn parse_part(piece: &str) -> Part {
    if piece.starts_with(MEDIA_MARKER_PREFIX) {
        let mut it = piece.split(' ').skip(1);
        let url = it.next().unwrap_or_default().to_owned();
        let content_type = it.next().filter(|ct| !ct.is_empty()).map(str::to_owned);
        Part::Media { media: Media { url, content_type }, metadata: None }
    } else if piece.starts_with(SECTION_MARKER_PREFIX) {
        match piece.split(' ').nth(1) {
            Some(purpose) => Part::pending(purpose),
            None => {
                let mut metadata = JsonMap::new();
                metadata.insert("pending".into(), Value::Bool(true));
                Part::Metadata { metadata }
            }
        }
    } else {
        Part::text(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(rendered: &str, history: Option<&[Message]>) -> Value {
        serde_json::to_value(to_messages(rendered, history).unwrap()).unwrap()
    }

    #[test]
    fn splits_roles_and_keeps_text_verbatim() {
        let out = msgs("<<<dotprompt:role:system>>>hi from system\n<<<dotprompt:role:user>>>  yo\n", None);
        assert_eq!(
            out,
            json!([
                {"role": "system", "content": [{"text": "hi from system\n"}]},
                {"role": "user", "content": [{"text": "  yo\n"}]}
            ])
        );
    }

    #[test]
    fn parts_from_markers() {
        let out = msgs("see <<<dotprompt:media:url http://x/y.png image/png>>> <<<dotprompt:section output>>>", None);
        assert_eq!(
            out,
            json!([{"role": "user", "content": [
                {"text": "see "},
                {"media": {"url": "http://x/y.png", "contentType": "image/png"}},
                {"metadata": {"purpose": "output", "pending": true}}
            ]}])
        );
    }

    #[test]
    fn history_goes_before_last_user_message_without_marker() {
        let history = vec![Message::new(Role::Model, vec![Part::text("earlier")])];
        let out = msgs("<<<dotprompt:role:system>>>sys<<<dotprompt:role:user>>>question", Some(&history));
        assert_eq!(
            out,
            json!([
                {"role": "system", "content": [{"text": "sys"}]},
                {"role": "model", "content": [{"text": "earlier"}]},
                {"role": "user", "content": [{"text": "question"}]}
            ])
        );
        assert_eq!(msgs("", Some(&history)), json!([{"role": "model", "content": [{"text": "earlier"}]}]));
    }

    #[test]
    fn unknown_role_is_an_error() {
        assert!(to_messages("<<<dotprompt:role:boss>>>x", None).is_err());
    }
}
