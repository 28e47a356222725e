//! Test models: an echo model and a programmable model, for tests, samples and the
//! conformance suite. No network.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use genkit_core::{Error, Result, Status};

use super::{Model, ModelCx, ModelOptions};
use crate::{
    FinishReason, Message, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports, Part, Role, concat_text,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn all_supported() -> ModelSupports {
    ModelSupports {
        multiturn: Some(true),
        media: Some(true),
        tools: Some(true),
        system_role: Some(true),
        tool_choice: Some(true),
        ..ModelSupports::default()
    }
}

/// A model that answers with the text of the request: `"Echo: "` followed by each message's
/// text joined with `"\n"`, then `"; config: <json>"` when config is set. When streaming, it
/// sends one chunk per message first.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::{Message, ModelRequest, model::testing::echo_model};
/// let echo = echo_model("test/echo");
/// let req = ModelRequest { messages: vec![Message::user("hi")], ..Default::default() };
/// assert_eq!(echo.run(req).await?.text(), "Echo: hi");
/// # Ok(()) }
/// ```
pub fn echo_model(name: &str) -> Model {
    super::new(
        ModelOptions::new(name).label("Echo model").supports(all_supported()),
        |req: ModelRequest, cx: ModelCx| async move {
            let texts: Vec<String> = req.messages.iter().map(|m| concat_text(&m.content)).collect();
            if cx.streaming_requested() {
                for t in &texts {
                    cx.send_chunk(ModelResponseChunk {
                        role: Some(Role::Model),
                        index: Some(0),
                        content: vec![Part::text(t.clone())],
                        ..ModelResponseChunk::default()
                    });
                }
            }
            let mut text = format!("Echo: {}", texts.join("\n"));
            if let Some(cfg) = &req.config {
                text.push_str(&format!("; config: {cfg}"));
            }
            Ok(ModelResponse {
                message: Some(Message::model(text)),
                finish_reason: Some(FinishReason::Stop),
                ..ModelResponse::default()
            })
        },
    )
}

#[derive(Default)]
struct State {
    queue: VecDeque<(Vec<ModelResponseChunk>, Result<ModelResponse>)>,
    requests: Vec<ModelRequest>,
    handler: Option<Handler>,
}

type Handler = Arc<dyn Fn(&ModelRequest, &ModelCx) -> Result<ModelResponse> + Send + Sync>;

/// A model whose answers are programmed by the test: queued responses (optionally preceded by
/// streamed chunks), queued errors, or a handler function. Records every request it receives.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
/// use genkit_ai::model::testing::ProgrammableModel;
/// let pm = ProgrammableModel::new("test/pm");
/// pm.respond_text("first");
/// assert_eq!(pm.action().run(Default::default()).await?.text(), "first");
/// assert_eq!(pm.requests().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProgrammableModel {
    state: Arc<Mutex<State>>,
    action: Model,
}

impl std::fmt::Debug for ProgrammableModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgrammableModel").field("name", &self.action.name()).finish()
    }
}

impl ProgrammableModel {
    /// A programmable model named `name` (supports multiturn, media, tools, system role,
    /// tool choice; no native constrained output).
    pub fn new(name: &str) -> Self {
        Self::with_options(ModelOptions::new(name).supports(all_supported()))
    }

    /// A programmable model with the given options (name, `supports`, …).
    pub fn with_options(opts: ModelOptions) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let model_name = opts.name().to_owned();
        let action = super::new(opts, move |req: ModelRequest, cx: ModelCx| {
            let st = st.clone();
            let model_name = model_name.clone();
            async move {
                let (next, handler) = {
                    let mut s = lock(&st);
                    s.requests.push(req.clone());
                    (s.queue.pop_front(), s.handler.clone())
                };
                match (next, handler) {
                    (Some((chunks, resp)), _) => {
                        for c in chunks {
                            cx.send_chunk(c);
                        }
                        resp
                    }
                    (None, Some(h)) => h(&req, &cx),
                    (None, None) => Err(Error::new(
                        Status::FailedPrecondition,
                        format!(
                            "programmable model '{model_name}' has no programmed response left; queue one with respond*()"
                        ),
                    )),
                }
            }
        });
        ProgrammableModel { state, action }
    }

    /// The model action (register it, or run it directly).
    pub fn action(&self) -> Model {
        self.action.clone()
    }

    /// Queues a response.
    pub fn respond(&self, resp: ModelResponse) -> &Self {
        lock(&self.state).queue.push_back((Vec::new(), Ok(resp)));
        self
    }

    /// Queues a text response with finish reason `stop`.
    pub fn respond_text(&self, text: &str) -> &Self {
        self.respond(ModelResponse::from_text(text))
    }

    /// Queues chunks to stream, then a response.
    pub fn respond_streaming(&self, chunks: Vec<ModelResponseChunk>, resp: ModelResponse) -> &Self {
        lock(&self.state).queue.push_back((chunks, Ok(resp)));
        self
    }

    /// Queues an error.
    pub fn fail(&self, err: Error) -> &Self {
        lock(&self.state).queue.push_back((Vec::new(), Err(err)));
        self
    }

    /// Answers with `f` once the queue is empty.
    pub fn set_handler(&self, f: impl Fn(&ModelRequest, &ModelCx) -> Result<ModelResponse> + Send + Sync + 'static) {
        lock(&self.state).handler = Some(Arc::new(f));
    }

    /// Stops answering with the handler set by [`Self::set_handler`].
    pub fn clear_handler(&self) {
        lock(&self.state).handler = None;
    }

    /// Forgets everything programmed and recorded: queued responses, the handler and the
    /// requests received, so one registered model can be reprogrammed between cases.
    pub fn reset(&self) {
        let mut s = lock(&self.state);
        s.queue.clear();
        s.handler = None;
        s.requests.clear();
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ModelRequest> {
        lock(&self.state).requests.clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<ModelRequest> {
        lock(&self.state).requests.last().cloned()
    }
}
