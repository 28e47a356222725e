//! A runtime for the CLI agent test (`tests/cli_agents.rs`): an app whose only action is an
//! agent, so the real Genkit CLI and Dev UI server can be checked to list agents and run
//! their turns through the reflection API.
//!
//! Two agents, both server-managed with an in-memory store:
//! - `echo`, genkit-ai's wire-compatible echo **test fixture**: it speaks the agent protocol
//!   (`/agent/echo`, `/agent-snapshot/echo`, `/agent-abort/echo`) but answers by echoing;
//! - `assistant`, a real prompt agent of the agent runtime on the echo test model.

use std::sync::Arc;

use genkit::experimental::agent::AgentOptions;
use genkit::experimental::agent::fixture::define_echo_agent;
use genkit::experimental::session::{InMemorySessionStore, SessionStore};

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let app = genkit::Genkit::builder().build().await?;
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    define_echo_agent(app.registry(), "echo", Some(store))?;
    app.register(genkit::ai::model::testing::echo_model("echoModel").as_action());
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    app.define_agent(genkit::PromptConfig::new("assistant").model("echoModel"), AgentOptions::default().store(store));
    if app.reflection().is_none() {
        println!("Run this under the Genkit CLI: genkit start -- cargo run -p example-devtools --bin agent-runtime");
        return Ok(());
    }
    // The reflection bridge removes its runtime file and exits on SIGINT/SIGTERM.
    std::future::pending::<()>().await;
    Ok(())
}
