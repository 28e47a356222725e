//! From a `.prompt` file's resolved frontmatter to a [`PromptConfig`], mapped the way
//! Genkit JS 1.42 `loadPrompt` maps it.

use dotprompt::PromptMetadata;
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};

use super::config::{PromptConfig, PromptMessages};
use super::state::FileSource;
use crate::ToolChoice;
use crate::generate::{ModelArg, OutputOptions, ToolArg};
use crate::middleware::MiddlewareUse;

fn invalid(file: &str, key: &str, expected: &str, got: &Value) -> Error {
    Error::invalid_argument(format!("{file}: frontmatter key `{key}` must be {expected}, got {got}"))
}

/// Picoschema may leave `description: null` on a schema; JS strips it so schema consumers
/// are not confused.
fn strip_null_description(schema: &mut Option<Value>) {
    if let Some(Value::Object(s)) = schema
        && s.get("description") == Some(&Value::Null)
    {
        s.shift_remove("description");
    }
}

/// A `use` entry: `"name"` or `{name, config?}`.
fn middleware_use(file: &str, entry: &Value) -> Result<MiddlewareUse> {
    match entry {
        Value::String(name) => Ok(MiddlewareUse::named(name.clone(), None)),
        Value::Object(m) => match m.get("name").and_then(Value::as_str) {
            Some(name) => Ok(MiddlewareUse::named(name, m.get("config").cloned())),
            None => Err(invalid(file, "use", "a list of names or {name, config} objects", entry)),
        },
        other => Err(invalid(file, "use", "a list of names or {name, config} objects", other)),
    }
}

fn middleware_json(m: &MiddlewareUse) -> Value {
    let r = m.to_ref();
    match r.config {
        Some(c) => json!({"name": r.name, "config": c}),
        None => json!({"name": r.name}),
    }
}

/// The config of a file prompt: `model`, `config`, `tools`, `description`, `input.schema`,
/// `output.{format, schema}` from the resolved metadata; `maxTurns`, `toolChoice`,
/// `returnToolRequests`, `use` and `metadata` from the raw frontmatter; the body as the
/// `messages` template. `input.default` is not applied (like JS).
///
/// # Errors
/// `INVALID_ARGUMENT` when a raw frontmatter value has the wrong type.
pub(crate) fn config_from_metadata(f: &FileSource, mut meta: PromptMetadata) -> Result<PromptConfig> {
    let file = f.file.as_str();
    meta.variant.clone_from(&f.variant);
    if let Some(input) = meta.input.as_mut() {
        strip_null_description(&mut input.schema);
    }
    if let Some(output) = meta.output.as_mut() {
        strip_null_description(&mut output.schema);
    }
    let raw = meta.raw.clone().unwrap_or_default();

    let max_turns = match raw.get("maxTurns") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| invalid(file, "maxTurns", "a non-negative integer", v))?,
        ),
    };
    let tool_choice: Option<ToolChoice> = match raw.get("toolChoice") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v.clone()).map_err(|_| invalid(file, "toolChoice", "auto, required or none", v))?,
        ),
    };
    let return_tool_requests = match raw.get("returnToolRequests") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_bool().ok_or_else(|| invalid(file, "returnToolRequests", "a boolean", v))?),
    };
    let middleware = match raw.get("use") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.iter().map(|e| middleware_use(file, e)).collect::<Result<_>>()?,
        Some(other) => return Err(invalid(file, "use", "a list", other)),
    };

    let mut tools: Vec<ToolArg> = meta.tools.iter().flatten().map(|t| ToolArg::Name(t.clone())).collect();
    tools.extend(meta.tool_defs.iter().flatten().map(|d| ToolArg::Name(d.name.clone())));
    let output = meta.output.as_ref().filter(|o| o.format.is_some() || o.schema.is_some()).map(|o| OutputOptions {
        format: o.format.clone(),
        schema: o.schema.clone(),
        ..OutputOptions::default()
    });

    // The action metadata JS builds: the frontmatter's resolved metadata under `prompt`, plus
    // `use`, `toolChoice` and the template; the raw `metadata` key under `metadata`.
    let mut prompt = match serde_json::to_value(&meta) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    prompt.insert("use".into(), Value::Array(middleware.iter().map(middleware_json).collect()));
    if let Some(tc) = raw.get("toolChoice") {
        prompt.insert("toolChoice".into(), tc.clone());
    }
    prompt.insert("template".into(), json!(f.parsed.template));
    let mut metadata = meta.metadata.clone().unwrap_or_default();
    metadata.insert("type".into(), json!("prompt"));
    metadata.insert("prompt".into(), Value::Object(prompt));
    if let Some(m) = raw.get("metadata").filter(|m| !m.is_null()) {
        metadata.insert("metadata".into(), m.clone());
    }

    let PromptMetadata { model, config, description, input, .. } = meta;
    Ok(PromptConfig {
        name: f.name.clone(),
        variant: f.variant.clone(),
        model: model.map(ModelArg::Name),
        config: Some(Value::Object(config.unwrap_or_default())),
        description,
        input_schema: input.and_then(|i| i.schema),
        output,
        messages: Some(PromptMessages::Template(f.parsed.template.clone())),
        tools,
        tool_choice,
        max_turns,
        return_tool_requests,
        metadata: Some(metadata),
        middleware,
        ..PromptConfig::default()
    })
}
