//! Flow options.

use genkit_core::{ActionBuilder, ActionDef, ActionType};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Options of a flow beyond its name (JS `defineFlow({name, …})`).
///
/// ```
/// use genkit::FlowOptions;
/// let o = FlowOptions::new("summarize").description("Summarizes text");
/// ```
#[derive(Debug, Clone, Default)]
pub struct FlowOptions {
    pub(crate) name: String,
    description: Option<String>,
    input_schema: Option<Value>,
    output_schema: Option<Value>,
    stream_schema: Option<Value>,
    init_schema: Option<Value>,
    metadata: Map<String, Value>,
}

impl FlowOptions {
    /// Options for a flow named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        FlowOptions { name: name.into(), ..FlowOptions::default() }
    }

    /// Sets the description shown in the Dev UI.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Replaces the input schema derived from the input type (input is then validated
    /// against it on every call).
    #[must_use]
    pub fn input_schema(mut self, s: Value) -> Self {
        self.input_schema = Some(s);
        self
    }

    /// Replaces the output schema derived from the output type.
    #[must_use]
    pub fn output_schema(mut self, s: Value) -> Self {
        self.output_schema = Some(s);
        self
    }

    /// Replaces the stream chunk schema derived from the chunk type.
    #[must_use]
    pub fn stream_schema(mut self, s: Value) -> Self {
        self.stream_schema = Some(s);
        self
    }

    /// Sets the schema of the `init` value of a bidirectional flow.
    #[must_use]
    pub fn init_schema(mut self, s: Value) -> Self {
        self.init_schema = Some(s);
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// The builder of a flow action with these options.
    pub(crate) fn into_builder<I, O, S>(self) -> ActionBuilder<I, O, S>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        S: Serialize + JsonSchema + Send + Sync + 'static,
    {
        let mut b = ActionDef::builder(ActionType::Flow, self.name);
        if let Some(d) = self.description {
            b = b.description(d);
        }
        if let Some(s) = self.input_schema {
            b = b.input_schema(s);
        }
        if let Some(s) = self.output_schema {
            b = b.output_schema(s);
        }
        if let Some(s) = self.stream_schema {
            b = b.stream_schema(s);
        }
        if let Some(s) = self.init_schema {
            b = b.init_schema(s);
        }
        for (k, v) in self.metadata {
            b = b.metadata(k, v);
        }
        b
    }
}
