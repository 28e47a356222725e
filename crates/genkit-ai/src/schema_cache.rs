//! Compiled JSON Schema validators cached by schema content, so structured output validates
//! without recompiling the schema on every call.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use genkit_core::{Result, SchemaValidator};
use serde_json::{Map, Value};

/// Upper bound on cached validators; the cache is cleared when it is reached (schemas are
/// normally a handful of fixed types, so this only guards against unbounded growth).
const MAX_ENTRIES: usize = 512;

fn cache() -> &'static RwLock<HashMap<String, Arc<SchemaValidator>>> {
    static C: OnceLock<RwLock<HashMap<String, Arc<SchemaValidator>>>> = OnceLock::new();
    C.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The compiled validator for `schema`, compiled once per distinct schema.
///
/// # Errors
/// `INVALID_ARGUMENT` when the schema itself is invalid.
pub(crate) fn validator(schema: &Map<String, Value>) -> Result<Arc<SchemaValidator>> {
    let key = serde_json::to_string(schema).unwrap_or_default();
    if let Some(v) = cache().read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(v.clone());
    }
    let v = Arc::new(SchemaValidator::new(Value::Object(schema.clone()))?);
    let mut w = cache().write().unwrap_or_else(|e| e.into_inner());
    if w.len() >= MAX_ENTRIES {
        w.clear();
    }
    w.insert(key, v.clone());
    Ok(v)
}

/// Validates `value` against `schema` (JS `parseSchema`).
///
/// # Errors
/// `INVALID_ARGUMENT` with the validation errors.
pub(crate) fn validate(schema: &Map<String, Value>, value: &Value) -> Result<()> {
    validator(schema)?.validate(value)
}

/// Validates `value` against a schema given as any JSON value (objects are cached; `true`
/// and other trivial schemas accept everything).
///
/// # Errors
/// `INVALID_ARGUMENT` with the validation errors.
pub(crate) fn validate_value(schema: &Value, value: &Value) -> Result<()> {
    match schema {
        Value::Object(m) => validate(m, value),
        _ => Ok(()),
    }
}
