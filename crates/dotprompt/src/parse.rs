//! Frontmatter parsing (`---` YAML block + template body).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::message::JsonMap;
use crate::metadata::{ParsedPrompt, PromptMetadata};

/// Frontmatter keys kept at the top level of [`PromptMetadata`]; other keys only appear in `raw` (and in `ext`
/// when they contain a dot).
pub const RESERVED_METADATA_KEYWORDS: [&str; 12] = [
    "config",
    "description",
    "ext",
    "input",
    "model",
    "name",
    "output",
    "raw",
    "toolDefs",
    "tools",
    "variant",
    "version",
];

#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static FRONTMATTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:#[^\n]*|[ \t]*)\n)*---\s*(?:\r\n|\r|\n)([\s\S]*?)(?:\r\n|\r|\n)---\s*(?:\r\n|\r|\n)([\s\S]*)$")
        .expect("frontmatter regex is valid")
});

#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static OPENING_FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:(?:#[^\n]*|[ \t]*)\n)*---[ \t]*\r?\n").expect("fence regex is valid"));

#[allow(clippy::expect_used, reason = "a constant pattern, not input; `builtin_patterns_compile` checks it")]
pub(crate) static YAML_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bline (\d+)").expect("line regex is valid"));

/// Parses a prompt source leniently, like the JavaScript implementation.
///
/// Malformed YAML frontmatter is not reported: the whole (trimmed) source becomes the template. Use
/// [`parse_strict`] to get an error with the line number instead.
///
/// ```
/// let p = dotprompt::parse("---\nmodel: m\nmyext.flag: true\n---\nHello {{name}}!\n");
/// assert_eq!(p.meta.model.as_deref(), Some("m"));
/// assert_eq!(p.meta.ext.unwrap()["myext"]["flag"], true);
/// assert_eq!(p.template, "Hello {{name}}!");
/// ```
pub fn parse(source: &str) -> ParsedPrompt {
    parse_impl(source, None).unwrap_or_else(|_| ParsedPrompt {
        meta: base_metadata(),
        template: source.trim().to_owned(),
        template_line_offset: leading_lines(source, source.trim()),
    })
}

/// Parses a prompt source, reporting malformed frontmatter as [`ErrorKind::Parse`] with the file name and the
/// 1-based line in the source.
///
/// # Errors
///
/// Returns a parse error when the frontmatter is not valid YAML, is not a mapping, is never closed by a `---`
/// line, or when a reserved key (`model`, `tools`, `input`, …) has the wrong type.
///
/// ```
/// let err = dotprompt::parse_strict("---\nmodel: [unclosed\n---\nHi", "greet.prompt").unwrap_err();
/// assert_eq!(err.line(), Some(3));
/// assert!(err.to_string().contains("greet.prompt"));
/// ```
pub fn parse_strict(source: &str, file_name: &str) -> Result<ParsedPrompt> {
    parse_impl(source, Some(file_name))
}

fn base_metadata() -> PromptMetadata {
    PromptMetadata { config: Some(Map::new()), ext: Some(Map::new()), metadata: Some(Map::new()), ..Default::default() }
}

/// Number of lines before `inner`, which must be a subslice of `outer`.
fn leading_lines(outer: &str, inner: &str) -> usize {
    let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize).min(outer.len());
    outer.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count()
}

fn parse_error(file: Option<&str>, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Parse { file: file.map(str::to_owned), line }, message)
}

/// `strict` is `Some(file)` for [`parse_strict`]; in lenient mode an `Err` means "fall back to the whole source".
fn parse_impl(source: &str, strict: Option<&str>) -> Result<ParsedPrompt> {
    let Some(caps) = FRONTMATTER.captures(source) else {
        if let Some(file) = strict
            && let Some(open) = OPENING_FENCE.find(source)
        {
            let line = leading_lines(source, &source[open.end()..]);
            return Err(parse_error(
                Some(file),
                Some(line),
                "the frontmatter opened with `---` is never closed: add a line containing only `---` after it",
            ));
        }
        return Ok(ParsedPrompt { meta: base_metadata(), template: source.to_owned(), template_line_offset: 0 });
    };
    let (Some(fm), Some(body)) = (caps.get(1), caps.get(2)) else {
        return Ok(ParsedPrompt { meta: base_metadata(), template: source.to_owned(), template_line_offset: 0 });
    };
    let frontmatter = fm.as_str();
    if frontmatter.is_empty() {
        return Ok(ParsedPrompt { meta: base_metadata(), template: source.to_owned(), template_line_offset: 0 });
    }
    let fm_line_offset = leading_lines(source, frontmatter);

    let yaml: serde_norway::Value = serde_norway::from_str(frontmatter).map_err(|e| {
        let line = e.location().map(|l| fm_line_offset + l.line());
        // The YAML error counts lines from the start of the frontmatter; report lines of the whole source.
        let detail = YAML_LINE
            .replace_all(&e.to_string(), |c: &regex::Captures<'_>| {
                let n = c[1].parse::<usize>().map_or(0, |n| n + fm_line_offset);
                format!("line {n}")
            })
            .into_owned();
        parse_error(strict, line, format!("the YAML is malformed: {detail}; fix the YAML between the `---` lines"))
            .with_source(e)
    })?;
    let raw = match yaml_to_json(yaml) {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other if strict.is_some() => {
            return Err(parse_error(
                strict,
                Some(fm_line_offset + 1),
                format!(
                    "the frontmatter must be a YAML mapping of `key: value` lines, found {}",
                    json_type_name(&other)
                ),
            ));
        }
        _ => Map::new(),
    };

    let mut meta = base_metadata();
    let mut ext = Map::new();
    for (key, value) in &raw {
        if RESERVED_METADATA_KEYWORDS.contains(&key.as_str()) {
            if let Err(msg) = set_reserved(&mut meta, key, value)
                && strict.is_some()
            {
                let line = key_line(frontmatter, key).map(|l| fm_line_offset + l);
                return Err(parse_error(strict, line, msg));
            }
        } else if let Some(dot) = key.rfind('.') {
            let (ns, field) = (&key[..dot], &key[dot + 1..]);
            let entry = ext.entry(ns.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert(field.to_owned(), value.clone());
            }
        }
    }
    meta.ext = Some(ext);
    meta.raw = Some(raw);

    let body = body.as_str();
    let template = body.trim();
    let template_line_offset = leading_lines(source, template);
    Ok(ParsedPrompt { meta, template: template.to_owned(), template_line_offset })
}

/// A top-level frontmatter key that Dotprompt does not interpret (see [`unknown_keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as written.
    pub key: String,
    /// Its 1-based line in the whole source, when it can be found.
    pub line: Option<usize>,
}

/// The top-level frontmatter keys of `source` that are neither reserved
/// ([`RESERVED_METADATA_KEYWORDS`]), nor namespaced extension keys (containing a `.`, kept in
/// `ext`), nor listed in `also_known` (keys the caller reads from `raw` itself), in the order
/// written, with their lines. Parsing keeps such keys in `raw` only, as the JavaScript
/// implementation does, so a misspelt `modle:` or `outptu:` is otherwise silently ignored;
/// callers use this to warn about them.
///
/// ```
/// let source = "---\nmodel: m\nmodle: typo\nmyext.flag: true\nmaxTurns: 3\n---\nHi";
/// let unknown = dotprompt::unknown_keys(source, &["maxTurns"]);
/// assert_eq!(unknown, vec![dotprompt::UnknownKey { key: "modle".into(), line: Some(3) }]);
/// ```
pub fn unknown_keys(source: &str, also_known: &[&str]) -> Vec<UnknownKey> {
    let Ok(parsed) = parse_impl(source, None) else { return Vec::new() };
    let Some(raw) = parsed.meta.raw else { return Vec::new() };
    let Some(fm) = FRONTMATTER.captures(source).and_then(|c| c.get(1)) else { return Vec::new() };
    let offset = leading_lines(source, fm.as_str());
    raw.keys()
        .filter(|k| !RESERVED_METADATA_KEYWORDS.contains(&k.as_str()) && !k.contains('.'))
        .filter(|k| !also_known.contains(&k.as_str()))
        .map(|k| UnknownKey { key: k.clone(), line: key_line(fm.as_str(), k).map(|l| offset + l) })
        .collect()
}

/// 1-based line of a top-level `key:` inside the frontmatter.
fn key_line(frontmatter: &str, key: &str) -> Option<usize> {
    frontmatter
        .lines()
        .position(|l| l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':')))
        .map(|i| i + 1)
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn scalar_string(key: &str, value: &Value) -> std::result::Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("`{key}` must be a string, found {}", json_type_name(other))),
    }
}

fn set_reserved(meta: &mut PromptMetadata, key: &str, value: &Value) -> std::result::Result<(), String> {
    match key {
        "name" => meta.name = scalar_string(key, value)?,
        "variant" => meta.variant = scalar_string(key, value)?,
        "version" => meta.version = scalar_string(key, value)?,
        "description" => meta.description = scalar_string(key, value)?,
        "model" => meta.model = scalar_string(key, value)?,
        "config" => match value {
            Value::Null => {}
            Value::Object(m) => meta.config = Some(m.clone()),
            other => return Err(format!("`config` must be a mapping, found {}", json_type_name(other))),
        },
        "tools" => {
            meta.tools = match value {
                Value::Null => None,
                Value::String(s) => Some(vec![s.clone()]),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| "`tools` must be a list of tool names".to_owned())?,
                ),
                other => return Err(format!("`tools` must be a list of tool names, found {}", json_type_name(other))),
            }
        }
        "toolDefs" => {
            meta.tool_defs = serde_json::from_value(value.clone()).map_err(|e| format!("invalid `toolDefs`: {e}"))?;
        }
        "input" => {
            meta.input = serde_json::from_value(value.clone())
                .map_err(|e| format!("invalid `input` (expected `schema` and/or a `default` mapping): {e}"))?;
        }
        "output" => {
            meta.output = serde_json::from_value(value.clone())
                .map_err(|e| format!("invalid `output` (expected `format` and/or `schema`): {e}"))?;
        }
        // `ext` and `raw` are computed from the whole frontmatter.
        _ => {}
    }
    Ok(())
}

/// Converts a YAML value to JSON: non-string keys are stringified, tags dropped, non-finite floats become null.
pub(crate) fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = JsonMap::new();
            for (k, v) in m {
                let key = match yaml_to_json(k) {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => crate::jsfmt::js_string(&other),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_frontmatter_keeps_source_verbatim() {
        let p = parse("Hello {{name}}!\n");
        assert_eq!(p.template, "Hello {{name}}!\n");
        assert_eq!(p.meta.config, Some(Map::new()));
        assert_eq!(p.meta.raw, None);
    }

    #[test]
    fn reserved_and_namespaced_keys() {
        let p = parse("# comment\n\n---\nmodel: m\nversion: 2\ncustom: x\na.b.c: 1\na.b.d: 2\n---\n\n  body  \n");
        assert_eq!(p.meta.model.as_deref(), Some("m"));
        assert_eq!(p.meta.version.as_deref(), Some("2"));
        assert_eq!(p.meta.ext, Some(json!({"a.b": {"c": 1, "d": 2}}).as_object().unwrap().clone()));
        assert_eq!(p.meta.raw.as_ref().unwrap()["custom"], "x");
        assert_eq!(p.template, "body");
        assert_eq!(p.template_line_offset, 10);
    }

    #[test]
    fn crlf_frontmatter() {
        let p = parse("---\r\nmodel: m\r\n---\r\nHi\r\n");
        assert_eq!(p.meta.model.as_deref(), Some("m"));
        assert_eq!(p.template, "Hi");
    }

    #[test]
    fn lenient_parse_falls_back_to_whole_source() {
        let src = "---\nmodel: [oops\n---\nHi\n";
        let p = parse(src);
        assert_eq!(p.template, src.trim());
        assert_eq!(p.meta.model, None);
    }

    #[test]
    fn strict_parse_reports_file_and_line() {
        let err =
            parse_strict("# c\n---\nmodel: m\nconfig:\n  temperature: 1\n bad: : x\n---\nHi", "x.prompt").unwrap_err();
        match err.kind() {
            ErrorKind::Parse { file, line } => {
                assert_eq!(file.as_deref(), Some("x.prompt"));
                assert_eq!(*line, Some(6));
            }
            other => panic!("unexpected kind {other:?}"),
        }

        let err = parse_strict("---\nmodel: m\ntools: 3\n---\n", "t.prompt").unwrap_err();
        assert_eq!(err.line(), Some(3));
        assert!(err.to_string().contains("tools"), "{err}");

        let err = parse_strict("---\nmodel: m\nHi", "u.prompt").unwrap_err();
        assert_eq!(err.line(), Some(1));
        assert!(err.to_string().contains("never closed"), "{err}");

        let err = parse_strict("---\n- a\n- b\n---\nHi", "l.prompt").unwrap_err();
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn yaml_keys_are_stringified() {
        let p = parse("---\n1: one\ntrue: yes\n---\n");
        let raw = p.meta.raw.unwrap();
        assert_eq!(raw["1"], "one");
        assert_eq!(raw["true"], "yes");
    }

    #[test]
    fn unknown_keys_are_listed_with_their_lines_but_reserved_namespaced_and_caller_keys_are_not() {
        let source = "# a comment\n---\nmodel: m\nmodle: typo\nconfig:\n  temperatur: 1\n\
                      ext.flag: true\nmaxTurns: 2\noutptu:\n  format: json\n---\nHi {{name}}";
        let unknown = unknown_keys(source, &["maxTurns"]);
        assert_eq!(
            unknown,
            vec![UnknownKey { key: "modle".into(), line: Some(4) }, UnknownKey { key: "outptu".into(), line: Some(9) }]
        );
        // Nested keys are the business of whoever reads them (model config is free-form), and
        // parsing itself is unchanged: unknown keys stay in `raw`.
        assert_eq!(parse(source).meta.raw.unwrap()["modle"], "typo");
        assert!(unknown_keys(source, &["maxTurns", "modle", "outptu"]).is_empty());
        assert!(unknown_keys("no frontmatter", &[]).is_empty());
        assert!(unknown_keys("---\nmodel: [unclosed\n---\nHi", &[]).is_empty());
    }
}
