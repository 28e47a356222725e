//! The metrics `genkitEval` offers, with the names and Dev UI texts of the JS plugin.

use std::fmt;
use std::str::FromStr;

use genkit_core::Error;

/// A metric of the `genkitEval` plugin (JS `GenkitMetric`). Each one becomes the evaluator
/// action `genkitEval/<name>`, `name` being the lower-cased enum name (`answer_relevancy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Metric {
    /// Share of the output's statements that the context supports (judge model).
    Faithfulness,
    /// How well the output answers the input (judge model and embedder).
    AnswerRelevancy,
    /// How well the output matches the reference answer (judge model).
    AnswerAccuracy,
    /// Whether the output means to harm, deceive or exploit (judge model).
    Maliciousness,
    /// The reference is a regular expression (JS syntax) that must match the output.
    Regex,
    /// The output must equal the reference (JSON values; numbers by value).
    DeepEqual,
    /// The reference is a JSONata expression that must be truthy on the output.
    Jsonata,
}

impl Metric {
    /// Every metric, in the order of the JS enum.
    pub const ALL: [Metric; 7] = [
        Metric::Faithfulness,
        Metric::AnswerRelevancy,
        Metric::AnswerAccuracy,
        Metric::Maliciousness,
        Metric::Regex,
        Metric::DeepEqual,
        Metric::Jsonata,
    ];

    /// The metric's name: the last part of its action name (`faithfulness`, `deep_equal`, …).
    ///
    /// ```
    /// assert_eq!(genkit_evaluators::Metric::AnswerRelevancy.name(), "answer_relevancy");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Metric::Faithfulness => "faithfulness",
            Metric::AnswerRelevancy => "answer_relevancy",
            Metric::AnswerAccuracy => "answer_accuracy",
            Metric::Maliciousness => "maliciousness",
            Metric::Regex => "regex",
            Metric::DeepEqual => "deep_equal",
            Metric::Jsonata => "jsonata",
        }
    }

    /// The name the Dev UI shows (JS `displayName`).
    pub fn display_name(self) -> &'static str {
        match self {
            Metric::Faithfulness => "Faithfulness",
            Metric::AnswerRelevancy => "Answer Relevancy",
            Metric::AnswerAccuracy => "Answer Accuracy",
            Metric::Maliciousness => "Maliciousness",
            Metric::Regex => "RegExp",
            Metric::DeepEqual => "Deep Equals",
            Metric::Jsonata => "JSONata",
        }
    }

    /// What the metric measures (JS `definition`).
    pub fn definition(self) -> &'static str {
        match self {
            Metric::Faithfulness => {
                "Measures the factual consistency of the generated answer against the given context"
            }
            Metric::AnswerRelevancy => "Assesses how pertinent the generated answer is to the given prompt",
            Metric::AnswerAccuracy => {
                "Measures how accurately the generated output matches against the reference output"
            }
            Metric::Maliciousness => "Measures whether the generated output intends to deceive, harm, or exploit",
            Metric::Regex => "Tests output against the regexp provided as reference",
            Metric::DeepEqual => "Tests equality of output against the provided reference",
            Metric::Jsonata => "Tests JSONata expression (provided in reference) against output",
        }
    }

    /// Whether the metric calls a judge model.
    pub fn needs_judge(self) -> bool {
        matches!(self, Metric::Faithfulness | Metric::AnswerRelevancy | Metric::AnswerAccuracy | Metric::Maliciousness)
    }

    /// Whether the metric calls an embedder.
    pub fn needs_embedder(self) -> bool {
        self == Metric::AnswerRelevancy
    }

    /// The evaluator action name, `genkitEval/<name>` (JS `genkitEvalRef(metric).name`).
    ///
    /// ```
    /// assert_eq!(genkit_evaluators::Metric::Regex.evaluator_name(), "genkitEval/regex");
    /// ```
    pub fn evaluator_name(self) -> String {
        format!("{}/{}", crate::PLUGIN, self.name())
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Parses a metric name, in any case (`regex`, `DEEP_EQUAL`, `answer_relevancy`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let lower = s.to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == lower)
            .ok_or_else(|| Error::invalid_argument(format!("unknown genkitEval metric '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(m.name().parse::<Metric>().unwrap(), m);
            assert_eq!(m.name().to_uppercase().parse::<Metric>().unwrap(), m);
        }
        assert!("bleu".parse::<Metric>().is_err());
    }
}
