//! The model config: Genkit's common fields plus the Gemini extras (`safetySettings`,
//! `thinkingConfig`, `functionCallingConfig`, `responseModalities`, `candidateCount`,
//! `tools`, `toolConfig`), with any other key passed into `generationConfig`.

use genkit_core::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Thinking (`generationConfig.thinkingConfig`), sent as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThinkingConfig {
    /// Whether thought summaries come back (as reasoning parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
    /// Tokens the model may spend thinking (0 turns thinking off where allowed, -1 dynamic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<i64>,
    /// The thinking level of Gemini 3 models (`minimal`, `low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
}

/// One safety setting (`{category, threshold}`), passed through as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SafetySetting {
    /// e.g. `HARM_CATEGORY_HATE_SPEECH`.
    pub category: String,
    /// e.g. `BLOCK_ONLY_HIGH`, `BLOCK_NONE`.
    pub threshold: String,
}

/// Function calling mode and allowed names (`toolConfig.functionCallingConfig`); set here it
/// wins over the request's `toolChoice`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE` or `MODE_UNSPECIFIED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// With `ANY`: the functions the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<Vec<String>>,
}

/// Config of the Gemini models (`config` of a generate call).
///
/// ```
/// use genkit_google_genai::GeminiConfig;
/// let c: GeminiConfig = serde_json::from_value(serde_json::json!({
///     "temperature": 0.2,
///     "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true},
///     "seed": 7
/// })).unwrap();
/// assert_eq!(c.thinking_config.unwrap().thinking_budget, Some(1024));
/// assert_eq!(c.extra["seed"], 7);
/// ```
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeminiConfig {
    /// Model id to call instead of the action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Sequences that stop generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Number of candidates (the request's `candidates` also sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u32>,
    /// API key for this call only; never serialized.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub api_key: Option<String>,
    /// Safety settings, sent as `safetySettings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_settings: Option<Vec<SafetySetting>>,
    /// Thinking settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
    /// Function calling mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_calling_config: Option<FunctionCallingConfig>,
    /// Output modalities (`TEXT`, `IMAGE`, `AUDIO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modalities: Option<Vec<String>>,
    /// Extra tool objects appended to the request's `tools` (e.g. `{"googleSearch": {}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub tools: Option<Vec<Value>>,
    /// A raw `toolConfig`, sent as is (its `functionCallingConfig` is completed from the
    /// fields above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub tool_config: Option<Map<String, Value>>,
    /// Other keys, passed into `generationConfig` (e.g. `seed`, `presencePenalty`).
    #[serde(flatten)]
    #[schemars(skip)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for GeminiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        if self.api_key.is_some()
            && let Some(o) = shown.as_object_mut()
        {
            o.insert("apiKey".into(), Value::String(genkit_http::REDACTED.into()));
        }
        write!(f, "GeminiConfig({shown})")
    }
}

/// Reads a request's config (absent or `null` is the default).
pub(crate) fn parse_config(v: Option<&Value>) -> Result<GeminiConfig> {
    match v {
        None | Some(Value::Null) => Ok(GeminiConfig::default()),
        Some(v) => GeminiConfig::deserialize(v).map_err(|e| Error::invalid_argument(format!("invalid config: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_key_never_shows_and_bad_configs_are_rejected() {
        let c = parse_config(Some(&json!({"apiKey": "AIza-hidden", "temperature": 1}))).unwrap();
        assert!(!format!("{c:?}").contains("AIza-hidden"));
        assert_eq!(c.api_key.as_deref(), Some("AIza-hidden"));
        let e = parse_config(Some(&json!({"temperature": "hot"}))).unwrap_err();
        assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
    }
}
