//! `Message`, `Role` and `DocumentData`.

use serde::{Deserialize, Deserializer, Serialize};
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
/// Deserialization is lenient about `content`: besides the wire form (an array of
/// parts), a plain string is accepted and becomes one text part, as JS
/// `Message.parseContent` does. Serialization always writes the array.
///
/// ```
/// use genkit_ai::{Message, Role};
/// let m = Message::user("hello");
/// assert_eq!(m.role, Role::User);
/// assert_eq!(m.text(), "hello");
/// let lenient: Message = serde_json::from_str(r#"{"role": "user", "content": "hello"}"#).unwrap();
/// assert_eq!(lenient, m);
/// assert_eq!(serde_json::to_value(&lenient).unwrap()["content"], serde_json::json!([{"text": "hello"}]));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The author.
    pub role: Role,
    /// The content parts (a string is accepted when deserializing).
    #[serde(deserialize_with = "lenient_content")]
    #[schemars(schema_with = "lenient_content_schema")]
    pub content: Vec<Part>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// `content` as an array of parts or a string (one text part).
fn lenient_content<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Part>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<Part>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of parts or a string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<Part>, E> {
            Ok(vec![Part::text(s)])
        }
        fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Vec<Part>, E> {
            Ok(vec![Part::text(s)])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Vec<Part>, A::Error> {
            Vec::<Part>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(V)
}

/// The schema of the lenient `content`: the wire array of parts, or a string.
fn lenient_content_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let part = generator.subschema_for::<Part>();
    schemars::json_schema!({
        "anyOf": [
            {"type": "array", "items": part},
            {"type": "string"}
        ]
    })
}

impl Message {
    /// Parses a message leniently (JS `Message.parseData`): a JSON string becomes a message
    /// of `default_role` with one text part; an object is a message whose `content` may be
    /// a string or an array of parts.
    ///
    /// ```
    /// use genkit_ai::{Message, Role};
    /// let m = Message::parse_data(serde_json::json!("hi"), Role::User).unwrap();
    /// assert_eq!(m, Message::user("hi"));
    /// let m = Message::parse_data(serde_json::json!({"role": "model", "content": "ok"}), Role::User).unwrap();
    /// assert_eq!(m, Message::model("ok"));
    /// ```
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the value is neither a string nor a message.
    pub fn parse_data(value: Value, default_role: Role) -> genkit_core::Result<Message> {
        match value {
            Value::String(s) => Ok(Message::new(default_role, vec![Part::text(s)])),
            other => serde_json::from_value(other)
                .map_err(|e| genkit_core::Error::invalid_argument(format!("invalid message: {e}"))),
        }
    }

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
        self.content.iter().find_map(|p| p.media.as_deref())
    }

    /// The first data part's data.
    pub fn data(&self) -> Option<&Value> {
        self.content.iter().find_map(|p| p.data.as_deref())
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
