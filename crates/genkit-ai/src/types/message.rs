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

    /// The tool request parts.
    pub fn tool_requests(&self) -> impl Iterator<Item = &Part> {
        self.content.iter().filter(|p| p.tool_request.is_some())
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
