//! The metadata of `/prompt/…` and `/executable-prompt/…` actions, shaped exactly as
//! Genkit JS 1.42 `promptMetadata` shapes it.

use serde_json::{Map, Value, json};

use super::config::PromptConfig;
use crate::generate::{ModelArg, ToolArg};
use crate::middleware::MiddlewareUse;

/// The name a model argument is known by (JS `modelName`).
pub(crate) fn model_name(model: &ModelArg) -> String {
    match model {
        ModelArg::Name(n) => n.clone(),
        ModelArg::Ref(r) => r.name().to_owned(),
        ModelArg::Action(a) => a.name().to_owned(),
    }
}

/// The name a tool argument is known by (JS `toolName`).
pub(crate) fn tool_name(tool: &ToolArg) -> String {
    match tool {
        ToolArg::Name(n) => n.clone(),
        ToolArg::Action(a) => a.name().to_owned(),
    }
}

/// `{name, config?}` of a middleware; plain model functions (JS legacy `use: [fn]`) have no
/// name and are left out, like JS does.
fn middleware_metadata(m: &MiddlewareUse) -> Option<Value> {
    if m.def.as_ref().is_some_and(|d| d.is_dynamic()) {
        return None;
    }
    let mut out = Map::new();
    out.insert("name".into(), json!(m.name));
    if let Some(c) = &m.config {
        out.insert("config".into(), c.clone());
    }
    Some(Value::Object(out))
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_owned(), v);
        }
        None => {
            map.shift_remove(key);
        }
    }
}

/// The action metadata of a prompt: the config's `metadata`, with `metadata.prompt` extended
/// by `config`, `input.schema`, `name` (before the first `.`), `model`, `tools` (names),
/// `toolChoice`, `use` and `variant`, and `type: "prompt"`.
///
/// `from_file` reproduces the shape of `.prompt` files, whose `input` always carries a
/// `schema` (`null` without one).
pub(crate) fn prompt_metadata(config: &PromptConfig, from_file: bool) -> Map<String, Value> {
    let mut meta = config.metadata.clone().unwrap_or_default();
    let mut prompt = meta.get("prompt").and_then(Value::as_object).cloned().unwrap_or_default();
    set_or_remove(&mut prompt, "config", config.config.clone());
    let mut input = Map::new();
    match (&config.input_schema, from_file) {
        (Some(s), _) => {
            input.insert("schema".into(), s.clone());
        }
        (None, true) => {
            input.insert("schema".into(), Value::Null);
        }
        (None, false) => {}
    }
    prompt.insert("input".into(), Value::Object(input));
    let name = config.name.split('.').next().unwrap_or_default();
    prompt.insert("name".into(), json!(name));
    set_or_remove(&mut prompt, "model", config.model.as_ref().map(|m| json!(model_name(m))));
    prompt.insert("tools".into(), Value::Array(config.tools.iter().map(|t| json!(tool_name(t))).collect()));
    set_or_remove(&mut prompt, "toolChoice", config.tool_choice.map(|c| json!(c)));
    prompt.insert("use".into(), Value::Array(config.middleware.iter().filter_map(middleware_metadata).collect()));
    if let Some(v) = &config.variant {
        prompt.insert("variant".into(), json!(v));
    }
    meta.insert("prompt".into(), Value::Object(prompt));
    meta.insert("type".into(), json!("prompt"));
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolChoice;

    #[test]
    fn code_prompt_metadata_matches_js() {
        let cfg = PromptConfig::new("codePrompt")
            .variant("v2")
            .model("test/echo")
            .config(json!({"temperature": 1}))
            .input_schema(json!({"type": "object", "properties": {"who": {"type": "string"}}}))
            .tool("lookupWeather")
            .tool_choice(ToolChoice::Auto)
            .metadata("team", json!("x"))
            .metadata("prompt", json!({"extra": 1}))
            .use_middleware(MiddlewareUse::named("retry", Some(json!({"maxRetries": 1}))));
        let got = Value::Object(prompt_metadata(&cfg, false));
        // As printed by Genkit JS 1.42 for the same `definePrompt`.
        let want = json!({"team":"x","prompt":{"extra":1,"config":{"temperature":1},"input":{"schema":{"type":"object",
            "properties":{"who":{"type":"string"}}}},"name":"codePrompt","model":"test/echo","tools":["lookupWeather"],
            "toolChoice":"auto","use":[{"name":"retry","config":{"maxRetries":1}}],"variant":"v2"},"type":"prompt"});
        assert_eq!(got, want);
        let bare = Value::Object(prompt_metadata(&PromptConfig::new("bare"), false));
        assert_eq!(bare, json!({"prompt":{"input":{},"name":"bare","tools":[],"use":[]},"type":"prompt"}));
    }
}
