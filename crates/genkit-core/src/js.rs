//! JavaScript value semantics that Genkit's behaviour depends on, applied to JSON values.

use serde_json::Value;

/// Whether `v` is truthy as JavaScript decides for the same JSON value: `null`, `false`,
/// `""`, `0` and `-0` are falsy; every other value, including `[]` and `{}`, is truthy.
///
/// ```
/// use genkit_core::js::truthy;
/// use serde_json::json;
/// assert!(!truthy(&json!(null)) && !truthy(&json!(0)) && !truthy(&json!("")));
/// assert!(truthy(&json!([])) && truthy(&json!({})) && truthy(&json!("0")));
/// ```
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::Array(_) | Value::Object(_) => true,
    }
}
