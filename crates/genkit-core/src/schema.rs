//! JSON Schema: generation from Rust types (draft-07, like Genkit JS) and validation.
//!
//! Genkit JS converts zod schemas with `zod-to-json-schema`, which emits JSON Schema
//! **draft-07** with every subschema inlined (`$refStrategy: 'none'`). The Dev UI builds its
//! input forms from those schemas, so we emit the same dialect: [`schema_for`] uses `schemars`
//! with draft-07 settings and inlined subschemas (only recursive types keep `definitions` +
//! `$ref`). Validation compiles the schema once with the `jsonschema` crate, honouring the
//! schema's `$schema` (draft-07 when absent) and checking `format`s as `ajv-formats` does.

use std::fmt::Write as _;
use std::sync::Arc;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::{Error, Result, Status};

/// The `$schema` URI of the dialect we emit.
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// JSON Schema (draft-07, subschemas inlined) for a Rust type.
///
/// ```
/// #[derive(schemars::JsonSchema)]
/// struct Person { name: String, age: Option<u32> }
/// let s = genkit_core::schema_for::<Person>();
/// assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
/// assert_eq!(s["required"], serde_json::json!(["name"]));
/// ```
pub fn schema_for<T: JsonSchema + ?Sized>() -> Value {
    // Generating a large schema (a model's request type) costs milliseconds; every model, flow
    // and Genkit instance with the same types reuses the first result. schemars' `schema_id`
    // identifies a type uniquely (it keys schemars' own definitions).
    static CACHE: std::sync::OnceLock<std::sync::RwLock<std::collections::HashMap<String, Value>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = T::schema_id();
    if let Some(v) = cache.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(id.as_ref()) {
        return v.clone();
    }
    let v = generate_schema::<T>();
    cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.into_owned(), v.clone());
    v
}

fn generate_schema<T: JsonSchema + ?Sized>() -> Value {
    let mut settings = SchemaSettings::draft07();
    settings.inline_subschemas = true;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut v = schema.to_value();
    if let Some(obj) = v.as_object_mut() {
        // schemars adds a `title` with the Rust type name; zod-to-json-schema does not.
        obj.shift_remove("title");
    }
    strip_rust_formats(&mut v);
    v
}

/// Formats draft-07 (and `ajv-formats`) know. schemars adds Rust-specific ones (`uint32`,
/// `int64`, `double`, …) that strict JSON Schema tooling such as ajv rejects as unknown; the
/// numeric range they imply is already expressed with `minimum`/`maximum`.
const KNOWN_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "byte",
    "binary",
    "password",
];

fn strip_rust_formats(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("format").and_then(Value::as_str).is_some_and(|f| !KNOWN_FORMATS.contains(&f)) {
                m.shift_remove("format");
            }
            m.values_mut().for_each(strip_rust_formats);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_rust_formats),
        _ => {}
    }
}

/// Whether a schema accepts anything (`{}`, `true`, or only annotations); such schemas are
/// not worth validating against.
pub(crate) fn is_trivial(schema: &Value) -> bool {
    match schema {
        Value::Bool(true) => true,
        Value::Object(m) => m
            .keys()
            .all(|k| matches!(k.as_str(), "$schema" | "title" | "description" | "default" | "examples" | "$comment")),
        _ => false,
    }
}

/// A compiled schema validator; cheap to clone.
#[derive(Clone)]
pub struct SchemaValidator {
    schema: Arc<Value>,
    compiled: Option<Arc<jsonschema::Validator>>,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator").field("schema", &self.schema).finish()
    }
}

impl SchemaValidator {
    /// Compiles a schema.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` if the schema itself is invalid.
    pub fn new(schema: Value) -> Result<Self> {
        let compiled = if is_trivial(&schema) {
            None
        } else {
            let draft = match schema.get("$schema").and_then(Value::as_str) {
                Some(s) if s.contains("2020-12") => jsonschema::Draft::Draft202012,
                Some(s) if s.contains("2019-09") => jsonschema::Draft::Draft201909,
                Some(s) if s.contains("draft-06") => jsonschema::Draft::Draft6,
                Some(s) if s.contains("draft-04") => jsonschema::Draft::Draft4,
                _ => jsonschema::Draft::Draft7,
            };
            let v =
                jsonschema::options().with_draft(draft).should_validate_formats(true).build(&schema).map_err(|e| {
                    Error::new(Status::InvalidArgument, format!("invalid JSON schema: {e}"))
                        .with_details(json!({ "schema": schema }))
                })?;
            Some(Arc::new(v))
        };
        Ok(SchemaValidator { schema: Arc::new(schema), compiled })
    }

    /// The schema this validator checks.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Validates `data` (JS `parseSchema`).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` with the JS message layout
    /// (`Schema validation failed. Parse Errors: …`) and `details: {errors: [{path, message}], schema}`.
    pub fn validate(&self, data: &Value) -> Result<()> {
        let Some(v) = &self.compiled else { return Ok(()) };
        if v.is_valid(data) {
            return Ok(());
        }
        let errors: Vec<ValidationIssue> = v
            .iter_errors(data)
            .map(|e| ValidationIssue {
                path: pointer_to_path(e.instance_path().as_str()),
                message: ajv_message(e.kind(), &e),
            })
            .collect();
        Err(validation_error(data, &errors, &self.schema))
    }
}

/// One schema violation: a dotted instance path (`(root)` for the root) and an ajv-style message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationIssue {
    /// Instance path with `/` replaced by `.`, or `(root)`.
    pub path: String,
    /// Message in the wording of ajv (e.g. `must have required property 'name'`).
    pub message: String,
}

/// Builds the `INVALID_ARGUMENT` error JS `ValidationError` produces.
pub fn validation_error(data: &Value, errors: &[ValidationIssue], schema: &Value) -> Error {
    let mut msg = String::from("Schema validation failed. Parse Errors:\n\n");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            msg.push('\n');
        }
        let _ = write!(msg, "- {}: {}", e.path, e.message);
    }
    msg.push_str("\n\nProvided data:\n\n");
    msg.push_str(&serde_json::to_string_pretty(data).unwrap_or_default());
    msg.push_str("\n\nRequired JSON schema:\n\n");
    msg.push_str(&serde_json::to_string_pretty(schema).unwrap_or_default());
    Error::new(Status::InvalidArgument, msg).with_details(json!({ "errors": errors, "schema": schema }))
}

fn pointer_to_path(pointer: &str) -> String {
    let p = pointer.strip_prefix('/').unwrap_or(pointer);
    if p.is_empty() { "(root)".to_owned() } else { p.replace('/', ".") }
}

fn ajv_message(kind: &jsonschema::error::ValidationErrorKind, e: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    match kind {
        K::Required { property } => {
            format!("must have required property '{}'", property.as_str().unwrap_or_default())
        }
        K::Type { kind: TypeKind::Single(t) } => format!("must be {t}"),
        K::Type { kind: TypeKind::Multiple(set) } => {
            let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
            format!("must be {}", names.join(","))
        }
        K::AdditionalProperties { .. } => "must NOT have additional properties".to_owned(),
        K::Enum { .. } => "must be equal to one of the allowed values".to_owned(),
        K::Constant { .. } => "must be equal to constant".to_owned(),
        K::Minimum { limit } => format!("must be >= {limit}"),
        K::Maximum { limit } => format!("must be <= {limit}"),
        K::ExclusiveMinimum { limit } => format!("must be > {limit}"),
        K::ExclusiveMaximum { limit } => format!("must be < {limit}"),
        K::MinLength { limit } => format!("must NOT have fewer than {limit} characters"),
        K::MaxLength { limit } => format!("must NOT have more than {limit} characters"),
        K::MinItems { limit } => format!("must NOT have fewer than {limit} items"),
        K::MaxItems { limit } => format!("must NOT have more than {limit} items"),
        K::MinProperties { limit } => format!("must NOT have fewer than {limit} properties"),
        K::MaxProperties { limit } => format!("must NOT have more than {limit} properties"),
        K::Pattern { pattern } => format!("must match pattern \"{pattern}\""),
        K::Format { format } => format!("must match format \"{format}\""),
        K::UniqueItems => "must NOT have duplicate items".to_owned(),
        K::AnyOf { .. } => "must match a schema in anyOf".to_owned(),
        K::OneOfNotValid { .. } | K::OneOfMultipleValid { .. } => "must match exactly one schema in oneOf".to_owned(),
        K::Not { .. } => "must NOT be valid".to_owned(),
        K::FalseSchema => "boolean schema is false".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Serialize)]
    #[allow(dead_code)]
    struct Inner {
        tag: String,
    }

    #[derive(JsonSchema, serde::Serialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        age: Option<u32>,
        inner: Vec<Inner>,
    }

    #[test]
    fn emits_inlined_draft07() {
        let s = schema_for::<Outer>();
        assert_eq!(s["$schema"], DRAFT_07);
        assert!(s.get("title").is_none());
        assert!(s.get("definitions").is_none() && s.get("$defs").is_none());
        assert_eq!(s["properties"]["inner"]["items"]["properties"]["tag"]["type"], "string");
        // Valid against the draft-07 meta-schema, without Rust-only formats.
        assert!(jsonschema::draft7::meta::is_valid(&s));
        assert!(s["properties"]["age"].get("format").is_none());
        assert_eq!(s["properties"]["age"]["minimum"], 0);
    }

    #[test]
    fn reports_paths_and_ajv_messages() {
        let v = SchemaValidator::new(schema_for::<Outer>()).unwrap();
        v.validate(&json!({"name": "a", "inner": []})).unwrap();
        let e = v.validate(&json!({"inner": [{"tag": 3}]})).unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        let errors = &e.details().unwrap()["errors"];
        let errs: Vec<(String, String)> = errors
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["path"].as_str().unwrap().to_owned(), x["message"].as_str().unwrap().to_owned()))
            .collect();
        assert!(errs.contains(&("(root)".into(), "must have required property 'name'".into())), "{errs:?}");
        assert!(errs.contains(&("inner.0.tag".into(), "must be string".into())), "{errs:?}");
        assert!(e.message().starts_with("Schema validation failed. Parse Errors:\n\n- "));
        assert!(e.message().contains("\n\nProvided data:\n\n{\n  \"inner\": ["));
        assert!(e.message().contains("\n\nRequired JSON schema:\n\n{\n  \"type\": \"object\""), "{}", e.message());
        assert!(e.message().ends_with("\"$schema\": \"http://json-schema.org/draft-07/schema#\"\n}"));
    }

    #[test]
    fn exact_layout_for_a_single_error() {
        let schema = json!({"type": "string"});
        let e = SchemaValidator::new(schema).unwrap().validate(&json!(1)).unwrap_err();
        assert_eq!(
            e.message(),
            "Schema validation failed. Parse Errors:\n\n- (root): must be string\n\nProvided data:\n\n1\n\nRequired JSON schema:\n\n{\n  \"type\": \"string\"\n}"
        );
    }

    #[test]
    fn formats_are_checked_and_trivial_schemas_skip() {
        let v = SchemaValidator::new(json!({"type": "string", "format": "email"})).unwrap();
        assert!(v.validate(&json!("not an email")).is_err());
        let any = SchemaValidator::new(json!({})).unwrap();
        any.validate(&json!({"anything": 1})).unwrap();
        assert!(SchemaValidator::new(json!({"type": 12})).is_err());
    }
}
