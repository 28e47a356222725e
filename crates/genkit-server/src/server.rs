//! [`start_flow_server`]: a ready-made HTTP server for a set of flows (JS `startFlowServer`).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::serve::ListenerExt;
use genkit_core::{Action, Error, Result, Status};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

use crate::frame::{SPAN_ID_HEADER, STREAM_ID_HEADER, TRACE_ID_HEADER};
use crate::handler::{HandlerOptions, IntoAction, routes};

/// Port used when neither [`FlowServerOptions::port`] nor `PORT` is set.
pub const DEFAULT_PORT: u16 = 3400;

/// Default request body limit: 100 KiB, like the JSON body parser of Genkit JS's express
/// server (`jsonParserOptions.limit`).
pub const DEFAULT_BODY_LIMIT: usize = 100 * 1024;

/// The CORS policy of Genkit JS's flow server (the `cors` package defaults): any origin; `GET`,
/// `HEAD`, `PUT`, `PATCH`, `POST`, `DELETE`; the requested headers allowed. It also exposes the
/// `x-genkit-*` response headers to browser code.
pub fn default_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::PATCH, Method::POST, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static(TRACE_ID_HEADER),
            HeaderName::from_static(SPAN_ID_HEADER),
            HeaderName::from_static(STREAM_ID_HEADER),
        ])
}

/// The port to listen on when none is given: `PORT` from the environment, else 3400.
pub fn port_from_env() -> u16 {
    std::env::var("PORT").ok().and_then(|p| p.trim().parse().ok()).filter(|p| *p != 0).unwrap_or(DEFAULT_PORT)
}

/// Options of [`start_flow_server`] (JS `FlowServerOptions`).
///
/// ```
/// use genkit_core::{ActionCx, ActionDef, ActionType};
/// use genkit_server::{FlowServerOptions, HandlerOptions, api_key};
/// let echo = ActionDef::builder(ActionType::Flow, "echo")
///     .build(|s: String, _cx: ActionCx<()>| async move { Ok(s) });
/// let opts = FlowServerOptions::new()
///     .flow(&echo)
///     .flow_with(&echo, HandlerOptions::new().path("secure/echo").context_provider(api_key("k")))
///     .path_prefix("api/")
///     .port(8080);
/// ```
pub struct FlowServerOptions {
    flows: Vec<(Arc<dyn Action>, HandlerOptions)>,
    port: Option<u16>,
    host: IpAddr,
    cors: Option<CorsLayer>,
    path_prefix: String,
    body_limit: usize,
    shutdown_on_signal: bool,
}

impl Default for FlowServerOptions {
    fn default() -> Self {
        FlowServerOptions {
            flows: Vec::new(),
            port: None,
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            cors: Some(default_cors()),
            path_prefix: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            shutdown_on_signal: true,
        }
    }
}

impl fmt::Debug for FlowServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.flows.iter().map(|(a, _)| a.name()).collect();
        f.debug_struct("FlowServerOptions")
            .field("flows", &names)
            .field("port", &self.port)
            .field("host", &self.host)
            .field("cors", &self.cors.is_some())
            .field("path_prefix", &self.path_prefix)
            .field("body_limit", &self.body_limit)
            .field("shutdown_on_signal", &self.shutdown_on_signal)
            .finish()
    }
}

impl FlowServerOptions {
    /// No flows; port from `PORT` or 3400 on all interfaces; JS's CORS policy; no prefix;
    /// 100 KiB body limit; graceful shutdown on SIGTERM and Ctrl-C.
    pub fn new() -> Self {
        FlowServerOptions::default()
    }

    /// Serves a flow (any action) at `/<prefix><name>`.
    #[must_use]
    pub fn flow(self, action: impl IntoAction) -> Self {
        self.flow_with(action, HandlerOptions::default())
    }

    /// Serves a flow with options (context provider, stream manager, path).
    #[must_use]
    pub fn flow_with(mut self, action: impl IntoAction, options: HandlerOptions) -> Self {
        self.flows.push((action.into_action(), options));
        self
    }

    /// **Experimental**: serves an agent at `/<name>` with `/<name>/getSnapshot` and
    /// `/<name>/abort` beside it, as Genkit's `remoteAgent` client expects (see
    /// [`crate::AgentEndpoints`]).
    #[must_use]
    pub fn agent(self, agent: &crate::AgentEndpoints) -> Self {
        self.agent_with(agent, HandlerOptions::default())
    }

    /// [`FlowServerOptions::agent`] with options: [`HandlerOptions::path`] sets the base path
    /// of the three routes; the context provider and stream manager apply to all of them.
    #[must_use]
    pub fn agent_with(mut self, agent: &crate::AgentEndpoints, options: HandlerOptions) -> Self {
        self.flows.extend(agent.flows(options));
        self
    }

    /// Serves several flows.
    #[must_use]
    pub fn flows<A: IntoAction>(mut self, actions: impl IntoIterator<Item = A>) -> Self {
        self.flows.extend(actions.into_iter().map(|a| (a.into_action(), HandlerOptions::default())));
        self
    }

    /// The port (default: `PORT`, else 3400); `0` picks a free one (see [`FlowServer::local_addr`]).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The address to listen on (default: all IPv4 interfaces, `0.0.0.0`).
    #[must_use]
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// Replaces the CORS policy (default [`default_cors`]).
    #[must_use]
    pub fn cors(mut self, cors: CorsLayer) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Turns CORS handling off.
    #[must_use]
    pub fn no_cors(mut self) -> Self {
        self.cors = None;
        self
    }

    /// Prepended to every flow path, as in JS (`"api/"` serves `/api/<name>`).
    #[must_use]
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// Largest accepted request body in bytes (default 100 KiB); larger bodies get 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Whether SIGTERM and Ctrl-C stop the server gracefully (default `true`).
    #[must_use]
    pub fn shutdown_on_signal(mut self, yes: bool) -> Self {
        self.shutdown_on_signal = yes;
        self
    }

    /// The router the server runs: the flow routes, a JSON 404 fallback, the body limit and
    /// CORS (a preflight is answered 204 No Content, as by the `cors` package of Genkit JS's
    /// express server). Serve it yourself, or test it with `tower::ServiceExt::oneshot`.
    pub fn router(&self) -> Router {
        let mut router =
            routes(self.flows.iter().cloned(), &self.path_prefix).layer(DefaultBodyLimit::max(self.body_limit));
        if let Some(cors) = &self.cors {
            router = router.layer(cors.clone()).layer(middleware::from_fn(preflight_no_content));
        }
        router
    }
}

/// Turns the CORS layer's `200 OK` answer to a preflight into `204 No Content`, the status
/// the `cors` package answers with by default (`optionsSuccessStatus`). Like that package (and
/// tower-http's layer), every `OPTIONS` request counts as a preflight. Other answers pass
/// unchanged.
async fn preflight_no_content(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = next.run(req).await;
    if preflight && res.status() == StatusCode::OK {
        *res.status_mut() = StatusCode::NO_CONTENT;
    }
    res
}

/// A running flow server; see [`start_flow_server`].
#[derive(Debug)]
pub struct FlowServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

/// Binds and starts serving `options.flows` over HTTP (JS `startFlowServer`); returns once
/// the socket is bound, with the server running on the current tokio runtime.
///
/// ```no_run
/// # async fn demo() -> genkit_core::Result<()> {
/// use genkit_core::{ActionCx, ActionDef, ActionType};
/// let echo = ActionDef::builder(ActionType::Flow, "echo")
///     .build(|s: String, _cx: ActionCx<()>| async move { Ok(s) });
/// let server = genkit_server::start_flow_server(genkit_server::FlowServerOptions::new().flow(&echo)).await?;
/// println!("Flow server running on http://{}", server.local_addr());
/// server.wait().await?; // until SIGTERM / Ctrl-C
/// # Ok(()) }
/// ```
///
/// # Errors
/// `UNAVAILABLE` when the address cannot be bound.
pub async fn start_flow_server(options: FlowServerOptions) -> Result<FlowServer> {
    let port = options.port.unwrap_or_else(port_from_env);
    let listener = tokio::net::TcpListener::bind((options.host, port)).await.map_err(|e| {
        Error::new(Status::Unavailable, format!("cannot listen on {}:{port}: {e}", options.host)).with_source(e)
    })?;
    let addr = listener.local_addr()?;
    tracing::debug!("Running flow server with flow paths:");
    let router = options.router();
    let stop = CancellationToken::new();
    let signal = shutdown_signal(stop.clone(), options.shutdown_on_signal);
    // Small stream frames go out at once (Node sets TCP_NODELAY on its sockets too).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(signal).await });
    tracing::debug!("Flow server running on http://{addr}");
    Ok(FlowServer { addr, stop, task })
}

impl FlowServer {
    /// The bound address (with the actual port when `0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets running requests finish, then returns.
    ///
    /// # Errors
    /// `INTERNAL` if the server task failed.
    pub async fn stop(self) -> Result<()> {
        self.stop.cancel();
        self.wait().await
    }

    /// Waits until the server has shut down (after SIGTERM/Ctrl-C or [`FlowServer::stop`]).
    ///
    /// # Errors
    /// `INTERNAL` if the server task failed.
    pub async fn wait(self) -> Result<()> {
        match self.task.await {
            Ok(res) => res.map_err(Error::internal),
            Err(e) => Err(Error::internal(e)),
        }
    }

    /// A token that stops the server when cancelled (e.g. from another task).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// Resolves on `stop`, or on SIGTERM / Ctrl-C when `on_signal`. The signal handlers are
/// installed before this returns, so a signal sent once the server is started is never missed.
fn shutdown_signal(stop: CancellationToken, on_signal: bool) -> impl std::future::Future<Output = ()> + Send {
    let signals = if on_signal { Some(Signals::install()) } else { None };
    async move {
        match signals {
            None => stop.cancelled().await,
            Some(signals) => tokio::select! {
                () = stop.cancelled() => {}
                () = signals.recv() => tracing::info!("flow server: shutting down on signal"),
            },
        }
    }
}

#[cfg(unix)]
struct Signals(Option<tokio::signal::unix::Signal>, Option<tokio::signal::unix::Signal>);

#[cfg(unix)]
impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals(signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    }

    async fn recv(self) {
        async fn one(s: Option<tokio::signal::unix::Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = one(self.0) => {}
            () = one(self.1) => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Signals {
        Signals
    }

    async fn recv(self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
