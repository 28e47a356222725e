//! Output formats: how `generate` tells a model what shape to answer in and how the
//! answer is parsed — `json`, `array`, `text`, `enum`, `jsonl`, and custom formats registered
//! with [`define_format`]. One file per built-in format.

mod array;
mod r#enum;
mod json;
mod jsonl;
mod text;

use array::ArrayFormat;
use r#enum::EnumFormat;
use json::JsonFormat;
pub use json::json_instructions;
use jsonl::JsonlFormat;
use text::TextFormat;

use std::fmt;
use std::sync::{Arc, OnceLock};

use genkit_core::js::truthy;
use genkit_core::{Error, Registry, RegistryValue, Result};
use serde_json::{Map, Value, json};

use crate::extract::{extract_items, extract_json, parse_json5};
use crate::{GenerateActionOutputConfig, Instructions, Message, ModelResponseChunk, Part, Role};

/// A streamed chunk together with the text of the chunks before it in the same turn.
#[derive(Debug, Clone, Copy)]
pub struct ChunkView<'a> {
    /// The chunk.
    pub chunk: &'a ModelResponseChunk,
    /// The concatenated text of the earlier chunks of this turn.
    pub previous_text: &'a str,
    /// Whether there were earlier chunks.
    pub has_previous: bool,
}

impl ChunkView<'_> {
    /// Earlier text plus this chunk's text (JS `chunk.accumulatedText`).
    pub fn accumulated_text(&self) -> String {
        let mut s = String::with_capacity(self.previous_text.len() + 16);
        s.push_str(self.previous_text);
        for p in &self.chunk.content {
            if let Some(t) = &p.text {
                s.push_str(t);
            }
        }
        s
    }
}

/// Parses a message or chunk into structured output (JS `Formatter.handler(schema)` result).
pub trait FormatHandler: Send + Sync {
    /// The output of a whole message.
    fn parse_message(&self, message: &Message) -> Option<Value>;

    /// The output of a streamed chunk (`None` when the format has no chunk parser).
    fn parse_chunk(&self, chunk: ChunkView<'_>) -> Option<Value> {
        let _ = chunk;
        None
    }

    /// Instructions to inject into the prompt, if any.
    fn instructions(&self) -> Option<String> {
        None
    }
}

/// The config part of a format: merged under the request's explicit output options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormatConfig {
    /// Format name sent to the model (`json` sets it; others rely on the request's).
    pub format: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// Whether constrained generation is requested by default.
    pub constrained: Option<bool>,
    /// `Some(false)`: inject instructions only when the request asks for them.
    pub default_instructions: Option<bool>,
}

/// An output format (JS `Formatter`).
pub trait Format: Send + Sync {
    /// The format's name.
    fn name(&self) -> &str;
    /// Its config.
    fn config(&self) -> &FormatConfig;
    /// A handler for `schema`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the schema does not fit the format.
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>>;
}

impl fmt::Debug for dyn Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Format").field("name", &self.name()).finish()
    }
}

struct FormatEntry(Arc<dyn Format>);

fn text_of(message: &Message) -> String {
    message.text()
}

/// The `type` of a JSON schema.
fn schema_type(schema: &Value) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn builtins() -> &'static [Arc<dyn Format>] {
    static B: OnceLock<Vec<Arc<dyn Format>>> = OnceLock::new();
    B.get_or_init(|| {
        vec![
            Arc::new(JsonFormat(FormatConfig {
                format: Some("json".into()),
                content_type: Some("application/json".into()),
                constrained: Some(true),
                default_instructions: Some(false),
            })),
            Arc::new(ArrayFormat(FormatConfig {
                content_type: Some("application/json".into()),
                constrained: Some(true),
                ..FormatConfig::default()
            })),
            Arc::new(TextFormat(FormatConfig { content_type: Some("text/plain".into()), ..FormatConfig::default() })),
            Arc::new(EnumFormat(FormatConfig {
                content_type: Some("text/enum".into()),
                constrained: Some(true),
                ..FormatConfig::default()
            })),
            Arc::new(JsonlFormat(FormatConfig {
                content_type: Some("application/jsonl".into()),
                ..FormatConfig::default()
            })),
        ]
    })
}

/// The built-in format named `name` (`json`, `array`, `text`, `enum`, `jsonl`).
pub fn builtin_format(name: &str) -> Option<Arc<dyn Format>> {
    builtins().iter().find(|f| f.name() == name).cloned()
}

type HandlerFn = dyn Fn(Option<&Value>) -> Result<Arc<dyn FormatHandler>> + Send + Sync;

struct CustomFormat {
    name: String,
    config: FormatConfig,
    handler: Arc<HandlerFn>,
}

impl Format for CustomFormat {
    fn name(&self) -> &str {
        &self.name
    }
    fn config(&self) -> &FormatConfig {
        &self.config
    }
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        (self.handler)(schema)
    }
}

/// Registers a custom output format (JS `ai.defineFormat`) as registry value
/// `format/<name>`; it overrides a built-in of the same name.
pub fn define_format(
    registry: &Registry,
    name: &str,
    config: FormatConfig,
    handler: impl Fn(Option<&Value>) -> Result<Arc<dyn FormatHandler>> + Send + Sync + 'static,
) -> Arc<dyn Format> {
    let f: Arc<dyn Format> = Arc::new(CustomFormat { name: name.to_owned(), config, handler: Arc::new(handler) });
    registry.register_value("format", name, RegistryValue::new(FormatEntry(f.clone())));
    f
}

/// Finds the format for output options: a schema without a format means `json`; an
/// unknown format name resolves to `None` (the name is still sent to the model).
///
/// # Errors
/// A plugin's init error while looking up registered formats.
pub async fn resolve_format(
    registry: &Registry,
    output: Option<&GenerateActionOutputConfig>,
) -> Result<Option<Arc<dyn Format>>> {
    let Some(output) = output else { return Ok(None) };
    let name = match (&output.format, &output.json_schema) {
        (Some(f), _) => f.as_str(),
        (None, Some(_)) => "json",
        (None, None) => return Ok(None),
    };
    if let Some(v) = registry.lookup_value("format", name).await?
        && let Some(e) = v.downcast::<FormatEntry>()
    {
        return Ok(Some(e.0.clone()));
    }
    Ok(builtin_format(name))
}

/// The instructions to use: custom text as is, `false` none, else the format's.
///
/// # Errors
/// The format's handler error for an unfit schema.
pub fn resolve_instructions(
    format: Option<&Arc<dyn Format>>,
    schema: Option<&Value>,
    option: Option<&Instructions>,
) -> Result<Option<String>> {
    match option {
        Some(Instructions::Custom(s)) => Ok(Some(s.clone())),
        Some(Instructions::Enabled(false)) => Ok(None),
        _ => match format {
            Some(f) => Ok(f.handler(schema)?.instructions()),
            None => Ok(None),
        },
    }
}

/// Whether format instructions go into the prompt (JS `shouldInjectFormatInstructions`).
pub fn should_inject_instructions(config: &FormatConfig, output: Option<&GenerateActionOutputConfig>) -> bool {
    config.default_instructions != Some(false)
        || output.and_then(|o| o.instructions.as_ref()).is_some_and(|i| match i {
            Instructions::Enabled(b) => *b,
            Instructions::Custom(s) => !s.is_empty(),
        })
}

fn purpose_is(p: &Part, purpose: &str) -> bool {
    p.metadata_value("purpose").and_then(Value::as_str) == Some(purpose)
}

fn is_pending(p: &Part) -> bool {
    p.metadata_value("pending").is_some_and(truthy)
}

/// Adds output instructions to the messages (JS `injectInstructions`): into the first system
/// message, else the last user message, replacing a pending `purpose: output` placeholder
/// part; a no-op when instructions are already present.
pub fn inject_instructions(messages: &mut [Message], instructions: Option<&str>) {
    let Some(instructions) = instructions.filter(|i| !i.is_empty()) else { return };
    if messages.iter().any(|m| m.content.iter().any(|p| purpose_is(p, "output") && !is_pending(p))) {
        return;
    }
    let target = messages
        .iter()
        .position(|m| m.role == Role::System)
        .or_else(|| messages.iter().rposition(|m| m.role == Role::User));
    let Some(target) = target else { return };
    let mut meta = Map::new();
    meta.insert("purpose".into(), json!("output"));
    let part = Part { text: Some(instructions.to_owned()), metadata: Some(meta), ..Part::default() };
    let m = &mut messages[target];
    // JS replaces the placeholder only when it is not the first part (`partIndex > 0`).
    match m.content.iter().position(|p| purpose_is(p, "output") && is_pending(p)) {
        Some(i) if i > 0 => m.content[i] = part,
        _ => m.content.push(part),
    }
}
