//! The `enum` format: one of the schema's enum values, read from the text.

use super::*;

pub(super) struct EnumFormat(pub(super) FormatConfig);
pub(super) struct EnumHandler(pub(super) Option<String>);

impl FormatHandler for EnumHandler {
    fn parse_message(&self, message: &Message) -> Option<Value> {
        let t: String = text_of(message).chars().filter(|c| *c != '\'' && *c != '"').collect();
        Some(Value::String(t.trim().to_owned()))
    }
    fn instructions(&self) -> Option<String> {
        self.0.clone()
    }
}

pub(super) fn js_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Format for EnumFormat {
    fn name(&self) -> &str {
        "enum"
    }
    fn config(&self) -> &FormatConfig {
        &self.0
    }
    fn handler(&self, schema: Option<&Value>) -> Result<Arc<dyn FormatHandler>> {
        if let Some(s) = schema
            && !matches!(schema_type(s), Some("string" | "enum"))
        {
            return Err(Error::invalid_argument(
                "Must supply a 'string' or 'enum' schema type when using the enum parser format.",
            ));
        }
        let instructions = schema.and_then(|s| s.get("enum")).and_then(Value::as_array).map(|values| {
            let list: Vec<String> = values.iter().map(js_to_string).collect();
            format!(
                "Output should be ONLY one of the following enum values. Do not output any additional information or add quotes.\n\n{}",
                list.join("\n")
            )
        });
        Ok(Arc::new(EnumHandler(instructions)))
    }
}
