//! The agent chat example (**experimental** agents): a prompt agent on the in-process local
//! model (`genkit-local`, SmolLM2-135M-Instruct: no API key, no model server), its
//! conversations kept in PostgreSQL, served over HTTP with the URL layout of Genkit's
//! `remoteAgent` client.
//!
//! - [`build_server`] defines the agent and starts the flow server: `POST /agent-chat` runs a
//!   turn (streamed), `/agent-chat/getSnapshot` reads a snapshot, `/agent-chat/abort` aborts
//!   a detached turn.
//! - The `chat` binary is the client (`genkit::server::remote_agent`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;

use genkit::experimental::agent::AgentOptions;
use genkit::experimental::session::{FileSessionStore, SessionStore};
use genkit::server::{AgentEndpoints, FlowServer, FlowServerOptions, HandlerOptions, start_flow_server};
use genkit::{Genkit, PromptConfig, Result, local};

/// The path the agent is served at (its snapshot and abort endpoints sit beside it).
pub const PATH: &str = "agent-chat";

/// The agent's name (its actions are `/agent/chat`, `/agent-snapshot/chat`, `/agent-abort/chat`).
pub const AGENT: &str = "chat";

/// How the server is set up; [`Settings::from_env`] reads it from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The PostgreSQL URL of the session store (`GENKIT_POSTGRES_URL`); without one, sessions
    /// are kept in files under [`Settings::file_dir`].
    pub postgres_url: Option<String>,
    /// Where the file store keeps sessions when there is no PostgreSQL URL
    /// (`AGENT_CHAT_DIR`, default `<temp dir>/genkit-agent-chat`).
    pub file_dir: PathBuf,
    /// The port to listen on, on 127.0.0.1 (`PORT`, default 3400; 0 picks a free one).
    pub port: u16,
    /// The model's output limit per answer (`AGENT_CHAT_MAX_TOKENS`, default 200).
    pub max_output_tokens: u32,
}

impl Settings {
    /// Reads the settings from the environment (see each field).
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Settings {
            postgres_url: var("GENKIT_POSTGRES_URL"),
            file_dir: var("AGENT_CHAT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| std::env::temp_dir().join("genkit-agent-chat")),
            port: var("PORT").and_then(|p| p.parse().ok()).unwrap_or(3400),
            max_output_tokens: var("AGENT_CHAT_MAX_TOKENS").and_then(|p| p.parse().ok()).unwrap_or(200),
        }
    }
}

/// The running server and a line describing where sessions are kept.
pub struct ChatServer {
    /// The flow server; [`FlowServer::stop`] stops it.
    pub server: FlowServer,
    /// Where sessions are kept (`PostgreSQL` or the file store's directory).
    pub store: String,
}

impl std::fmt::Debug for ChatServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatServer").field("addr", &self.server.local_addr()).field("store", &self.store).finish()
    }
}

impl ChatServer {
    /// The agent's URL (`http://127.0.0.1:N/agent-chat`).
    pub fn url(&self) -> String {
        format!("http://{}/{PATH}", self.server.local_addr())
    }
}

/// The session store `settings` ask for, and a description of it.
///
/// # Errors
/// An invalid PostgreSQL URL; a file store directory that cannot be created.
pub fn session_store(settings: &Settings) -> Result<(Arc<dyn SessionStore>, String)> {
    Ok(match &settings.postgres_url {
        Some(url) => (Arc::new(genkit::postgres::PostgresSessionStore::new(url)?), "PostgreSQL".to_owned()),
        None => (
            Arc::new(FileSessionStore::new(&settings.file_dir)?),
            format!(
                "files under {} (GENKIT_POSTGRES_URL is not set; set it to keep sessions in PostgreSQL)",
                settings.file_dir.display()
            ),
        ),
    })
}

/// Defines the agent on the local model with the store of `settings` and serves it.
///
/// # Errors
/// The store's set-up errors; the server cannot bind its port.
pub async fn build_server(settings: &Settings) -> Result<ChatServer> {
    let (store, described) = session_store(settings)?;
    let g = Genkit::builder().plugin(local::Local::new()).build().await?;
    g.define_agent(
        PromptConfig::new(AGENT)
            .model(local::SMOLLM2_135M)
            .config(serde_json::json!({"maxOutputTokens": settings.max_output_tokens}))
            .system("You are a friendly assistant. Answer in one or two short sentences."),
        AgentOptions::default().store(store),
    );
    let agent = AgentEndpoints::from_registry(g.registry(), AGENT).await?;
    let server = start_flow_server(
        FlowServerOptions::new()
            .agent_with(&agent, HandlerOptions::new().path(PATH))
            .host(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .port(settings.port)
            .shutdown_on_signal(true),
    )
    .await?;
    Ok(ChatServer { server, store: described })
}
