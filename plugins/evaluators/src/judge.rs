//! Asking the judge model: the `.prompt` files of the judge metrics, rendering them into
//! messages, calling `generate`, and reading the reply without trusting its shape.
//!
//! A reply that cannot be read is not an error of the evaluation run: the metric reports it as
//! an `UNKNOWN` score (see [`Reply`]). A judge that cannot be called at all (unknown model,
//! provider error, blocked generation) fails the test case.

use std::sync::Arc;

use dotprompt::{CompiledPrompt, DataArgument, Dotprompt};
use genkit_ai::generate::generate;
use genkit_ai::{GenerateOptions, Message, OutputOptions};
use genkit_core::{Error, Registry, Result};
use serde_json::{Map, Value};

use crate::config::JudgeModel;
use crate::score::excerpt;

/// The judge prompts, as `(file name, source)`; `prompts/` in this crate.
pub(crate) const SOURCES: [(&str, &str); 5] = [
    ("faithfulness_statements.prompt", include_str!("../prompts/faithfulness_statements.prompt")),
    ("faithfulness_verdicts.prompt", include_str!("../prompts/faithfulness_verdicts.prompt")),
    ("answer_relevancy.prompt", include_str!("../prompts/answer_relevancy.prompt")),
    ("answer_accuracy.prompt", include_str!("../prompts/answer_accuracy.prompt")),
    ("maliciousness.prompt", include_str!("../prompts/maliciousness.prompt")),
];

/// One compiled judge prompt.
#[derive(Debug, Clone)]
pub(crate) struct JudgePrompt {
    file: &'static str,
    compiled: Arc<CompiledPrompt>,
}

impl JudgePrompt {
    /// Compiles the prompt file `file` (one of [`SOURCES`]).
    ///
    /// # Errors
    /// `INTERNAL` when the file is unknown or does not compile (a bug of this crate).
    pub(crate) fn load(file: &'static str) -> Result<Self> {
        let (_, source) = SOURCES
            .iter()
            .find(|(f, _)| *f == file)
            .ok_or_else(|| Error::internal(format!("genkitEval: no judge prompt {file}")))?;
        let compiled = Dotprompt::default()
            .compile(source)
            .map_err(|e| Error::internal(format!("genkitEval: the judge prompt {file} does not compile: {e}")))?;
        Ok(JudgePrompt { file, compiled: Arc::new(compiled) })
    }

    /// The messages the prompt renders to with these template variables.
    ///
    /// # Errors
    /// `INTERNAL` when rendering fails.
    pub(crate) fn render(&self, vars: Value) -> Result<Vec<Message>> {
        let fail = |e: String| Error::internal(format!("genkitEval: rendering the judge prompt {}: {e}", self.file));
        let rendered = self.compiled.render(&DataArgument::new().input(vars), None).map_err(|e| fail(e.to_string()))?;
        rendered
            .messages
            .into_iter()
            .map(|m| {
                let m: Message =
                    serde_json::to_value(m).and_then(serde_json::from_value).map_err(|e| fail(e.to_string()))?;
                Ok(trimmed(m))
            })
            .collect()
    }
}

/// The message without the blank lines that the `{{role}}` markers leave around its text.
fn trimmed(mut m: Message) -> Message {
    if let Some(t) = m.content.first_mut().and_then(|p| p.text.as_mut()) {
        *t = t.trim_start().to_owned();
    }
    if let Some(t) = m.content.last_mut().and_then(|p| p.text.as_mut()) {
        *t = t.trim_end().to_owned();
    }
    m
}

/// The judge model of one evaluation, reached through the evaluator's registry.
#[derive(Debug)]
pub(crate) struct Judge<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) model: &'a JudgeModel,
}

impl Judge<'_> {
    async fn ask(&self, prompt: &JudgePrompt, vars: Value, json: bool) -> Result<genkit_ai::GenerateResponse> {
        let mut opts = GenerateOptions::new().model(self.model.model.as_str()).messages(prompt.render(vars)?);
        if let Some(c) = &self.model.config {
            opts = opts.config(c.clone());
        }
        if json {
            // JSON mode without a schema: the reply is checked here, so that a malformed one is
            // an UNKNOWN score rather than a failed `generate`.
            opts = opts.output(OutputOptions::format("json"));
        }
        generate(self.registry, opts).await
    }

    /// Asks for a JSON object.
    ///
    /// # Errors
    /// The judge call's error. A reply that is not a JSON object is `Ok(Err(..))`.
    pub(crate) async fn ask_json(&self, prompt: &JudgePrompt, vars: Value) -> Result<Reply> {
        let resp = self.ask(prompt, vars, true).await?;
        let text = resp.text();
        Ok(match resp.output() {
            Some(Value::Object(o)) => Reply::Object(o, text),
            Some(_) | None => {
                Reply::Malformed(format!("the judge's reply is not a JSON object: {:?}", excerpt(&text, 300)))
            }
        })
    }

    /// Asks for text.
    ///
    /// # Errors
    /// The judge call's error.
    pub(crate) async fn ask_text(&self, prompt: &JudgePrompt, vars: Value) -> Result<String> {
        Ok(self.ask(prompt, vars, false).await?.text())
    }
}

/// A judge reply: a JSON object (with the raw text, for error messages), or why it is not one.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The reply parsed as a JSON object.
    Object(Map<String, Value>, String),
    /// The reply could not be read.
    Malformed(String),
}

/// Why a reply cannot be used; becomes the `error` of an `UNKNOWN` score.
pub(crate) type Malformed = String;

impl Reply {
    /// The object, or why there is none.
    pub(crate) fn object(&self) -> std::result::Result<&Map<String, Value>, Malformed> {
        match self {
            Reply::Object(o, _) => Ok(o),
            Reply::Malformed(why) => Err(why.clone()),
        }
    }

    fn shape_error(&self, what: &str) -> Malformed {
        match self {
            Reply::Object(_, text) => format!("the judge's reply {what}: {:?}", excerpt(text, 300)),
            Reply::Malformed(why) => why.clone(),
        }
    }

    /// The field `key` as a boolean (see [`lenient_bool`]).
    pub(crate) fn bool_field(&self, key: &str) -> std::result::Result<bool, Malformed> {
        let o = self.object()?;
        match o.get(key) {
            None => Err(self.shape_error(&format!("has no field {key:?}"))),
            Some(v) => {
                lenient_bool(v).ok_or_else(|| self.shape_error(&format!("has a {key:?} that is not true or false")))
            }
        }
    }

    /// The field `key` as a non-empty string.
    pub(crate) fn string_field(&self, key: &str) -> std::result::Result<String, Malformed> {
        let o = self.object()?;
        match o.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Some(Value::String(_)) => Err(self.shape_error(&format!("has an empty {key:?}"))),
            Some(_) => Err(self.shape_error(&format!("has a {key:?} that is not a string"))),
            None => Err(self.shape_error(&format!("has no field {key:?}"))),
        }
    }

    /// The field `key` as a list.
    pub(crate) fn array_field(&self, key: &str) -> std::result::Result<&Vec<Value>, Malformed> {
        let o = self.object()?;
        match o.get(key) {
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.shape_error(&format!("has a {key:?} that is not a list"))),
            None => Err(self.shape_error(&format!("has no field {key:?}"))),
        }
    }

    /// Reports a problem with the content of the reply.
    pub(crate) fn problem(&self, what: &str) -> Malformed {
        self.shape_error(what)
    }
}

/// A yes/no the way judges write it: `true`/`false`, `"true"`/`"false"`, `"yes"`/`"no"`, `1`/`0`
/// or `"1"`/`"0"` (any case, trimmed).
pub(crate) fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_prompt_compiles_and_renders() {
        let vars = json!({"question": "Q?", "answer": "A.", "context": "C.", "reference": "R.",
            "statements": ["s1", "s2"], "input": "I", "submission": "S"});
        for (file, _) in SOURCES {
            let p = JudgePrompt::load(file).unwrap();
            let msgs = p.render(vars.clone()).unwrap();
            assert_eq!(msgs.len(), 2, "{file}: a system and a user message");
            assert_eq!(msgs[0].role, genkit_ai::Role::System, "{file}");
            assert_eq!(msgs[1].role, genkit_ai::Role::User, "{file}");
        }
        let p = JudgePrompt::load("faithfulness_verdicts.prompt").unwrap();
        let user = p.render(vars).unwrap()[1].text();
        assert_eq!(user, "Context:\nC.\nStatements:\n- s1\n- s2\nJSON:");
        let p = JudgePrompt::load("answer_relevancy.prompt").unwrap();
        let user = p.render(json!({"question": "Q?", "answer": "A."})).unwrap()[1].text();
        assert_eq!(user, "Question: Q?\nAnswer: A.\nJSON:");
    }

    #[test]
    fn every_prompt_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let mut files: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        let mut embedded: Vec<&str> = SOURCES.iter().map(|(f, _)| *f).collect();
        embedded.sort_unstable();
        assert_eq!(files, embedded);
    }

    #[test]
    fn judges_say_yes_and_no_in_many_ways() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("False"), Some(false)),
            (json!(" yes "), Some(true)),
            (json!(1), Some(true)),
            (json!("0"), Some(false)),
            (json!("maybe"), None),
            (json!(null), None),
            (json!(0.5), None),
        ] {
            assert_eq!(lenient_bool(&v), want, "{v}");
        }
    }
}
