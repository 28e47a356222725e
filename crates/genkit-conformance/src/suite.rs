//! Suite files: the `genkit dev:test-model --from-file` format (one suite object or an array
//! of them, YAML or JSON) and the CLI's defaulting rules.

use std::path::Path;

use genkit_ai::GenerateRequest;
use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::builtin;

/// The name a custom test gets when the file gives none (as in the CLI).
pub const DEFAULT_TEST_NAME: &str = "Custom Test";

/// One suite: a model, the built-in capabilities to test and custom tests.
///
/// ```
/// let suites = genkit_conformance::parse_suites_yaml("model: test/echo\nsupports: [multiturn]\n")?;
/// assert_eq!(suites[0].model_key(), Some("/model/test/echo".to_owned()));
/// # Ok::<(), genkit_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suite {
    /// The model name (`plugin/model`) or a full action key (starting with `/`). Empty means
    /// missing: the CLI fails such a suite with "Model name required in test suite.".
    #[serde(default, deserialize_with = "lenient_string")]
    pub model: String,
    /// Built-in capabilities to test (keys of [`builtin::case`]). `None` means absent, which
    /// is not the same as empty (see [`Suite::effective_supports`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports: Option<Vec<String>>,
    /// Custom tests. `None` means absent (an empty list counts as present, as in JS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestSpec>>,
}

/// A custom test as written in a suite file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestSpec {
    /// The test's name; [`DEFAULT_TEST_NAME`] when absent or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether to call the model streaming (any JSON value, read with JavaScript
    /// truthiness as the CLI does: `stream: 1` streams, `stream: ""` does not).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_bool")]
    pub stream: Option<bool>,
    /// The `GenerateRequest` sent to the model, kept as written (the CLI sends it verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Validators, each `name` or `name:arg` (the argument is everything after the first `:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<Vec<String>>,
}

/// A test ready to run: a built-in case or a custom test with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Display name (`Tool Request Conformance`, `Custom Test`, …).
    pub name: String,
    /// Whether the model is called streaming.
    #[serde(default)]
    pub stream: bool,
    /// The model input (`GenerateRequest` JSON). `Value::Null` when a custom test has none.
    pub input: Value,
    /// Validators (`name[:arg]`).
    pub validators: Vec<String>,
}

impl TestCase {
    /// The input as a typed `GenerateRequest`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the input is not a valid `GenerateRequest`.
    pub fn request(&self) -> Result<GenerateRequest> {
        serde_json::from_value(self.input.clone()).map_err(|e| {
            Error::invalid_argument(format!("test '{}': input is not a GenerateRequest: {e}", self.name)).with_source(e)
        })
    }
}

impl From<&TestSpec> for TestCase {
    fn from(t: &TestSpec) -> Self {
        TestCase {
            name: t.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| DEFAULT_TEST_NAME.to_owned()),
            stream: t.stream.unwrap_or(false),
            input: t.input.clone().unwrap_or(Value::Null),
            validators: t.validators.clone().unwrap_or_default(),
        }
    }
}

/// The action key of a model: the string itself if it starts with `/`, else `/model/<model>`.
///
/// ```
/// use genkit_conformance::model_key;
/// assert_eq!(model_key("googleai/gemini-2.5-flash"), "/model/googleai/gemini-2.5-flash");
/// assert_eq!(model_key("/model/test/echo"), "/model/test/echo");
/// ```
pub fn model_key(model: &str) -> String {
    if model.starts_with('/') { model.to_owned() } else { format!("/model/{model}") }
}

impl Suite {
    /// A suite for `model` with no `supports` and no tests (the CLI's suite for a model named
    /// on the command line: it runs the default `--supports` list).
    pub fn for_model(model: impl Into<String>) -> Suite {
        Suite { model: model.into(), supports: None, tests: None }
    }

    /// Sets `supports`.
    #[must_use]
    pub fn supports<S: Into<String>>(mut self, caps: impl IntoIterator<Item = S>) -> Suite {
        self.supports = Some(caps.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a custom test.
    #[must_use]
    pub fn test(mut self, test: TestSpec) -> Suite {
        self.tests.get_or_insert_with(Vec::new).push(test);
        self
    }

    /// The model's action key ([`model_key`]); `None` when the model is missing.
    pub fn model_key(&self) -> Option<String> {
        (!self.model.is_empty()).then(|| model_key(&self.model))
    }

    /// The capabilities whose built-in tests run: `supports` if present; otherwise none when
    /// the suite has `tests` (even an empty list), else `default_supports`.
    pub fn effective_supports(&self, default_supports: &[String]) -> Vec<String> {
        match (&self.supports, &self.tests) {
            (Some(s), _) => s.clone(),
            (None, Some(_)) => Vec::new(),
            (None, None) => default_supports.to_vec(),
        }
    }

    /// The tests to run, in the CLI's order (built-ins in `supports` order, then custom
    /// tests), and a warning `Unknown capability: <x>` for each capability without a
    /// built-in case.
    pub fn test_cases(&self, default_supports: &[String]) -> (Vec<TestCase>, Vec<String>) {
        let mut cases = Vec::new();
        let mut warnings = Vec::new();
        for cap in self.effective_supports(default_supports) {
            match builtin::case(&cap) {
                Some(c) => cases.push(c),
                None => warnings.push(format!("Unknown capability: {cap}")),
            }
        }
        for t in self.tests.iter().flatten() {
            cases.push(TestCase::from(t));
        }
        (cases, warnings)
    }
}

impl TestSpec {
    /// A custom test named `name` with the given input (a `GenerateRequest` as JSON).
    pub fn new(name: impl Into<String>, input: Value) -> TestSpec {
        TestSpec { name: Some(name.into()), stream: None, input: Some(input), validators: None }
    }

    /// Calls the model streaming.
    #[must_use]
    pub fn streaming(mut self) -> TestSpec {
        self.stream = Some(true);
        self
    }

    /// Adds a validator (`name[:arg]`).
    #[must_use]
    pub fn validator(mut self, v: impl Into<String>) -> TestSpec {
        self.validators.get_or_insert_with(Vec::new).push(v.into());
        self
    }
}

/// Accepts a string, or null/absent as empty (JS only checks `!suite.model`).
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Reads any JSON value as a JavaScript truthiness test.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Null => None,
        Value::Bool(b) => Some(b),
        Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan())),
        Value::String(s) => Some(!s.is_empty()),
        Value::Array(_) | Value::Object(_) => Some(true),
    })
}

/// Turns a parsed document into suites: an array is a list of suites, anything else one suite.
///
/// # Errors
/// `INVALID_ARGUMENT` when a suite does not have the suite shape.
pub fn suites_from_value(doc: Value) -> Result<Vec<Suite>> {
    let items = match doc {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v)
                .map_err(|e| Error::invalid_argument(format!("suite #{}: {e}", i + 1)).with_source(e))
        })
        .collect()
}

/// Parses suites from YAML text.
///
/// # Errors
/// `INVALID_ARGUMENT` on a YAML syntax error or a malformed suite.
pub fn parse_suites_yaml(text: &str) -> Result<Vec<Suite>> {
    let doc: Value = serde_norway::from_str(text)
        .map_err(|e| Error::invalid_argument(format!("invalid YAML: {e}")).with_source(e))?;
    suites_from_value(doc)
}

/// Parses suites from JSON text.
///
/// # Errors
/// `INVALID_ARGUMENT` on a JSON syntax error or a malformed suite.
pub fn parse_suites_json(text: &str) -> Result<Vec<Suite>> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid_argument(format!("invalid JSON: {e}")).with_source(e))?;
    suites_from_value(doc)
}

/// Reads a suite file: YAML when the name ends in `.yaml` or `.yml`, JSON otherwise (the
/// CLI's rule).
///
/// # Errors
/// `NOT_FOUND`/`INTERNAL` when the file cannot be read; otherwise as the parsers.
pub fn load_suites(path: impl AsRef<Path>) -> Result<Vec<Suite>> {
    let path = path.as_ref();
    read_suites(path).map_err(|e| Error::new(e.status(), format!("{}: {}", path.display(), e.message())).with_source(e))
}

/// [`load_suites`] without the file name in the error message.
pub(crate) fn read_suites(path: &Path) -> Result<Vec<Suite>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let status = if e.kind() == std::io::ErrorKind::NotFound { Status::NotFound } else { Status::Internal };
        Error::new(status, format!("cannot read the file: {e}")).with_source(e)
    })?;
    let name = path.to_string_lossy();
    if name.ends_with(".yaml") || name.ends_with(".yml") { parse_suites_yaml(&text) } else { parse_suites_json(&text) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::default_supports;

    #[test]
    fn one_object_or_an_array() {
        let one = parse_suites_yaml("model: a/b\n").unwrap();
        assert_eq!(one.len(), 1);
        let two = parse_suites_yaml("- model: a/b\n- model: /model/c\n").unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].model_key().as_deref(), Some("/model/c"));
        let json = parse_suites_json(r#"[{"model":"x/y","supports":["multiturn"]}]"#).unwrap();
        assert_eq!(json[0].supports.as_deref(), Some(&["multiturn".to_owned()][..]));
    }

    #[test]
    fn defaulting_rules() {
        let defaults = default_supports();
        // No supports, no tests: the default list.
        let s = parse_suites_yaml("model: m\n").unwrap().remove(0);
        assert_eq!(s.effective_supports(&defaults), defaults);
        let (cases, warnings) = s.test_cases(&defaults);
        assert_eq!(cases.len(), 9);
        assert!(warnings.is_empty());
        // No supports, tests: no built-ins.
        let s = parse_suites_yaml("model: m\ntests:\n  - input: {messages: []}\n").unwrap().remove(0);
        assert!(s.effective_supports(&defaults).is_empty());
        let (cases, _) = s.test_cases(&defaults);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, DEFAULT_TEST_NAME);
        assert!(!cases[0].stream);
        assert!(cases[0].validators.is_empty());
        // An empty tests list still counts as present (JS `[]` is truthy).
        let s = parse_suites_yaml("model: m\ntests: []\n").unwrap().remove(0);
        assert!(s.test_cases(&defaults).0.is_empty());
        // Explicit empty supports: nothing.
        let s = parse_suites_yaml("model: m\nsupports: []\n").unwrap().remove(0);
        assert!(s.test_cases(&defaults).0.is_empty());
        // supports and tests: built-ins first, then custom tests.
        let s = parse_suites_yaml(
            "model: m\nsupports: [system-role, reasoning]\ntests:\n  - name: Mine\n    stream: true\n    input: {messages: []}\n    validators: ['text-includes:a:b']\n",
        )
        .unwrap()
        .remove(0);
        let (cases, warnings) = s.test_cases(&defaults);
        assert_eq!(cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["System Role Conformance", "Mine"]);
        assert!(cases[1].stream);
        assert_eq!(cases[1].validators, ["text-includes:a:b"]);
        assert_eq!(warnings, ["Unknown capability: reasoning"]);
    }

    #[test]
    fn stream_is_read_with_js_truthiness() {
        let yaml = "model: m\ntests:\n  - stream: 'yes'\n  - stream: 0\n  - stream: true\n  - {}\n";
        let s = parse_suites_yaml(yaml).unwrap().remove(0);
        let streams: Vec<bool> = s.test_cases(&[]).0.iter().map(|c| c.stream).collect();
        assert_eq!(streams, [true, false, true, false]);
    }

    #[test]
    fn missing_model_and_bad_shapes() {
        let s = parse_suites_yaml("supports: [multiturn]\n").unwrap().remove(0);
        assert_eq!(s.model_key(), None);
        let s = parse_suites_yaml("model: null\n").unwrap().remove(0);
        assert_eq!(s.model_key(), None);
        let e = parse_suites_yaml("- model: m\n  supports: multiturn\n").unwrap_err();
        assert!(e.message().contains("suite #1"), "{e}");
        assert!(parse_suites_yaml("model: [unclosed\n").is_err());
        assert!(parse_suites_json("{").is_err());
    }

    #[test]
    fn spec_example_parses() {
        let text = r#"
- model: googleai/gemini-2.5-flash-preview-tts
  tests:
    - name: TTS Test
      input:
        messages: [{ role: user, content: [{ text: 'Hello world' }] }]
        config: { responseModalities: ['AUDIO'] }
      validators: [valid-media:audio]
- model: googleai/gemini-3-pro-preview
  supports: [tool-request, structured-output, multiturn, system-role, input-image-base64, input-image-url, input-video-youtube]
  tests:
    - name: Tool Response Conformance
      input:
        messages:
          - { role: user, content: [{ text: 'What is the weather in New York? Use the tool.' }] }
          - role: model
            content:
              - toolRequest: { name: weather, input: { city: New York } }
                metadata: { thoughtSignature: 'abc' }
          - { role: tool, content: [{ toolResponse: { name: weather, output: '21C' } }] }
        tools: [{ name: weather, description: Get the weather for a city,
                  inputSchema: { type: object, properties: { city: { type: string } }, required: [city] } }]
      validators: ['text-includes:21']
"#;
        let suites = parse_suites_yaml(text).unwrap();
        assert_eq!(suites.len(), 2);
        let (cases, warnings) = suites[1].test_cases(&default_supports());
        assert!(warnings.is_empty());
        assert_eq!(cases.len(), 8);
        let req = cases[7].request().unwrap();
        assert_eq!(req.messages.len(), 3);
        assert_eq!(req.tools.unwrap()[0].name, "weather");
        let (cases, _) = suites[0].test_cases(&default_supports());
        assert_eq!(cases[0].validators, ["valid-media:audio"]);
        assert_eq!(cases[0].input["config"]["responseModalities"][0], "AUDIO");
    }

    #[test]
    fn load_by_extension() {
        let dir = std::env::temp_dir().join(format!("genkit-conformance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = dir.join("s.yml");
        std::fs::write(&yaml, "model: a\n").unwrap();
        assert_eq!(load_suites(&yaml).unwrap()[0].model, "a");
        let json = dir.join("s.json");
        std::fs::write(&json, "model: a\n").unwrap();
        let e = load_suites(&json).unwrap_err();
        assert!(e.message().contains("invalid JSON"), "{e}");
        let e = load_suites(dir.join("missing.yaml")).unwrap_err();
        assert_eq!(e.status(), Status::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
