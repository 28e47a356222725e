//! Action context: auth and other request data that flows into actions, plus the
//! task-local frame that carries it (and the current span) through nested action calls.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::trace::SpanFrame;

/// The context of an action run: a JSON object with the well-known keys `auth` and
/// `secrets` plus anything else a context provider adds. Cheap to clone.
///
/// ```
/// use genkit_core::ActionContext;
/// use serde_json::json;
/// let cx = ActionContext::new().with("auth", json!({"uid": "u1"}));
/// assert_eq!(cx.auth().unwrap()["uid"], "u1");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionContext(Arc<Map<String, Value>>);

impl ActionContext {
    /// An empty context.
    pub fn new() -> Self {
        ActionContext::default()
    }

    /// A context holding the entries of a JSON object.
    pub fn from_map(map: Map<String, Value>) -> Self {
        ActionContext(Arc::new(map))
    }

    /// Adds (or replaces) one entry.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: Value) -> Self {
        Arc::make_mut(&mut self.0).insert(key.into(), value);
        self
    }

    /// The `auth` entry, if any.
    pub fn auth(&self) -> Option<&Value> {
        self.0.get("auth")
    }

    /// The `secrets` entry, if any (never recorded in traces or logs).
    pub fn secrets(&self) -> Option<&Value> {
        self.0.get("secrets")
    }

    /// One entry.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// All entries.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Whether the context has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `{...base, ...self}`: entries of `self` win.
    pub fn merged_over(&self, base: &ActionContext) -> ActionContext {
        if base.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return base.clone();
        }
        let mut m = (*base.0).clone();
        for (k, v) in self.0.iter() {
            m.insert(k.clone(), v.clone());
        }
        ActionContext(Arc::new(m))
    }

    /// JSON for traces and logs, with `auth` and `secrets` replaced by `"<redacted>"`.
    pub fn redacted_json(&self) -> String {
        let mut m = Map::with_capacity(self.0.len());
        for (k, v) in self.0.iter() {
            if k == "auth" || k == "secrets" {
                m.insert(k.clone(), Value::String("<redacted>".into()));
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
    }
}

impl From<Map<String, Value>> for ActionContext {
    fn from(m: Map<String, Value>) -> Self {
        ActionContext::from_map(m)
    }
}

/// What a running action leaves for the code it calls: ambient context, the current span
/// and the runtime flag. Stored in a tokio task-local.
#[derive(Clone, Default)]
pub(crate) struct Frame {
    pub(crate) context: Option<ActionContext>,
    pub(crate) span: Option<SpanFrame>,
    pub(crate) in_runtime: bool,
}

tokio::task_local! {
    static FRAME: Frame;
}

impl Frame {
    pub(crate) fn current() -> Frame {
        FRAME.try_with(Clone::clone).unwrap_or_default()
    }

    pub(crate) fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        FRAME.scope(self, fut)
    }
}

/// The ambient action context: the context given explicitly to the innermost running action
/// that received one (JS `getContext()`); `None` outside actions.
pub fn current_context() -> Option<ActionContext> {
    FRAME.try_with(|f| f.context.clone()).ok().flatten()
}

/// Whether the caller runs inside an action.
pub fn in_action_runtime() -> bool {
    FRAME.try_with(|f| f.in_runtime).unwrap_or(false)
}

/// Runs `fut` with `context` installed as the ambient context (JS `runWithContext`); a
/// pass-through when `context` is `None`.
pub async fn run_with_context<F: Future>(context: Option<ActionContext>, fut: F) -> F::Output {
    match context {
        None => fut.await,
        Some(cx) => {
            let mut frame = Frame::current();
            frame.context = Some(cx);
            frame.scope(fut).await
        }
    }
}

/// Makes a future that you hand to `tokio::spawn` keep the caller's Genkit context and
/// current span, so actions it runs nest under the caller's trace.
pub fn propagate<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    Frame::current().scope(fut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_redact() {
        let base = ActionContext::new().with("a", json!(1)).with("b", json!(1));
        let top = ActionContext::new().with("b", json!(2)).with("auth", json!({"k": "v"}));
        let m = top.merged_over(&base);
        assert_eq!(m.get("a"), Some(&json!(1)));
        assert_eq!(m.get("b"), Some(&json!(2)));
        let s = m.with("secrets", json!({"apiKey": "sk-123"})).redacted_json();
        assert!(!s.contains("sk-123") && !s.contains("\"v\""), "{s}");
        assert!(s.contains("\"auth\":\"<redacted>\""));
    }

    #[tokio::test]
    async fn ambient_context_scoping() {
        assert!(current_context().is_none());
        let cx = ActionContext::new().with("x", json!(1));
        let got = run_with_context(Some(cx.clone()), async { current_context() }).await;
        assert_eq!(got, Some(cx));
        assert!(run_with_context(None, async { current_context() }).await.is_none());
    }
}
