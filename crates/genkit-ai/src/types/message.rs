//! `Message`, `Role` and `DocumentData`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Part;

/// Who authored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// System instructions.
    System,
    /// The user.
    User,
    /// The model.
    Model,
    /// Tool results.
    Tool,
}

/// One message of a conversation.
///
/// ```
/// use genkit_ai::{Message, Role};
/// let m = Message::user("hello");
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.text(), "hello");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The author.
    pub role: Role,
    /// The content parts.
    pub content: Vec<Part>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Message {
    /// A message with the given role and parts.
    pub fn new(role: Role, content: Vec<Part>) -> Message {
        Message { role, content, metadata: None }
    }

    /// A user message with one text part.
    pub fn user(text: impl Into<String>) -> Message {
        Message::new(Role::User, vec![Part::text(text)])
    }

    /// A system message with one text part.
    pub fn system(text: impl Into<String>) -> Message {
        Message::new(Role::System, vec![Part::text(text)])
    }

    /// A model message with one text part.
    pub fn model(text: impl Into<String>) -> Message {
        Message::new(Role::Model, vec![Part::text(text)])
    }

    /// The concatenated text of all text parts.
    pub fn text(&self) -> String {
        concat_text(&self.content)
    }

    /// A message with the given role whose content is anything convertible to parts
    /// (a string, a part, or a list of parts; JS `Message.parseContent`).
    pub fn with_content(role: Role, content: impl Into<Content>) -> Message {
        Message::new(role, content.into().0)
    }

    /// The concatenated text of all reasoning parts.
    pub fn reasoning(&self) -> String {
        let mut s = String::new();
        for p in &self.content {
            if let Some(t) = &p.reasoning {
                s.push_str(t);
            }
        }
        s
    }

    /// The first media part's media.
    pub fn media(&self) -> Option<&super::Media> {
        self.content.iter().find_map(|p| p.media.as_ref())
    }

    /// The first data part's data.
    pub fn data(&self) -> Option<&Value> {
        self.content.iter().find_map(|p| p.data.as_ref())
    }

    /// The tool request parts.
    pub fn tool_requests(&self) -> impl Iterator<Item = &Part> {
        self.content.iter().filter(|p| p.tool_request.is_some())
    }

    /// The tool request parts marked as interrupts (`metadata.interrupt`).
    pub fn interrupts(&self) -> impl Iterator<Item = &Part> {
        self.content.iter().filter(|p| p.is_interrupt())
    }

    /// The tool response parts.
    pub fn tool_responses(&self) -> impl Iterator<Item = &Part> {
        self.content.iter().filter(|p| p.tool_response.is_some())
    }

    /// Structured output of the message: its first data part, else JSON extracted from its
    /// text (JS `Message.output` without a format parser).
    pub fn output(&self) -> Option<Value> {
        self.data().cloned().or_else(|| crate::extract::extract_json(&self.text()))
    }
}

/// Message content: what `generate`'s `prompt`, `system` and messages accept — a string, one
/// part, or a list of parts (JS `Message.parseContent`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Content(pub Vec<Part>);

impl From<&str> for Content {
    fn from(s: &str) -> Content {
        Content(vec![Part::text(s)])
    }
}

impl From<String> for Content {
    fn from(s: String) -> Content {
        Content(vec![Part::text(s)])
    }
}

impl From<&String> for Content {
    fn from(s: &String) -> Content {
        Content(vec![Part::text(s.clone())])
    }
}

impl From<Part> for Content {
    fn from(p: Part) -> Content {
        Content(vec![p])
    }
}

impl From<Vec<Part>> for Content {
    fn from(p: Vec<Part>) -> Content {
        Content(p)
    }
}

impl<const N: usize> From<[Part; N]> for Content {
    fn from(p: [Part; N]) -> Content {
        Content(p.into())
    }
}

pub(crate) fn concat_text(parts: &[Part]) -> String {
    let mut s = String::new();
    for p in parts {
        if let Some(t) = &p.text {
            s.push_str(t);
        }
    }
    s
}

/// A document: content parts (text or media) and metadata; used for retrieval and `docs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentData {
    /// The content.
    pub content: Vec<Part>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl DocumentData {
    /// A text document.
    pub fn from_text(text: impl Into<String>) -> DocumentData {
        DocumentData { content: vec![Part::text(text)], metadata: None }
    }

    /// The concatenated text.
    pub fn text(&self) -> String {
        concat_text(&self.content)
    }
}
