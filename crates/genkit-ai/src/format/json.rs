//! The `json` format: a JSON object (or any JSON value) matching the schema; streamed chunks parse as partial JSON.

use super::*;

pub(super) struct JsonFormat(pub(super) FormatConfig);
pub(super) struct JsonHandler(pub(super) Option<String>);

impl FormatHandler for JsonHandler {
    fn parse_message(&self, message: &Message) -> Option<Value> {
        extract_json(&text_of(message))
    }
    fn parse_chunk(&self, chunk: ChunkView<'_>) -> Option<Value> {
        extract_json(&chunk.accumulated_text())
    }
    fn instructions(&self) -> Option<String> {
        self.0.clone()
    }
}

/// The instructions the `json` format (and the constrained-generation simulator) inject.
pub fn json_instructions(schema: &Value) -> String {
    format!("Output should be in JSON format and conform to the following schema:\n\n```\n{schema}\n```\n")
}

impl Format for JsonFormat {
    fn name(&self) -> &str {
        "json"
    }
    fn config(&self) -> &FormatConfig {
        &self.0
    }
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        Ok(Arc::new(JsonHandler(schema.map(json_instructions))))
    }
}
