//! The chat model config: Genkit's common fields, the OpenAI extras, and pass-through of
//! any other key into the request body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Image detail for vision input (`image_url.detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VisualDetailLevel {
    /// The provider chooses.
    Auto,
    /// Low resolution (cheaper).
    Low,
    /// High resolution.
    High,
}

/// Config of the chat models (`config` of a generate call). Keys it does not know are sent
/// in the request body unchanged, so provider options like `response_format`, `logit_bias`,
/// `web_search_options` or `top_k` (vLLM) work without a new release.
///
/// ```
/// use genkit_openai_compat::ChatConfig;
/// let c: ChatConfig = serde_json::from_value(serde_json::json!({
///     "temperature": 0.2, "maxOutputTokens": 100, "reasoning_effort": "low"
/// })).unwrap();
/// assert_eq!(c.temperature, Some(0.2));
/// assert_eq!(c.extra["reasoning_effort"], "low");
/// ```
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatConfig {
    /// Model id to call instead of the action's (for example a dated snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Sampling temperature, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum tokens to generate (`max_tokens`, or `max_completion_tokens` for reasoning models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Not part of the OpenAI API; ignored (pass `top_k` for servers that accept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Up to 4 stop sequences (`stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// API key for this request only. Never serialized, logged or traced.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// `frequency_penalty`, −2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// `presence_penalty`, −2 to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// `seed` for best-effort determinism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// `logprobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_probs: Option<bool>,
    /// `top_logprobs`, 0–20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_log_probs: Option<u32>,
    /// End-user id (`user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Store the completion (OpenAI `store`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// `reasoning_effort` of reasoning models (`minimal`, `low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// `parallel_tool_calls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// `detail` of image inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_detail_level: Option<VisualDetailLevel>,
    /// Send JSON schemas with `strict: true` (after normalising them as strict mode needs).
    /// Defaults to the provider's setting (on for OpenAI and Azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_json_schema: Option<bool>,
    /// Any other key: sent in the request body as is.
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for ChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::client::fmt_config(f, "ChatConfig", self, self.api_key.is_some())
    }
}

/// Body keys the plugin sets itself; config keys of these names are dropped.
pub(crate) const RESERVED: [&str; 4] = ["model", "messages", "stream", "stream_options"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_never_printed_or_serialized() {
        let c: ChatConfig = serde_json::from_value(serde_json::json!({"apiKey": "sk-live", "seed": 3})).unwrap();
        assert_eq!(c.api_key.as_deref(), Some("sk-live"));
        let d = format!("{c:?}");
        assert!(!d.contains("sk-live") && d.contains("redacted"), "{d}");
        assert!(serde_json::to_value(&c).unwrap().get("apiKey").is_none());
    }

    #[test]
    fn schema_lists_the_known_fields() {
        let s = serde_json::to_value(schemars::schema_for!(ChatConfig)).unwrap();
        let props = s["properties"].as_object().unwrap();
        for k in ["temperature", "maxOutputTokens", "topP", "stopSequences", "seed", "frequencyPenalty"] {
            assert!(props.contains_key(k), "{k}");
        }
        assert!(!props.contains_key("apiKey"));
    }
}
