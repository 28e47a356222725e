//! The `text` format: plain text, no instructions.

use super::*;

pub(super) struct TextFormat(pub(super) FormatConfig);
pub(super) struct TextHandler;

impl FormatHandler for TextHandler {
    fn parse_message(&self, message: &Message) -> Option<Value> {
        Some(Value::String(text_of(message)))
    }
    fn parse_chunk(&self, chunk: ChunkView<'_>) -> Option<Value> {
        Some(Value::String(chunk.chunk.text()))
    }
}

impl Format for TextFormat {
    fn name(&self) -> &str {
        "text"
    }
    fn config(&self) -> &FormatConfig {
        &self.0
    }
    fn handler(&self, _schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        Ok(Arc::new(TextHandler))
    }
}
