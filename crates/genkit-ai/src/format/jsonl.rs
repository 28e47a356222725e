//! The `jsonl` format: one JSON object per line; streamed chunks yield the lines completed in them.

use super::*;

pub(super) struct JsonlFormat(pub(super) FormatConfig);
pub(super) struct JsonlHandler(pub(super) Option<String>);

impl FormatHandler for JsonlHandler {
    fn parse_message(&self, message: &Message) -> Option<Value> {
        let text = text_of(message);
        let items = text
            .split('\n')
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .filter_map(extract_json)
            .filter(truthy)
            .collect();
        Some(Value::Array(items))
    }
    fn parse_chunk(&self, chunk: ChunkView<'_>) -> Option<Value> {
        let text = chunk.accumulated_text();
        let mut start = 0;
        if chunk.has_previous
            && let Some(i) = chunk.previous_text.rfind('\n')
        {
            start = i + 1;
        }
        let mut out = Vec::new();
        for line in text.get(start..).unwrap_or("").split('\n') {
            let t = line.trim();
            if t.starts_with('{') {
                match parse_json5(t) {
                    Some(v) => {
                        if truthy(&v) {
                            out.push(v);
                        }
                    }
                    None => break,
                }
            }
        }
        Some(Value::Array(out))
    }
    fn instructions(&self) -> Option<String> {
        self.0.clone()
    }
}

impl Format for JsonlFormat {
    fn name(&self) -> &str {
        "jsonl"
    }
    fn config(&self) -> &FormatConfig {
        &self.0
    }
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        if let Some(s) = schema
            && (schema_type(s) != Some("array") || s.get("items").and_then(schema_type) != Some("object"))
        {
            return Err(Error::invalid_argument(
                "Must supply an 'array' schema type containing 'object' items when using the 'jsonl' parser format.",
            ));
        }
        let instructions = schema.and_then(|s| s.get("items")).map(|items| {
            format!(
                "Output should be JSONL format, a sequence of JSON objects (one per line) separated by a newline `\\n` character. Each line should be a JSON object conforming to the following schema:\n\n```\n{items}\n```\n    "
            )
        });
        Ok(Arc::new(JsonlHandler(instructions)))
    }
}
