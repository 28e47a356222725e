//! `GenerateResponse`: what `generate` returns — the model's response data plus the request
//! that produced it and the output parser of the request's format (JS separates
//! `GenerateResponseData` from the `GenerateResponse` class the same way).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::format::FormatHandler;
use crate::{FinishReason, Message, ModelResponse};

/// The result of a generation: the response data (read its fields and accessors through
/// `Deref`, e.g. `resp.text()`, `resp.usage`) with structured output parsed by the request's
/// output format. Serializes exactly as its data (the wire `GenerateResponse`).
///
/// ```
/// use genkit_ai::{GenerateResponse, ModelResponse};
/// let r = GenerateResponse::from(ModelResponse::from_text(r#"{"a": 1}"#));
/// assert_eq!(r.text(), r#"{"a": 1}"#);
/// assert_eq!(r.output(), Some(serde_json::json!({"a": 1})));
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct GenerateResponse {
    data: ModelResponse,
    #[serde(skip)]
    #[schemars(skip)]
    parser: Parser,
}

/// The output parser of the request's format; never serialized, equal to any other.
#[derive(Clone, Default)]
struct Parser(Option<Arc<dyn FormatHandler>>);

impl PartialEq for Parser {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for GenerateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.data.fmt(f)
    }
}

impl From<ModelResponse> for GenerateResponse {
    fn from(data: ModelResponse) -> Self {
        GenerateResponse { data, parser: Parser(None) }
    }
}

impl From<GenerateResponse> for ModelResponse {
    fn from(r: GenerateResponse) -> Self {
        r.data
    }
}

impl Deref for GenerateResponse {
    type Target = ModelResponse;
    fn deref(&self) -> &ModelResponse {
        &self.data
    }
}

impl DerefMut for GenerateResponse {
    fn deref_mut(&mut self) -> &mut ModelResponse {
        &mut self.data
    }
}

impl GenerateResponse {
    /// The response data with the output parser of the request's format.
    pub(crate) fn with_parser(data: ModelResponse, parser: Option<Arc<dyn FormatHandler>>) -> Self {
        GenerateResponse { data, parser: Parser(parser) }
    }

    /// The response data.
    pub fn data(&self) -> &ModelResponse {
        &self.data
    }

    /// The response data, by value.
    pub fn into_data(self) -> ModelResponse {
        self.data
    }

    /// Structured output: the format's parse of the message, else its data part, else JSON
    /// extracted from its text (JS `response.output`). `None` without a message.
    pub fn output(&self) -> Option<Value> {
        let m = self.data.message()?;
        if let Some(p) = &self.parser.0
            && let Some(v) = p.parse_message(m)
            && genkit_core::js::truthy(&v)
        {
            return Some(v);
        }
        message_output(m)
    }

    /// The output deserialized into `T`.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when there is no output; `INVALID_ARGUMENT` when it does not
    /// fit `T`.
    pub fn output_as<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let v = self.output().ok_or_else(|| {
            Error::new(
                Status::FailedPrecondition,
                format!("the response has no structured output; text was: {:?}", self.text()),
            )
        })?;
        serde_json::from_value(v)
            .map_err(|e| Error::invalid_argument(format!("the model's output does not match the expected type: {e}")))
    }

    /// The whole conversation: the request's messages plus the generated one.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` without a request or a message.
    pub fn messages(&self) -> Result<Vec<Message>> {
        let req = self.data.request.as_ref().ok_or_else(|| {
            Error::new(Status::FailedPrecondition, "Can't construct history for response without request reference.")
        })?;
        let m = self.data.message().ok_or_else(|| {
            Error::new(Status::FailedPrecondition, "Can't construct history for response without generated message.")
        })?;
        let mut out = Vec::with_capacity(req.messages.len() + 1);
        out.extend(req.messages.iter().cloned());
        out.push(m.clone());
        Ok(out)
    }

    /// Fails when generation was blocked or produced no message.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` `Generation blocked…` or `Model did not generate a message…`,
    /// with `details.response`.
    pub fn assert_valid(&self) -> Result<()> {
        let d = &self.data;
        if d.finish_reason == Some(FinishReason::Blocked) {
            let msg = match d.finish_message.as_deref() {
                Some(m) if !m.is_empty() => format!("Generation blocked: {m}"),
                _ => "Generation blocked.".to_owned(),
            };
            return Err(self.response_error(Status::FailedPrecondition, msg));
        }
        if d.message().is_none() && d.operation.is_none() {
            let reason = d.finish_reason.map_or_else(|| "undefined".to_owned(), |r| r.as_str().to_owned());
            let fm = d.finish_message.clone().unwrap_or_else(|| "undefined".to_owned());
            return Err(self.response_error(
                Status::FailedPrecondition,
                format!("Model did not generate a message. Finish reason: '{reason}': {fm}"),
            ));
        }
        Ok(())
    }

    /// Fails when the request asked for a schema and the output does not satisfy it.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` with the validation errors.
    pub fn assert_valid_schema(&self) -> Result<()> {
        let Some(schema) = self.data.request.as_ref().and_then(|r| r.output.as_ref()).and_then(|o| o.schema.as_ref())
        else {
            return Ok(());
        };
        let output = self.output().unwrap_or(Value::Null);
        crate::schema_cache::validate(schema, &output)
    }

    /// Whether `assert_valid` and `assert_valid_schema` both pass.
    pub fn is_valid(&self) -> bool {
        self.assert_valid().is_ok() && self.assert_valid_schema().is_ok()
    }

    /// A `GenerationResponseError`: the status and message, with `details.response` (the
    /// response without its request).
    pub(crate) fn response_error(&self, status: Status, message: String) -> Error {
        let mut resp = serde_json::to_value(&self.data).unwrap_or(Value::Null);
        if let Some(o) = resp.as_object_mut() {
            o.remove("request");
        }
        Error::new(status, message).with_details(serde_json::json!({ "response": resp }))
    }
}

/// Structured output of a message without a format parser (JS `Message.output`): its first
/// data part, else JSON extracted from its text.
pub fn message_output(message: &Message) -> Option<Value> {
    message.data().cloned().or_else(|| crate::extract::extract_json(&message.text()))
}
