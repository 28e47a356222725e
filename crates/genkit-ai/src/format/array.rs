//! The `array` format: a JSON array of items; streamed chunks yield the items completed in them.

use super::*;

pub(super) struct ArrayFormat(pub(super) FormatConfig);
pub(super) struct ArrayHandler(pub(super) Option<String>);

impl FormatHandler for ArrayHandler {
    fn parse_message(&self, message: &Message) -> Option<Value> {
        Some(Value::Array(extract_items(&text_of(message), 0).0))
    }
    fn parse_chunk(&self, chunk: ChunkView<'_>) -> Option<Value> {
        let cursor = if chunk.has_previous { extract_items(chunk.previous_text, 0).1 } else { 0 };
        Some(Value::Array(extract_items(&chunk.accumulated_text(), cursor).0))
    }
    fn instructions(&self) -> Option<String> {
        self.0.clone()
    }
}

impl Format for ArrayFormat {
    fn name(&self) -> &str {
        "array"
    }
    fn config(&self) -> &FormatConfig {
        &self.0
    }
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        if let Some(s) = schema
            && schema_type(s) != Some("array")
        {
            return Err(Error::invalid_argument(
                "Must supply an 'array' schema type when using the 'items' parser format.",
            ));
        }
        let instructions = schema.map(|s| {
            format!("Output should be a JSON array conforming to the following schema:\n    \n```\n{s}\n```\n    ")
        });
        Ok(Arc::new(ArrayHandler(instructions)))
    }
}
