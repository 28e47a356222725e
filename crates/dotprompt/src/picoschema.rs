//! Picoschema: the compact schema notation of `.prompt` files, compiled to JSON Schema.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::error::{Error, Missing, Result};
use crate::jsfmt::json_stringify;

const SCALAR_TYPES: [&str; 6] = ["any", "boolean", "integer", "null", "number", "string"];
const WILDCARD: &str = "(*)";

#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static DESCRIPTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(.*?), *(.*)$").expect("valid regex"));

/// A borrowed named-schema lookup for [`picoschema`].
pub type SchemaLookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

/// Compiles a Picoschema value to JSON Schema.
///
/// `resolver` looks up named schemas (`schema: MySchema`, `field: MySchema, a description`). Values that are
/// already JSON Schema (a top-level `type` of a JSON type, or `properties`) pass through. Returns `None` for an
/// empty schema (`null`, `""`, `false`, `0`).
///
/// # Errors
///
/// [`ErrorKind::Schema`](crate::ErrorKind::Schema) for invalid Picoschema (for example an unknown scalar type
/// without a resolver, or a parenthetical type other than `array`, `object` or `enum`), and
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the resolver does not know a named schema.
///
/// ```
/// use serde_json::json;
/// let schema = dotprompt::picoschema(&json!({"name": "string", "age?": "integer, years"}), None).unwrap();
/// assert_eq!(schema, Some(json!({
///     "type": "object",
///     "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"], "description": "years"}},
///     "required": ["name"],
///     "additionalProperties": false
/// })));
/// ```
pub fn picoschema(schema: &Value, resolver: Option<SchemaLookup<'_>>) -> Result<Option<Value>> {
    Parser { resolver }.parse(schema)
}

/// Whether JavaScript considers the value falsy (`!value`): `null`, `false`, `""`, `0`, `-0`;
/// never an array or object. The same table as `genkit_core::js::truthy`, negated: this crate
/// stands alone (no Genkit dependency), so it keeps its own copy.
pub(crate) fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64().is_none_or(|f| f == 0.0 || f.is_nan()),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

fn extract_description(input: &str) -> (&str, Option<&str>) {
    if !input.contains(',') {
        return (input, None);
    }
    match DESCRIPTION.captures(input) {
        Some(c) => match (c.get(1), c.get(2)) {
            (Some(t), Some(d)) => (t.as_str(), Some(d.as_str()).filter(|d| !d.is_empty())),
            _ => (input, None),
        },
        None => (input, None),
    }
}

fn with_description(mut schema: Value, description: Option<&str>) -> Value {
    if let Some(d) = description {
        match &mut schema {
            Value::Object(m) => {
                m.insert("description".into(), Value::String(d.to_owned()));
            }
            _ => schema = json!({ "description": d }),
        }
    }
    schema
}

struct Parser<'a> {
    resolver: Option<SchemaLookup<'a>>,
}

impl Parser<'_> {
    fn must_resolve(&self, name: &str) -> Result<Value> {
        let Some(resolver) = self.resolver else {
            return Err(Error::schema(format!("Picoschema: unsupported scalar type '{name}'.")));
        };
        match resolver(name) {
            Some(v) if !is_falsy(&v) => Ok(v),
            _ => Err(Error::not_found(
                Missing::Schema,
                name,
                format!("Picoschema: could not find schema with name '{name}'"),
            )),
        }
    }

    fn parse(&self, schema: &Value) -> Result<Option<Value>> {
        if is_falsy(schema) {
            return Ok(None);
        }
        if let Value::String(s) = schema {
            let (ty, description) = extract_description(s);
            if SCALAR_TYPES.contains(&ty) {
                return Ok(Some(with_description(json!({ "type": ty }), description)));
            }
            return Ok(Some(with_description(self.must_resolve(ty)?, description)));
        }
        if let Value::Object(map) = schema {
            if let Some(Value::String(ty)) = map.get("type")
                && (SCALAR_TYPES.contains(&ty.as_str()) || ty == "object" || ty == "array")
            {
                return Ok(Some(schema.clone()));
            }
            if matches!(map.get("properties"), Some(Value::Object(_) | Value::Array(_) | Value::Null)) {
                let mut out = map.clone();
                out.insert("type".into(), Value::String("object".into()));
                return Ok(Some(Value::Object(out)));
            }
        }
        self.parse_pico(schema).map(Some)
    }

    fn parse_pico(&self, value: &Value) -> Result<Value> {
        let entries: Vec<(String, &Value)> = match value {
            Value::String(s) => return self.parse_scalar(s),
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
            Value::Null => Vec::new(),
            other => {
                return Err(Error::schema(format!(
                    "Picoschema: only consists of objects and strings. Got: {}",
                    json_stringify(other, "")
                )));
            }
        };

        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut additional = Value::Bool(false);
        for (key, value) in entries {
            if key == WILDCARD {
                additional = self.parse_pico(value)?;
                continue;
            }
            let mut split = key.split('(');
            let name = split.next().unwrap_or_default();
            let type_info = split.next().unwrap_or_default();
            let optional = name.ends_with('?');
            let prop_name = if optional { &name[..name.len() - 1] } else { name };
            if !optional {
                required.push(Value::String(prop_name.to_owned()));
            }

            if type_info.is_empty() {
                let mut prop = self.parse_pico(value)?;
                if optional
                    && let Some(obj) = prop.as_object_mut()
                    && let Some(Value::String(ty)) = obj.get("type").cloned()
                {
                    obj.insert("type".into(), json!([ty, "null"]));
                }
                properties.insert(prop_name.to_owned(), prop);
                continue;
            }

            let inner = type_info.char_indices().last().map_or("", |(i, _)| &type_info[..i]);
            let (ty, description) = extract_description(inner);
            let mut prop = match ty {
                "array" => {
                    let items = self.parse_pico(value)?;
                    let ty = if optional { json!(["array", "null"]) } else { json!("array") };
                    json!({ "type": ty, "items": items })
                }
                "object" => {
                    let mut prop = self.parse_pico(value)?;
                    if optional && let Some(obj) = prop.as_object_mut() {
                        let ty = obj.get("type").cloned().unwrap_or(Value::Null);
                        obj.insert("type".into(), json!([ty, "null"]));
                    }
                    prop
                }
                "enum" => {
                    let Value::Array(values) = value else {
                        return Err(Error::schema(format!(
                            "Picoschema: the values of enum property '{prop_name}' must be a list, got: {}",
                            json_stringify(value, "")
                        )));
                    };
                    let mut values = values.clone();
                    if optional && !values.contains(&Value::Null) {
                        values.push(Value::Null);
                    }
                    json!({ "enum": values })
                }
                other => {
                    return Err(Error::schema(format!(
                        "Picoschema: parenthetical types must be 'object' or 'array', got: {other}"
                    )));
                }
            };
            prop = with_description(prop, description);
            properties.insert(prop_name.to_owned(), prop);
        }

        let mut schema = Map::new();
        schema.insert("type".into(), Value::String("object".into()));
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
        schema.insert("additionalProperties".into(), additional);
        Ok(Value::Object(schema))
    }

    fn parse_scalar(&self, s: &str) -> Result<Value> {
        let (ty, description) = extract_description(s);
        if !SCALAR_TYPES.contains(&ty) {
            return Ok(with_description(self.must_resolve(ty)?, description));
        }
        if ty == "any" {
            return Ok(with_description(json!({}), description));
        }
        Ok(with_description(json!({ "type": ty }), description))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn pico(v: &Value) -> Result<Option<Value>> {
        picoschema(v, None)
    }

    #[test]
    fn scalars_and_descriptions() {
        assert_eq!(pico(&json!("string")).unwrap(), Some(json!({"type": "string"})));
        assert_eq!(pico(&json!("number,   a, b")).unwrap(), Some(json!({"type": "number", "description": "a, b"})));
        assert_eq!(pico(&json!(null)).unwrap(), None);
        assert_eq!(pico(&json!({"type": "string"})).unwrap(), Some(json!({"type": "string"})));
        assert_eq!(
            pico(&json!({"properties": {"a": {"type": "string"}}})).unwrap(),
            Some(json!({"properties": {"a": {"type": "string"}}, "type": "object"}))
        );
    }

    #[test]
    fn errors_have_exact_messages() {
        let e = pico(&json!("Foo")).unwrap_err();
        assert_eq!(e.message(), "Picoschema: unsupported scalar type 'Foo'.");
        assert_eq!(e.kind(), &ErrorKind::Schema);

        let none = |_: &str| None;
        let e = picoschema(&json!({"a": "Foo"}), Some(&none)).unwrap_err();
        assert_eq!(e.message(), "Picoschema: could not find schema with name 'Foo'");
        assert!(matches!(e.kind(), ErrorKind::NotFound { item: Missing::Schema, name } if name == "Foo"));

        let e = pico(&json!({"a(map)": "string"})).unwrap_err();
        assert_eq!(e.message(), "Picoschema: parenthetical types must be 'object' or 'array', got: map");

        let e = pico(&json!({"a": 5})).unwrap_err();
        assert_eq!(e.message(), "Picoschema: only consists of objects and strings. Got: 5");
    }

    #[test]
    fn resolver_supplies_named_schemas() {
        let resolver = |name: &str| (name == "Foo").then(|| json!({"type": "number", "description": "a foo"}));
        let out = picoschema(&json!({"foo?": "Foo, optional"}), Some(&resolver)).unwrap().unwrap();
        assert_eq!(out["properties"]["foo"], json!({"type": ["number", "null"], "description": "optional"}));
        assert_eq!(out.get("required"), None);
    }

    #[test]
    fn enums_wildcards_and_arrays() {
        let out = pico(&json!({"c?(enum)": ["A"], "(*)": "string", "l(array, items)": {"x": "any"}})).unwrap().unwrap();
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": {
                    "c": {"enum": ["A", null]},
                    "l": {"type": "array", "items": {"type": "object", "properties": {"x": {}}, "required": ["x"],
                          "additionalProperties": false}, "description": "items"}
                },
                "required": ["l"],
                "additionalProperties": {"type": "string"}
            })
        );
    }
}
