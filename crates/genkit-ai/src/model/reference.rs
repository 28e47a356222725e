//! Model references: a model's name plus default config.

use serde_json::Value;

use crate::ModelReference;

/// A model by name with default config (JS `modelRef`). Cheap to clone.
///
/// ```
/// use genkit_ai::ModelRef;
/// let r = ModelRef::new("gemini-2.5-flash").namespace("googleai").with_config(serde_json::json!({"temperature": 0}));
/// assert_eq!(r.name(), "googleai/gemini-2.5-flash");
/// assert_eq!(r.with_version("002").config().unwrap()["version"], "002");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRef {
    name: String,
    config: Option<Value>,
}

impl ModelRef {
    /// A reference to the model `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ModelRef { name: name.into(), config: None }
    }

    /// Prefixes `namespace/` unless the name already has it.
    #[must_use]
    pub fn namespace(mut self, ns: &str) -> Self {
        if !self.name.starts_with(&format!("{ns}/")) {
            self.name = format!("{ns}/{}", self.name);
        }
        self
    }

    /// A copy with this config (JS `withConfig`).
    #[must_use]
    pub fn with_config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

    /// A copy with `config.version` set (JS `withVersion`).
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        let mut cfg = match self.config.take() {
            Some(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        cfg.insert("version".into(), Value::String(version.into()));
        self.config = Some(Value::Object(cfg));
        self
    }

    /// The full model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The default config.
    pub fn config(&self) -> Option<&Value> {
        self.config.as_ref()
    }

    /// The wire form `{name, config?}`.
    pub fn to_wire(&self) -> ModelReference {
        ModelReference { name: self.name.clone(), config: self.config.clone() }
    }
}

impl From<&str> for ModelRef {
    fn from(s: &str) -> Self {
        ModelRef::new(s)
    }
}

impl From<String> for ModelRef {
    fn from(s: String) -> Self {
        ModelRef::new(s)
    }
}

impl From<ModelReference> for ModelRef {
    fn from(r: ModelReference) -> Self {
        ModelRef { name: r.name, config: r.config }
    }
}
