//! `ModelInfo`, `ModelReference` and `GenerationCommonConfig`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether and how a model supports constrained (schema-guided) output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Constrained {
    /// Never.
    None,
    /// Always.
    All,
    /// Only when no tools are given.
    NoTools,
}

/// Release stage of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum ModelStage {
    Featured,
    Stable,
    Unstable,
    Legacy,
    Deprecated,
}

/// What a model supports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ModelSupports {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiturn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_role: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained: Option<Constrained>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_running: Option<bool>,
}

/// Describes a model (`metadata.model` of a model action).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Versions the model accepts in `config.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<String>>,
    /// Human-readable label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// JSON schema of the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<Map<String, Value>>,
    /// Capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports: Option<ModelSupports>,
    /// Release stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<ModelStage>,
}

/// A model by name, with default config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelReference {
    /// Model name (`plugin/model`).
    pub name: String,
    /// Config merged under per-call config.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub config: Option<Value>,
}

/// Config fields most models accept; unknown fields are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct GenerationCommonConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Never logged or traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Other provider-specific fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
