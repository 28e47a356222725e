//! The model config: Genkit's common fields, the Anthropic extras (`tool_choice`, `metadata`,
//! `thinking`, `effort`, `output_config`, `betas`, `apiVersion`), and pass-through of any
//! other key into the request body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Extended thinking (`thinking` of the request). `enabled: true` with `budgetTokens`
/// sends `{"type":"enabled","budget_tokens":N}`, `enabled: false` sends
/// `{"type":"disabled"}`, `adaptive: true` sends `{"type":"adaptive"}` (the model decides
/// how much to think; pair it with `effort`).
///
/// ```
/// use genkit_anthropic::ThinkingConfig;
/// let t: ThinkingConfig = serde_json::from_value(serde_json::json!({"enabled": true, "budgetTokens": 2048})).unwrap();
/// assert_eq!(t.to_wire(), Some(serde_json::json!({"type": "enabled", "budget_tokens": 2048})));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// Turns thinking on (with `budgetTokens`) or explicitly off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Tokens the model may spend thinking (at least 1024, below `maxOutputTokens`).
    #[serde(default, alias = "budget_tokens", skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    /// Adaptive thinking: the model chooses its budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<bool>,
    /// What thinking blocks show: `summarized` or `omitted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The raw API form (`"enabled"`, `"disabled"`, `"adaptive"`), accepted as well.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl ThinkingConfig {
    /// The request's `thinking` object, or `None` when this config asks for nothing.
    pub fn to_wire(&self) -> Option<Value> {
        let mut m = Map::new();
        let kind = match (self.kind.as_deref(), self.adaptive, self.enabled) {
            (Some(k), _, _) => k,
            (None, Some(true), _) => "adaptive",
            (None, _, Some(false)) => "disabled",
            (None, _, Some(true)) | (None, _, None) if self.budget_tokens.is_some() => "enabled",
            _ => return None,
        };
        m.insert("type".into(), Value::String(kind.to_owned()));
        if kind == "enabled"
            && let Some(b) = self.budget_tokens
        {
            m.insert("budget_tokens".into(), Value::from(b));
        }
        if kind != "disabled"
            && let Some(d) = &self.display
        {
            m.insert("display".into(), Value::String(d.clone()));
        }
        Some(Value::Object(m))
    }

    /// The thinking budget when thinking is enabled with one.
    pub(crate) fn budget(&self) -> Option<u32> {
        (self.enabled != Some(false) && self.adaptive != Some(true)).then_some(self.budget_tokens).flatten()
    }
}

/// Which API surface a request uses (JS `apiVersion`): `beta` adds the plugin's default beta
/// list ([`DEFAULT_BETAS`](crate::DEFAULT_BETAS)) to the `anthropic-beta` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiSurface {
    /// The stable Messages API (betas only as asked).
    Stable,
    /// The beta surface.
    Beta,
}

/// Config of the Claude models (`config` of a generate call). Keys it does not know are sent
/// in the request body unchanged, as Genkit JS does: that is how `mcp_servers`, `container`,
/// `context_management` or `service_tier` are set. A `tools` array in the config (server
/// tools such as `{"type": "web_search_20250305", "name": "web_search"}`) is appended to the
/// request's own tools.
///
/// ```
/// use genkit_anthropic::AnthropicConfig;
/// let c: AnthropicConfig = serde_json::from_value(serde_json::json!({
///     "maxOutputTokens": 1000,
///     "thinking": {"enabled": true, "budgetTokens": 1024},
///     "tool_choice": {"type": "any"},
///     "service_tier": "auto"
/// })).unwrap();
/// assert_eq!(c.max_output_tokens, Some(1000));
/// assert_eq!(c.extra["service_tier"], "auto");
/// ```
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnthropicConfig {
    /// Model id to call instead of the action's (for example a dated snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Sampling temperature, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `max_tokens` (default 4096, or the thinking budget plus 4096 when thinking is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// `top_k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// `top_p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// `stop_sequences`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// API key for this request only. Never serialized, logged or traced.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// `tool_choice` as the API takes it: `{"type": "auto" | "any" | "none"}` or
    /// `{"type": "tool", "name": …}`, optionally with `disable_parallel_tool_use`. Wins over
    /// the request's `toolChoice`.
    #[serde(default, rename = "tool_choice", skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// `metadata` (`{"user_id": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// Effort (`low`, `medium`, `high`, `xhigh`): sent as `output_config.effort` with the
    /// effort beta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `output_config` as the API takes it (`effort`, `task_budget`, …).
    #[serde(default, rename = "output_config", skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Map<String, Value>>,
    /// Beta features for this request (`anthropic-beta` header), added to the plugin's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub betas: Option<Vec<String>>,
    /// `stable` or `beta` (adds the default beta list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<ApiSurface>,
    /// Any other key: sent in the request body as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if self.api_key.is_some()
            && let Some(o) = v.as_object_mut()
        {
            o.insert("apiKey".into(), Value::String(genkit_http::REDACTED.into()));
        }
        write!(f, "AnthropicConfig({v})")
    }
}

/// Body keys the plugin sets itself; config keys of these names are not passed through.
pub(crate) const RESERVED: [&str; 4] = ["model", "messages", "stream", "system"];

/// Parses a request's `config` (absent or `null` is the default config).
///
/// # Errors
/// `INVALID_ARGUMENT` when a known field has the wrong type.
pub(crate) fn parse_config(config: Option<&Value>) -> genkit_core::Result<AnthropicConfig> {
    match config {
        None | Some(Value::Null) => Ok(AnthropicConfig::default()),
        Some(v) => AnthropicConfig::deserialize(v)
            .map_err(|e| genkit_core::Error::invalid_argument(format!("invalid Anthropic model config: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_keys_are_never_printed_or_serialized() {
        let c: AnthropicConfig = serde_json::from_value(json!({"apiKey": "sk-ant-live", "topK": 3})).unwrap();
        assert_eq!(c.api_key.as_deref(), Some("sk-ant-live"));
        let d = format!("{c:?}");
        assert!(!d.contains("sk-ant-live") && d.contains("redacted"), "{d}");
        assert!(serde_json::to_value(&c).unwrap().get("apiKey").is_none());
    }

    #[test]
    fn thinking_forms() {
        let t = |v: Value| serde_json::from_value::<ThinkingConfig>(v).unwrap().to_wire();
        assert_eq!(
            t(json!({"enabled": true, "budgetTokens": 1024})),
            Some(json!({"type": "enabled", "budget_tokens": 1024}))
        );
        assert_eq!(t(json!({"budgetTokens": 2000})), Some(json!({"type": "enabled", "budget_tokens": 2000})));
        assert_eq!(t(json!({"enabled": true})), None, "JS sends nothing without a budget");
        assert_eq!(t(json!({"enabled": false, "budgetTokens": 5})), Some(json!({"type": "disabled"})));
        assert_eq!(
            t(json!({"adaptive": true, "display": "omitted"})),
            Some(json!({"type": "adaptive", "display": "omitted"}))
        );
        assert_eq!(
            t(json!({"type": "enabled", "budget_tokens": 3000})),
            Some(json!({"type": "enabled", "budget_tokens": 3000}))
        );
        assert_eq!(t(json!({})), None);
    }

    #[test]
    fn schema_lists_the_known_fields() {
        let s = serde_json::to_value(schemars::schema_for!(AnthropicConfig)).unwrap();
        let props = s["properties"].as_object().unwrap();
        for k in
            ["temperature", "maxOutputTokens", "topK", "stopSequences", "tool_choice", "thinking", "effort", "betas"]
        {
            assert!(props.contains_key(k), "{k}");
        }
        assert!(!props.contains_key("apiKey"));
    }

    #[test]
    fn wrong_types_are_invalid_arguments() {
        let e = parse_config(Some(&json!({"temperature": "hot"}))).unwrap_err();
        assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
        assert!(parse_config(Some(&Value::Null)).unwrap().extra.is_empty());
    }
}
