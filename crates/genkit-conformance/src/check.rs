//! Dry runs: validate suite files without calling any model (parse, known capabilities and
//! validators, well-formed inputs, and that the models exist).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use genkit_core::Registry;
use serde::{Deserialize, Serialize};

use crate::builtin::is_capability;
use crate::report::MISSING_MODEL;
use crate::suite::{Suite, TestCase, read_suites};
use crate::validator::{is_validator, needs_stream, split_validator};

/// One problem found by a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The suite file, when checking files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The suite's 1-based position in its file (`None` for file-level problems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<usize>,
    /// The suite's model, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        match (self.suite, &self.model) {
            (Some(i), Some(m)) => write!(f, "suite #{i} ({m}): ")?,
            (Some(i), None) => write!(f, "suite #{i}: ")?,
            (None, Some(m)) => write!(f, "{m}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// Which models a dry run may assume to exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KnownModels {
    /// Do not check that models exist.
    #[default]
    Unchecked,
    /// Exactly these models exist (names like `plugin/model`, or action keys like
    /// `/model/plugin/model`).
    Names(BTreeSet<String>),
}

impl KnownModels {
    /// A known-model list from names or keys.
    pub fn names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> KnownModels {
        KnownModels::Names(names.into_iter().map(|n| crate::model_key(&n.into())).collect())
    }

    fn missing(&self, key: &str) -> bool {
        match self {
            KnownModels::Unchecked => false,
            KnownModels::Names(keys) => !keys.contains(key),
        }
    }
}

/// Static problems of suites (no model lookup): missing model, unknown capabilities,
/// custom tests without a valid `GenerateRequest` input, unknown validators, and stream
/// validators on tests that do not stream (they can never pass).
///
/// ```
/// use genkit_conformance::{KnownModels, check_suites, parse_suites_yaml};
/// let suites = parse_suites_yaml("model: a/b\nsupports: [reasoning]\n")?;
/// let problems = check_suites(&suites, &KnownModels::names(["a/b"]));
/// assert_eq!(problems[0].message, "Unknown capability: reasoning");
/// # Ok::<(), genkit_core::Error>(())
/// ```
pub fn check_suites(suites: &[Suite], known: &KnownModels) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, s) in suites.iter().enumerate() {
        out.extend(static_problems(i + 1, s));
        if let Some(key) = s.model_key()
            && known.missing(&key)
        {
            out.push(problem(i + 1, s, format!("model action '{key}' is not in the known model list")));
        }
    }
    out
}

/// Like [`check_suites`], with model existence checked by looking each model up in
/// `registry` (plugins may be initialized and asked to resolve the model; nothing is called).
pub async fn check_suites_in(registry: &Registry, suites: &[Suite]) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, s) in suites.iter().enumerate() {
        out.extend(static_problems(i + 1, s));
        if let Some(key) = s.model_key() {
            match registry.lookup_action(&key).await {
                Ok(Some(_)) => {}
                Ok(None) => out.push(problem(i + 1, s, format!("model action '{key}' not found in the registry"))),
                Err(e) => out.push(problem(i + 1, s, format!("looking up model action '{key}' failed: {e}"))),
            }
        }
    }
    out
}

/// Reads and checks suite files ([`crate::load_suites`], then [`check_suites`]); each problem names
/// its file.
pub fn dry_run(paths: &[impl AsRef<Path>], known: &KnownModels) -> Vec<Problem> {
    let mut out = Vec::new();
    for p in paths {
        match read_suites(p.as_ref()) {
            Ok(suites) => out.extend(with_file(p.as_ref(), check_suites(&suites, known))),
            Err(e) => out.push(file_problem(p.as_ref(), e.message())),
        }
    }
    out
}

/// Reads and checks suite files against a registry ([`crate::load_suites`], then
/// [`check_suites_in`]).
pub async fn dry_run_in(registry: &Registry, paths: &[impl AsRef<Path>]) -> Vec<Problem> {
    let mut out = Vec::new();
    for p in paths {
        match read_suites(p.as_ref()) {
            Ok(suites) => out.extend(with_file(p.as_ref(), check_suites_in(registry, &suites).await)),
            Err(e) => out.push(file_problem(p.as_ref(), e.message())),
        }
    }
    out
}

fn with_file(path: &Path, problems: Vec<Problem>) -> impl Iterator<Item = Problem> {
    problems.into_iter().map(move |mut p| {
        p.file = Some(path.to_path_buf());
        p
    })
}

fn file_problem(path: &Path, message: &str) -> Problem {
    Problem { file: Some(path.to_path_buf()), suite: None, model: None, message: message.to_owned() }
}

fn problem(index: usize, suite: &Suite, message: String) -> Problem {
    let model = (!suite.model.is_empty()).then(|| suite.model.clone());
    Problem { file: None, suite: Some(index), model, message }
}

fn static_problems(index: usize, suite: &Suite) -> Vec<Problem> {
    let mut out = Vec::new();
    if suite.model.is_empty() {
        out.push(problem(index, suite, MISSING_MODEL.to_owned()));
    }
    for cap in suite.supports.iter().flatten() {
        if !is_capability(cap) {
            out.push(problem(index, suite, format!("Unknown capability: {cap}")));
        }
    }
    for t in suite.tests.iter().flatten() {
        let case = TestCase::from(t);
        let name = &case.name;
        if t.input.is_none() {
            out.push(problem(index, suite, format!("test '{name}': no input")));
        } else if let Err(e) = case.request() {
            out.push(problem(index, suite, e.message().to_owned()));
        }
        for v in &case.validators {
            let (vname, _) = split_validator(v);
            if !is_validator(vname) {
                out.push(problem(index, suite, format!("test '{name}': Unknown validator: {vname}")));
            } else if needs_stream(vname) && !case.stream {
                out.push(problem(
                    index,
                    suite,
                    format!("test '{name}': validator '{vname}' needs `stream: true` (it fails without chunks)"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_suites_yaml;

    const FILE: &str = r"
- model: test/echo
  supports: [multiturn, reasoning]
- supports: [multiturn]
- model: /model/nope
  tests:
    - name: No input
    - name: Bad input
      input: {messages: 3}
    - name: Bad validators
      input: {messages: []}
      validators: [text-includes:x, nope:1, stream-valid-json]
    - input: {messages: []}
      stream: true
      validators: [stream-valid-json, reasoning]
";

    #[test]
    fn finds_every_kind_of_problem() {
        let suites = parse_suites_yaml(FILE).unwrap();
        let problems = check_suites(&suites, &KnownModels::names(["test/echo"]));
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "suite #1 (test/echo): Unknown capability: reasoning",
                "suite #2: Model name required in test suite.",
                "suite #3 (/model/nope): test 'No input': no input",
                "suite #3 (/model/nope): test 'Bad input': input is not a GenerateRequest: invalid type: integer `3`, expected a sequence",
                "suite #3 (/model/nope): test 'Bad validators': Unknown validator: nope",
                "suite #3 (/model/nope): test 'Bad validators': validator 'stream-valid-json' needs `stream: true` (it fails without chunks)",
                "suite #3 (/model/nope): model action '/model/nope' is not in the known model list",
            ]
        );
        assert_eq!(check_suites(&suites, &KnownModels::Unchecked).len(), 6);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn registry_lookup_and_files() {
        let registry = Registry::new();
        registry.register_action(genkit_ai::model::testing::echo_model("test/echo").as_action()).unwrap();
        let suites = parse_suites_yaml("- model: test/echo\n- model: test/missing\n").unwrap();
        let problems = check_suites_in(&registry, &suites).await;
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].message, "model action '/model/test/missing' not found in the registry");

        let dir = std::env::temp_dir().join(format!("genkit-conformance-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.yaml");
        std::fs::write(&good, "model: test/echo\nsupports: [multiturn]\n").unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, "model: [\n").unwrap();
        assert!(dry_run_in(&registry, &[&good]).await.is_empty());
        let problems = dry_run(&[&good, &bad], &KnownModels::names(["/model/other"]));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].to_string().ends_with(
            "good.yaml: suite #1 (test/echo): model action '/model/test/echo' is not in the known model list"
        ));
        assert!(problems[1].to_string().contains("bad.yaml: ") && problems[1].message.contains("invalid YAML"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
