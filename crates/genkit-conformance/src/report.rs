//! Results of a conformance run: per-test outcomes, the CLI-style text output, and a
//! comparison with another runner's results (such as `genkit dev:test-model`'s output).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The separator line the CLI prints before the totals.
pub const SEPARATOR: &str = "--------------------------------------------------";

/// The CLI's error for a suite without a model (counted as one failed test).
pub const MISSING_MODEL: &str = "Model name required in test suite.";

/// The test name under which a suite without a model is reported as failed.
pub const MISSING_MODEL_TEST: &str = "<suite without model>";

/// The outcome of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The suite's model as written in the suite (empty when the suite had none).
    pub model: String,
    /// The test's name.
    pub test: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (`None` when it passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl TestOutcome {
    /// A passed test.
    pub fn pass(model: impl Into<String>, test: impl Into<String>) -> TestOutcome {
        TestOutcome { model: model.into(), test: test.into(), passed: true, reason: None }
    }

    /// A failed test.
    pub fn fail(model: impl Into<String>, test: impl Into<String>, reason: impl Into<String>) -> TestOutcome {
        TestOutcome { model: model.into(), test: test.into(), passed: false, reason: Some(reason.into()) }
    }
}

impl fmt::Display for TestOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.passed, &self.reason) {
            (true, _) => write!(f, "✅ Passed: {}", self.test),
            (false, Some(r)) => write!(f, "❌ Failed: {} - {r}", self.test),
            (false, None) => write!(f, "❌ Failed: {}", self.test),
        }
    }
}

/// The results of one suite.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// The suite's model as written (empty when missing).
    pub model: String,
    /// `Unknown capability: <x>` warnings and similar notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// One outcome per test, in the suite's order (built-ins, then custom tests).
    pub results: Vec<TestOutcome>,
}

/// The results of a run over several suites.
///
/// `Display` prints what `genkit dev:test-model` prints (minus its log prefixes):
/// `Testing model: …`, warnings, `✅ Passed: …` / `❌ Failed: … - …`, and the totals line
/// `Tests Completed: P Passed, F Failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// One entry per suite, in run order.
    pub suites: Vec<SuiteReport>,
}

impl Report {
    /// Every outcome, suite after suite.
    pub fn outcomes(&self) -> impl Iterator<Item = &TestOutcome> {
        self.suites.iter().flat_map(|s| s.results.iter())
    }

    /// Number of passed tests.
    pub fn passed(&self) -> usize {
        self.outcomes().filter(|o| o.passed).count()
    }

    /// Number of failed tests (a suite without a model counts as one failure, as in the CLI).
    pub fn failed(&self) -> usize {
        self.outcomes().filter(|o| !o.passed).count()
    }

    /// Whether every test passed (the CLI's exit code 0).
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }

    /// Every warning of every suite.
    pub fn warnings(&self) -> impl Iterator<Item = &String> {
        self.suites.iter().flat_map(|s| s.warnings.iter())
    }

    /// The totals line: `Tests Completed: P Passed, F Failed`.
    pub fn summary(&self) -> String {
        format!("Tests Completed: {} Passed, {} Failed", self.passed(), self.failed())
    }

    /// The report as JSON: `{suites: [...], passed, failed}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("passed".into(), self.passed().into());
            o.insert("failed".into(), self.failed().into());
        }
        v
    }

    /// Reads the output of `genkit dev:test-model` (or of this crate's `Display`) back into a
    /// report: `Testing model: <m>` starts a suite; `✅ Passed: <name>` and
    /// `❌ Failed: <name> - <reason>` lines (anywhere in a line, so log prefixes are fine)
    /// become outcomes of the current suite; `Unknown capability: <x>` becomes a warning.
    /// Only the first line of a multi-line reason is kept.
    ///
    /// The split between a test name and its reason is at the first `" - "`, so a test name
    /// containing `" - "` is cut short; compare such reports by model and pass/fail counts.
    pub fn from_cli_output(text: &str) -> Report {
        let mut report = Report::default();
        for line in text.lines() {
            if line.contains(MISSING_MODEL) {
                report.suites.push(SuiteReport {
                    results: vec![TestOutcome::fail("", MISSING_MODEL_TEST, MISSING_MODEL)],
                    ..SuiteReport::default()
                });
                continue;
            }
            if let Some(m) = after(line, "Testing model: ") {
                report.suites.push(SuiteReport { model: m.trim_end().to_owned(), ..SuiteReport::default() });
                continue;
            }
            let current = |r: &mut Report| -> usize {
                if r.suites.is_empty() {
                    r.suites.push(SuiteReport::default());
                }
                r.suites.len() - 1
            };
            if let Some(w) = after(line, "Unknown capability: ") {
                let i = current(&mut report);
                report.suites[i].warnings.push(format!("Unknown capability: {}", w.trim_end()));
            } else if let Some(name) = after(line, "✅ Passed: ") {
                let i = current(&mut report);
                let model = report.suites[i].model.clone();
                report.suites[i].results.push(TestOutcome::pass(model, name.trim_end()));
            } else if let Some(rest) = after(line, "❌ Failed: ") {
                let i = current(&mut report);
                let model = report.suites[i].model.clone();
                let (name, reason) = rest.split_once(" - ").unwrap_or((rest, ""));
                report.suites[i].results.push(TestOutcome::fail(model, name.trim_end(), reason.trim_end()));
            }
        }
        report
    }

    /// Differences in pass/fail per (model, test name) between this report and `other`
    /// (reasons are not compared: they are worded differently by different runners).
    /// Empty when both runners agree on every test.
    pub fn diff(&self, other: &Report) -> Vec<String> {
        let tally = |r: &Report| {
            let mut m: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
            for o in r.outcomes() {
                let e = m.entry((o.model.clone(), o.test.clone())).or_default();
                if o.passed {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            m
        };
        let (a, b) = (tally(self), tally(other));
        let mut keys: Vec<&(String, String)> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut out = Vec::new();
        for k in keys {
            let x = a.get(k).copied().unwrap_or_default();
            let y = b.get(k).copied().unwrap_or_default();
            if x != y {
                out.push(format!(
                    "{} / {}: {} passed, {} failed here; {} passed, {} failed there",
                    k.0, k.1, x.0, x.1, y.0, y.1
                ));
            }
        }
        out
    }
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.suites {
            if s.model.is_empty() {
                writeln!(f, "{MISSING_MODEL}")?;
                continue;
            }
            writeln!(f, "Testing model: {}", s.model)?;
            for w in &s.warnings {
                writeln!(f, "{w}")?;
            }
            for o in &s.results {
                writeln!(f, "{o}")?;
            }
        }
        writeln!(f, "{SEPARATOR}")?;
        writeln!(f, "{}", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            suites: vec![
                SuiteReport {
                    model: "test/echo".into(),
                    warnings: vec!["Unknown capability: reasoning".into()],
                    results: vec![
                        TestOutcome::pass("test/echo", "Multiturn Conformance"),
                        TestOutcome::fail(
                            "test/echo",
                            "System Role Conformance",
                            "Response text does not start with 'RESPONSE:'. Text: Echo: hi",
                        ),
                    ],
                },
                SuiteReport {
                    model: "other/m".into(),
                    warnings: vec![],
                    results: vec![TestOutcome::pass("other/m", "Custom Test")],
                },
                SuiteReport {
                    model: String::new(),
                    warnings: vec![],
                    results: vec![TestOutcome::fail("", MISSING_MODEL_TEST, MISSING_MODEL)],
                },
            ],
        }
    }

    #[test]
    fn display_and_totals() {
        let r = sample();
        assert_eq!((r.passed(), r.failed(), r.is_success()), (2, 2, false));
        let text = r.to_string();
        assert_eq!(
            text,
            "Testing model: test/echo\nUnknown capability: reasoning\n✅ Passed: Multiturn Conformance\n❌ Failed: System Role Conformance - Response text does not start with 'RESPONSE:'. Text: Echo: hi\nTesting model: other/m\n✅ Passed: Custom Test\nModel name required in test suite.\n--------------------------------------------------\nTests Completed: 2 Passed, 2 Failed\n"
        );
        let j = r.to_json();
        assert_eq!(j["passed"], 2);
        assert_eq!(j["failed"], 2);
        assert_eq!(
            j["suites"][0]["results"][1]["reason"].as_str().unwrap().split('.').next(),
            Some("Response text does not start with 'RESPONSE:'")
        );
        assert!(j["suites"][0]["results"][0].get("reason").is_none());
    }

    #[test]
    fn round_trip_through_cli_output() {
        let r = sample();
        let back = Report::from_cli_output(&r.to_string());
        assert_eq!(back, r);
        assert!(r.diff(&back).is_empty());
    }

    #[test]
    fn reads_cli_logs_with_prefixes_and_multiline_reasons() {
        let cli = "[info] Testing model: test/echo\n\
                   [warn] Unknown capability: reasoning\n\
                   [info] Running test: Tool Request Conformance...\n\
                   [error] ❌ Failed: Tool Request Conformance - Model did not return a tool request. Content: [\n  {\n    \"text\": \"Echo\"\n  }\n]\n\
                   [info] ✅ Passed: Multiturn Conformance\n\
                   [info] --------------------------------------------------\n\
                   [info] Tests Completed: 1 Passed, 1 Failed\n";
        let r = Report::from_cli_output(cli);
        assert_eq!(r.suites.len(), 1);
        assert_eq!(r.suites[0].warnings, ["Unknown capability: reasoning"]);
        assert_eq!(r.passed(), 1);
        assert_eq!(r.failed(), 1);
        assert_eq!(r.suites[0].results[0].reason.as_deref(), Some("Model did not return a tool request. Content: ["));
    }

    #[test]
    fn diff_reports_disagreements() {
        let a = sample();
        let mut b = sample();
        b.suites[0].results[1] = TestOutcome::pass("test/echo", "System Role Conformance");
        b.suites[1].results.push(TestOutcome::fail("other/m", "Extra", "x"));
        let d = a.diff(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("other/m / Extra: 0 passed, 0 failed here; 0 passed, 1 failed there"), "{d:?}");
        assert!(
            d[1].starts_with("test/echo / System Role Conformance: 0 passed, 1 failed here; 1 passed, 0 failed there")
        );
    }
}
