//! JSON schema normalisation for OpenAI's strict structured output (`strict: true`): every
//! object closes (`additionalProperties: false`) and lists all its properties as required,
//! formerly optional properties become nullable, `oneOf` becomes `anyOf`, and keywords strict
//! mode rejects (`$schema`, `default`) are dropped.

use serde_json::{Value, json};

/// The strict form of `schema`, or `None` when it cannot be expressed strictly (the root is
/// not an object, or some object allows arbitrary keys). Callers then send the schema
/// unchanged without `strict`.
///
/// ```
/// use serde_json::json;
/// let s = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]});
/// let strict = genkit_openai_compat::strict_schema(&s).unwrap();
/// assert_eq!(strict["required"], json!(["a", "b"]));
/// assert_eq!(strict["properties"]["b"]["type"], json!(["integer", "null"]));
/// assert_eq!(strict["additionalProperties"], json!(false));
/// ```
pub fn strict_schema(schema: &Value) -> Option<Value> {
    let root = schema.as_object()?;
    let is_object = root.get("type").and_then(Value::as_str) == Some("object") || root.contains_key("properties");
    if !is_object {
        return None;
    }
    let mut out = schema.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("$schema");
    }
    normalise(&mut out).then_some(out)
}

/// Normalises in place; false when the schema cannot be strict.
fn normalise(v: &mut Value) -> bool {
    let Some(o) = v.as_object_mut() else {
        return true;
    };
    o.remove("default");
    if let Some(one_of) = o.remove("oneOf") {
        o.insert("anyOf".into(), one_of);
    }
    let is_object = o.get("type").and_then(Value::as_str) == Some("object") || o.contains_key("properties");
    if is_object {
        // An object without declared properties is a free-form map: not expressible strictly.
        if !o.contains_key("properties") {
            return false;
        }
        o.insert("additionalProperties".into(), Value::Bool(false));
        let required: Vec<String> = o
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let mut all = Vec::new();
        if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, p) in props.iter_mut() {
                if !normalise(p) {
                    return false;
                }
                if !required.iter().any(|r| r == name) {
                    make_nullable(p);
                }
                all.push(Value::String(name.clone()));
            }
        }
        o.insert("required".into(), Value::Array(all));
    }
    for key in ["items", "not"] {
        if let Some(child) = o.get_mut(key)
            && !normalise(child)
        {
            return false;
        }
    }
    for key in ["anyOf", "allOf", "prefixItems"] {
        if let Some(list) = o.get_mut(key).and_then(Value::as_array_mut) {
            for child in list {
                if !normalise(child) {
                    return false;
                }
            }
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(defs) = o.get_mut(key).and_then(Value::as_object_mut) {
            for child in defs.values_mut() {
                if !normalise(child) {
                    return false;
                }
            }
        }
    }
    true
}

fn make_nullable(p: &mut Value) {
    let Some(o) = p.as_object_mut() else {
        return;
    };
    match o.get_mut("type") {
        Some(Value::String(t)) => {
            if t != "null" {
                let t = std::mem::take(t);
                o.insert("type".into(), json!([t, "null"]));
            }
            if let Some(Value::Array(e)) = o.get_mut("enum")
                && !e.contains(&Value::Null)
            {
                e.push(Value::Null);
            }
        }
        Some(Value::Array(ts)) => {
            if !ts.iter().any(|t| t == "null") {
                ts.push(json!("null"));
            }
        }
        _ => {
            if let Some(Value::Array(any)) = o.get_mut("anyOf") {
                if !any.iter().any(|s| s.get("type") == Some(&json!("null"))) {
                    any.push(json!({"type": "null"}));
                }
            } else {
                let inner = std::mem::take(o);
                o.insert("anyOf".into(), json!([Value::Object(inner), {"type": "null"}]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_arrays_and_defs_are_closed() {
        let s = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "x"},
                "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "pet": {"$ref": "#/$defs/Pet"},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            },
            "required": ["name", "tags"],
            "$defs": {"Pet": {"type": "object", "properties": {"legs": {"type": "integer"}}, "required": ["legs"]}}
        });
        let out = strict_schema(&s).unwrap();
        assert!(out.get("$schema").is_none());
        assert!(out["properties"]["name"].get("default").is_none());
        assert_eq!(out["required"], json!(["name", "tags", "kind", "pet", "either"]));
        assert_eq!(out["properties"]["name"]["type"], "string");
        assert_eq!(out["properties"]["kind"]["type"], json!(["string", "null"]));
        assert_eq!(out["properties"]["kind"]["enum"], json!(["a", "b", null]));
        let item = &out["properties"]["tags"]["items"];
        assert_eq!(item["additionalProperties"], false);
        assert_eq!(item["required"], json!(["k"]));
        assert_eq!(item["properties"]["k"]["type"], json!(["string", "null"]));
        assert_eq!(out["properties"]["pet"]["anyOf"], json!([{"$ref": "#/$defs/Pet"}, {"type": "null"}]));
        assert_eq!(
            out["properties"]["either"]["anyOf"],
            json!([{"type": "string"}, {"type": "integer"}, {"type": "null"}])
        );
        assert_eq!(out["$defs"]["Pet"]["additionalProperties"], false);
        assert_eq!(out["$defs"]["Pet"]["properties"]["legs"]["type"], "integer");
    }

    #[test]
    fn schemas_that_cannot_be_strict_are_refused() {
        assert!(strict_schema(&json!({"type": "string"})).is_none());
        assert!(strict_schema(&json!({"type": "array", "items": {"type": "string"}})).is_none());
        let map = json!({"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}}});
        assert!(strict_schema(&map).is_none());
        assert!(strict_schema(&json!({"type": "object", "properties": {"o": {"type": "object"}}})).is_none());
        let nullable_already = json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}});
        assert_eq!(strict_schema(&nullable_already).unwrap()["properties"]["a"]["type"], json!(["string", "null"]));
    }
}
