//! Wire-compatible message types: [`Role`], [`Part`], [`Message`], [`Document`].

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON object.
pub type JsonMap = Map<String, Value>;

/// The author of a [`Message`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The end user (the default role of rendered text).
    #[default]
    User,
    /// The model.
    Model,
    /// A tool response.
    Tool,
}

impl Role {
    /// The wire name: `system`, `user`, `model` or `tool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Model => "model",
            Role::Tool => "tool",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown role name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown role '{}': expected one of system, user, model, tool", self.0)
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(Role::System),
            "user" => Ok(Role::User),
            "model" => Ok(Role::Model),
            "tool" => Ok(Role::Tool),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// A media reference: `{"url": .., "contentType"?: ..}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// The media URL (`https:`, `gs:`, `data:` …).
    pub url: String,
    /// The MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// One piece of message content, serialized exactly like a Genkit part.
///
/// Parts this crate does not produce itself (`toolRequest`, `toolResponse`, `data`, `custom`, …) are kept
/// verbatim as [`Part::Other`], so history messages round-trip unchanged.
///
/// ```
/// use dotprompt::Part;
/// let p: Part = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
/// assert_eq!(p, Part::text("hi"));
/// assert_eq!(serde_json::to_string(&Part::pending("output")).unwrap(),
///            r#"{"metadata":{"purpose":"output","pending":true}}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Part {
    /// `{"text": .., "metadata"?: ..}`
    Text {
        /// The text.
        text: String,
        /// Optional part metadata.
        metadata: Option<JsonMap>,
    },
    /// `{"media": {..}, "metadata"?: ..}`
    Media {
        /// The media reference.
        media: Media,
        /// Optional part metadata.
        metadata: Option<JsonMap>,
    },
    /// A part carrying only metadata, such as a pending section `{"metadata":{"purpose":..,"pending":true}}`.
    Metadata {
        /// The metadata.
        metadata: JsonMap,
    },
    /// Any other part, kept as raw JSON.
    Other(JsonMap),
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text { text: text.into(), metadata: None }
    }

    /// A media part.
    pub fn media(url: impl Into<String>, content_type: Option<String>) -> Self {
        Part::Media { media: Media { url: url.into(), content_type }, metadata: None }
    }

    /// A pending placeholder part `{"metadata":{"purpose":purpose,"pending":true}}` as emitted by `{{section}}`.
    pub fn pending(purpose: impl Into<String>) -> Self {
        let mut metadata = JsonMap::new();
        metadata.insert("purpose".into(), Value::String(purpose.into()));
        metadata.insert("pending".into(), Value::Bool(true));
        Part::Metadata { metadata }
    }

    /// The text of a text part.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Part::Text { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The media of a media part.
    pub fn as_media(&self) -> Option<&Media> {
        match self {
            Part::Media { media, .. } => Some(media),
            _ => None,
        }
    }

    /// The part metadata, if any.
    pub fn metadata(&self) -> Option<&JsonMap> {
        match self {
            Part::Text { metadata, .. } | Part::Media { metadata, .. } => metadata.as_ref(),
            Part::Metadata { metadata } => Some(metadata),
            Part::Other(map) => map.get("metadata").and_then(Value::as_object),
        }
    }

    fn from_map(map: JsonMap) -> Part {
        let only = |allowed: &[&str]| map.keys().all(|k| allowed.contains(&k.as_str()));
        let metadata_ok = match map.get("metadata") {
            None => true,
            Some(m) => m.is_object(),
        };
        if !metadata_ok {
            return Part::Other(map);
        }
        if map.get("text").is_some_and(Value::is_string) && only(&["text", "metadata"]) {
            let mut map = map;
            let metadata = take_object(&mut map, "metadata");
            let text = match map.remove("text") {
                Some(Value::String(s)) => s,
                _ => String::new(),
            };
            return Part::Text { text, metadata };
        }
        if only(&["media", "metadata"])
            && let Some(Value::Object(media)) = map.get("media")
            && media.get("url").is_some_and(Value::is_string)
            && media.get("contentType").is_none_or(Value::is_string)
            && media.keys().all(|k| k == "url" || k == "contentType")
        {
            let mut map = map;
            let metadata = take_object(&mut map, "metadata");
            let media = map.remove("media").and_then(|m| serde_json::from_value(m).ok()).unwrap_or_default();
            return Part::Media { media, metadata };
        }
        if map.len() == 1 && map.contains_key("metadata") {
            let mut map = map;
            let metadata = take_object(&mut map, "metadata").unwrap_or_default();
            return Part::Metadata { metadata };
        }
        Part::Other(map)
    }
}

fn take_object(map: &mut JsonMap, key: &str) -> Option<JsonMap> {
    match map.remove(key) {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    }
}

impl Serialize for Part {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Part::Text { text, metadata } => {
                let mut m = serializer.serialize_map(None)?;
                m.serialize_entry("text", text)?;
                if let Some(md) = metadata {
                    m.serialize_entry("metadata", md)?;
                }
                m.end()
            }
            Part::Media { media, metadata } => {
                let mut m = serializer.serialize_map(None)?;
                m.serialize_entry("media", media)?;
                if let Some(md) = metadata {
                    m.serialize_entry("metadata", md)?;
                }
                m.end()
            }
            Part::Metadata { metadata } => {
                let mut m = serializer.serialize_map(Some(1))?;
                m.serialize_entry("metadata", metadata)?;
                m.end()
            }
            Part::Other(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(map) => Ok(Part::from_map(map)),
            other => Err(D::Error::custom(format!("a part must be a JSON object, got {other}"))),
        }
    }
}

/// A chat message `{"role", "content": [Part], "metadata"?}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Who wrote the message.
    pub role: Role,
    /// The message parts.
    #[serde(default)]
    pub content: Vec<Part>,
    /// Optional message metadata (rendered history carries `{"purpose":"history"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl Message {
    /// A message with the given role and parts.
    pub fn new(role: Role, content: Vec<Part>) -> Self {
        Message { role, content, metadata: None }
    }

    /// The concatenated text of all text parts.
    pub fn text(&self) -> String {
        self.content.iter().filter_map(Part::as_text).collect()
    }
}

/// A document passed as `docs` (`{"content": [Part], "metadata"?}`); available to templates as `@metadata.docs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// The document parts.
    #[serde(default)]
    pub content: Vec<Part>,
    /// Optional document metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
}

impl Document {
    /// A document made of one text part.
    pub fn from_text(text: impl Into<String>) -> Self {
        Document { content: vec![Part::text(text)], metadata: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: &Value) -> Part {
        let p: Part = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), *v);
        p
    }

    #[test]
    fn parts_roundtrip() {
        assert_eq!(roundtrip(&json!({"text": "hi"})), Part::text("hi"));
        assert!(matches!(roundtrip(&json!({"text": "hi", "metadata": {"a": 1}})), Part::Text { .. }));
        assert_eq!(roundtrip(&json!({"media": {"url": "u", "contentType": "image/png"}})).as_media().unwrap().url, "u");
        assert!(matches!(
            roundtrip(&json!({"metadata": {"purpose": "output", "pending": true}})),
            Part::Metadata { .. }
        ));
        assert!(matches!(roundtrip(&json!({"toolRequest": {"name": "t", "input": {}}})), Part::Other(_)));
        assert!(matches!(roundtrip(&json!({"text": "x", "custom": {}})), Part::Other(_)));
        assert!(matches!(roundtrip(&json!({"media": {"url": "u", "extra": 1}})), Part::Other(_)));
        assert!(serde_json::from_value::<Part>(json!("text")).is_err());
    }

    #[test]
    fn message_serializes_camel_case_without_empty_fields() {
        let m = Message::new(Role::Model, vec![Part::text("a"), Part::text("b")]);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"role": "model", "content": [{"text": "a"}, {"text": "b"}]})
        );
        assert_eq!(m.text(), "ab");
        assert_eq!("tool".parse::<Role>().unwrap(), Role::Tool);
        assert!("boss".parse::<Role>().is_err());
    }
}
