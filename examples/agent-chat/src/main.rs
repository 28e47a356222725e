//! `agent-chat-server`: serves the chat agent over HTTP until Ctrl-C (see the README).

use example_agent_chat::{Settings, build_server};

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let settings = Settings::from_env();
    let chat = build_server(&settings).await?;
    println!("sessions are kept in {}", chat.store);
    println!("listening {}", chat.url());
    chat.server.wait().await
}
