//! The pieces of a [`PromptConfig`](super::PromptConfig) that can be templates, fixed values
//! or functions of the input: [`PromptContent`] (`system`, `prompt`), [`PromptMessages`] and
//! [`PromptDocs`], and what prompt functions receive ([`PromptCx`]).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use genkit_core::{ActionContext, Error, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Content, DocumentData, Message, Part};

/// What a prompt function receives besides the input: the context the prompt is rendered
/// with and, for a messages function, the history passed in the call options.
#[derive(Debug, Clone, Default)]
pub struct PromptCx {
    /// The action context (the call's `context`, else the ambient one).
    pub context: ActionContext,
    /// The history (`GenerateOptions::messages` of the call); only given to messages functions.
    pub history: Option<Vec<Message>>,
}

impl PromptCx {
    /// The session state (`context.state`), if any.
    pub fn state(&self) -> Option<&Value> {
        self.context.get("state")
    }
}

pub(crate) type PartsFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<Part>>> + Send + Sync>;
pub(crate) type MessagesFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<Message>>> + Send + Sync>;
pub(crate) type DocsFn = Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Vec<DocumentData>>> + Send + Sync>;

/// Deserializes the prompt input for a typed prompt function (a move for `Value`).
fn typed_input<T: DeserializeOwned + 'static>(input: Value) -> Result<T> {
    let boxed: Box<dyn std::any::Any> = Box::new(input);
    match boxed.downcast::<T>() {
        Ok(t) => Ok(*t),
        Err(b) => match b.downcast::<Value>() {
            Ok(v) => serde_json::from_value(*v).map_err(|e| {
                Error::invalid_argument(format!("the prompt input does not fit the function's input type: {e}"))
                    .with_source(e)
            }),
            Err(_) => Err(Error::internal("prompt input type mismatch")),
        },
    }
}

pub(crate) fn erase<T, R, C, F, Fut>(
    f: F,
) -> Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<R>> + Send + Sync>
where
    T: DeserializeOwned + Send + 'static,
    C: Into<R> + 'static,
    R: Send + 'static,
    F: Fn(T, PromptCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<C>> + Send + 'static,
{
    Arc::new(move |input: Value, cx: PromptCx| match typed_input::<T>(input) {
        Ok(t) => f(t, cx).map(|r| r.map(Into::into)).boxed(),
        Err(e) => futures::future::ready(Err(e)).boxed(),
    })
}

/// The `system` or `prompt` of a prompt: a Dotprompt template, fixed parts, or a function of
/// the input. Strings convert to templates, parts to fixed parts.
#[derive(Clone)]
pub enum PromptContent {
    /// A Dotprompt (Handlebars) template rendered to exactly one message.
    Template(String),
    /// Fixed parts.
    Parts(Vec<Part>),
    /// A function of the input (see [`PromptConfig::system_fn`]).
    Fn(PartsFnHandle),
}

/// A prompt function, type-erased (see [`PromptConfig::system_fn`], [`PromptConfig::prompt_fn`]).
#[derive(Clone)]
pub struct PartsFnHandle(pub(crate) PartsFn);

impl fmt::Debug for PartsFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PartsFn")
    }
}

impl fmt::Debug for PromptContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptContent::Template(t) => f.debug_tuple("Template").field(t).finish(),
            PromptContent::Parts(p) => f.debug_tuple("Parts").field(p).finish(),
            PromptContent::Fn(_) => f.write_str("Fn"),
        }
    }
}

impl From<&str> for PromptContent {
    fn from(s: &str) -> Self {
        PromptContent::Template(s.to_owned())
    }
}

impl From<String> for PromptContent {
    fn from(s: String) -> Self {
        PromptContent::Template(s)
    }
}

impl From<Part> for PromptContent {
    fn from(p: Part) -> Self {
        PromptContent::Parts(vec![p])
    }
}

impl From<Vec<Part>> for PromptContent {
    fn from(p: Vec<Part>) -> Self {
        PromptContent::Parts(p)
    }
}

/// The `messages` of a prompt: a Dotprompt template (with `{{role}}` and `{{history}}`
/// markers), fixed messages, or a function of the input and the history.
#[derive(Clone)]
pub enum PromptMessages {
    /// A Dotprompt template rendered to any number of messages; the call's history goes where
    /// `{{history}}` is (else before the last user message).
    Template(String),
    /// Fixed messages.
    Messages(Vec<Message>),
    /// A function of the input and [`PromptCx::history`].
    Fn(MessagesFnHandle),
}

/// A messages function, type-erased (see [`PromptConfig::messages_fn`]).
#[derive(Clone)]
pub struct MessagesFnHandle(pub(crate) MessagesFn);

impl fmt::Debug for MessagesFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessagesFn")
    }
}

impl fmt::Debug for PromptMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptMessages::Template(t) => f.debug_tuple("Template").field(t).finish(),
            PromptMessages::Messages(m) => f.debug_tuple("Messages").field(m).finish(),
            PromptMessages::Fn(_) => f.write_str("Fn"),
        }
    }
}

impl From<&str> for PromptMessages {
    fn from(s: &str) -> Self {
        PromptMessages::Template(s.to_owned())
    }
}

impl From<String> for PromptMessages {
    fn from(s: String) -> Self {
        PromptMessages::Template(s)
    }
}

impl From<Vec<Message>> for PromptMessages {
    fn from(m: Vec<Message>) -> Self {
        PromptMessages::Messages(m)
    }
}

/// The `docs` of a prompt: fixed documents or a function of the input.
#[derive(Clone)]
pub enum PromptDocs {
    /// Fixed documents.
    Docs(Vec<DocumentData>),
    /// A function of the input.
    Fn(DocsFnHandle),
}

/// A docs function, type-erased (see [`PromptConfig::docs_fn`]).
#[derive(Clone)]
pub struct DocsFnHandle(pub(crate) DocsFn);

impl fmt::Debug for DocsFnHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocsFn")
    }
}

impl fmt::Debug for PromptDocs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptDocs::Docs(d) => f.debug_tuple("Docs").field(d).finish(),
            PromptDocs::Fn(_) => f.write_str("Fn"),
        }
    }
}

pub(crate) fn content_to_parts(
    f: Arc<dyn Fn(Value, PromptCx) -> BoxFuture<'static, Result<Content>> + Send + Sync>,
) -> PartsFn {
    Arc::new(move |input, cx| f(input, cx).map(|r| r.map(|c| c.0)).boxed())
}
