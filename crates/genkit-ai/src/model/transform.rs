//! The built-in model middlewares (`simulateSystemPrompt`, `augmentWithContext`,
//! `simulateConstrainedGeneration`, `validateSupport`) and the default request transforms
//! every model defined with [`crate::model::new`] applies: documents rendered into the prompt
//! for models without native context support, constrained output simulated for models
//! without native constrained generation.

use genkit_core::{Error, Result};
use serde_json::{Value, json};

use crate::format::{inject_instructions, json_instructions};
use crate::middleware::{Middleware, ModelNext};
use crate::{Message, ModelRequest, ModelResponse, ModelSupports, Part, Role};

/// Implements [`Middleware`] for a request rewrite `fn(&self, ModelRequest) -> Result<ModelRequest>`.
macro_rules! rewrite_middleware {
    ($ty:ty) => {
        impl Middleware for $ty {
            async fn wrap_model(&self, req: ModelRequest, next: ModelNext<'_>) -> Result<ModelResponse> {
                let req = self.apply(req)?;
                next.run(req).await
            }
        }
    };
}

/// Options of [`simulate_system_prompt`].
#[derive(Debug, Clone)]
pub struct SimulateSystemPromptOptions {
    /// Text before the system parts (default `SYSTEM INSTRUCTIONS:\n`).
    pub preface: String,
    /// The model's acknowledgement (default `Understood.`).
    pub acknowledgement: String,
}

impl Default for SimulateSystemPromptOptions {
    fn default() -> Self {
        SimulateSystemPromptOptions { preface: "SYSTEM INSTRUCTIONS:\n".into(), acknowledgement: "Understood.".into() }
    }
}

/// For models without a system role: the first system message becomes a user message
/// (`preface` + its parts) followed by a model acknowledgement.
pub fn simulate_system_prompt(options: SimulateSystemPromptOptions) -> SimulateSystemPrompt {
    SimulateSystemPrompt(options)
}

/// The middleware [`simulate_system_prompt`] returns.
#[derive(Debug, Clone)]
pub struct SimulateSystemPrompt(SimulateSystemPromptOptions);

impl SimulateSystemPrompt {
    /// Applies the rewrite to a request.
    ///
    /// # Errors
    /// The middleware's error (e.g. [`ValidateSupport`] rejecting the request).
    pub fn apply(&self, mut req: ModelRequest) -> Result<ModelRequest> {
        if let Some(i) = req.messages.iter().position(|m| m.role == Role::System) {
            let sys = req.messages.remove(i);
            let mut content = Vec::with_capacity(sys.content.len() + 1);
            content.push(Part::text(self.0.preface.clone()));
            content.extend(sys.content);
            req.messages.insert(i, Message::new(Role::User, content));
            req.messages.insert(i + 1, Message::model(self.0.acknowledgement.clone()));
        }
        Ok(req)
    }
}

rewrite_middleware!(SimulateSystemPrompt);

/// Options of [`augment_with_context`].
#[derive(Debug, Clone)]
pub struct AugmentWithContextOptions {
    /// Text before the documents (default `\n\nUse the following information to complete
    /// your task:\n\n`; `None` for none).
    pub preface: Option<String>,
    /// Citation key: `None` uses `metadata.ref`, else `metadata.id`, else the index;
    /// `Some(key)` uses `metadata[key]`.
    pub citation_key: Option<String>,
    /// Leave citations out entirely (JS `citationKey: null`).
    pub no_citations: bool,
}

/// The default context preface.
pub const CONTEXT_PREFACE: &str = "\n\nUse the following information to complete your task:\n\n";

impl Default for AugmentWithContextOptions {
    fn default() -> Self {
        AugmentWithContextOptions { preface: Some(CONTEXT_PREFACE.into()), citation_key: None, no_citations: false }
    }
}

fn js_string(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn truthy(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| genkit_core::js::truthy(v))
}

/// Renders `docs` into the last user message for models without native context
/// support: the preface, then `- [<citation>]: <text>` per document, then a newline, as a
/// part with `metadata.purpose = "context"` (replacing a pending placeholder). The request
/// is rewritten copy-on-write: unlike JS, the caller's history is not modified.
pub fn augment_with_context(options: AugmentWithContextOptions) -> AugmentWithContext {
    AugmentWithContext(options)
}

/// The middleware [`augment_with_context`] returns.
#[derive(Debug, Clone)]
pub struct AugmentWithContext(AugmentWithContextOptions);

impl AugmentWithContext {
    /// Applies the rewrite to a request.
    ///
    /// # Errors
    /// The middleware's error (e.g. [`ValidateSupport`] rejecting the request).
    pub fn apply(&self, req: ModelRequest) -> Result<ModelRequest> {
        Ok(augment_context(req, &self.0))
    }
}

rewrite_middleware!(AugmentWithContext);

pub(crate) fn augment_context(mut req: ModelRequest, options: &AugmentWithContextOptions) -> ModelRequest {
    let Some(docs) = req.docs.as_ref().filter(|d| !d.is_empty()) else { return req };
    let Some(ui) = req.messages.iter().rposition(|m| m.role == Role::User) else { return req };
    let purpose = |p: &Part| p.metadata_value("purpose").and_then(Value::as_str) == Some("context");
    let idx = req.messages[ui].content.iter().position(purpose);
    if let Some(i) = idx
        && truthy(req.messages[ui].content[i].metadata_value("pending")).is_none()
    {
        return req;
    }
    let mut out = options.preface.clone().unwrap_or_default();
    for (i, d) in docs.iter().enumerate() {
        out.push_str("- ");
        let meta = d.metadata.as_ref();
        if let Some(key) = &options.citation_key {
            out.push_str(&format!("[{}]: ", js_string(meta.and_then(|m| m.get(key)))));
        } else if !options.no_citations {
            let cite = truthy(meta.and_then(|m| m.get("ref")))
                .or_else(|| truthy(meta.and_then(|m| m.get("id"))))
                .map_or_else(|| i.to_string(), |v| js_string(Some(v)));
            out.push_str(&format!("[{cite}]: "));
        }
        out.push_str(&d.text());
        out.push('\n');
    }
    out.push('\n');
    let part = Part::text(out).with_metadata("purpose", json!("context"));
    let content = &mut req.messages[ui].content;
    match idx {
        Some(i) => content[i] = part,
        None => content.push(part),
    }
    req
}

/// Simulates constrained generation for models without native support: when the request
/// asks for constrained output with a schema, the JSON instructions are injected into the
/// prompt and `constrained`/`format`/`contentType`/`schema` are cleared.
pub fn simulate_constrained_generation() -> SimulateConstrainedGeneration {
    SimulateConstrainedGeneration
}

/// The middleware [`simulate_constrained_generation`] returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulateConstrainedGeneration;

impl SimulateConstrainedGeneration {
    /// Applies the rewrite to a request.
    ///
    /// # Errors
    /// The middleware's error (e.g. [`ValidateSupport`] rejecting the request).
    pub fn apply(&self, req: ModelRequest) -> Result<ModelRequest> {
        Ok(apply_constrained_simulation(req))
    }
}

rewrite_middleware!(SimulateConstrainedGeneration);

pub(crate) fn apply_constrained_simulation(mut req: ModelRequest) -> ModelRequest {
    let Some(out) = req.output.as_mut() else { return req };
    if out.constrained != Some(true) {
        return req;
    }
    let Some(schema) = out.schema.take() else { return req };
    out.constrained = Some(false);
    out.format = None;
    out.content_type = None;
    let text = json_instructions(&Value::Object(schema));
    inject_instructions(&mut req.messages, Some(&text));
    req
}

/// Whether the constrained simulator applies to a model with `supports` (JS
/// `getModelMiddleware`): no native support, `none`, or `no-tools` with tools present.
pub(crate) fn needs_constrained_simulation(supports: Option<&ModelSupports>, req: &ModelRequest) -> bool {
    use crate::Constrained;
    match supports.and_then(|s| s.constrained) {
        None | Some(Constrained::None) => true,
        Some(Constrained::NoTools) => req.tools.as_ref().is_some_and(|t| !t.is_empty()),
        Some(Constrained::All) => false,
    }
}

/// Rejects requests a model cannot handle (JS semantics, opt-in): media when
/// `supports.media == false`, tools when `supports.tools == false`, several messages when
/// `supports.multiturn == false`. `INVALID_ARGUMENT` `Model '<name>' does not support …`.
pub fn validate_support(name: &str, supports: &ModelSupports) -> ValidateSupport {
    ValidateSupport { name: name.to_owned(), supports: supports.clone() }
}

/// The middleware [`validate_support`] returns.
#[derive(Debug, Clone)]
pub struct ValidateSupport {
    name: String,
    supports: ModelSupports,
}

rewrite_middleware!(ValidateSupport);

impl ValidateSupport {
    /// Applies the rewrite to a request.
    ///
    /// # Errors
    /// The middleware's error (e.g. [`ValidateSupport`] rejecting the request).
    pub fn apply(&self, req: ModelRequest) -> Result<ModelRequest> {
        let (name, supports) = (&self.name, &self.supports);
        let invalid = |what: String| {
            Err(Error::invalid_argument(format!(
                "Model '{name}' does not support {what}. Request: {}",
                serde_json::to_string_pretty(&req).unwrap_or_default()
            )))
        };
        if supports.media == Some(false) && req.messages.iter().any(|m| m.content.iter().any(|p| p.media.is_some())) {
            return invalid("media, but media was provided".into());
        }
        if supports.tools == Some(false) && req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
            return invalid("tool use, but tools were provided".into());
        }
        if supports.multiturn == Some(false) && req.messages.len() > 1 {
            return invalid(format!("multiple messages, but {} were provided", req.messages.len()));
        }
        Ok(req)
    }
}
