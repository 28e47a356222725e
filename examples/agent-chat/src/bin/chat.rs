//! `chat`: the client of the chat agent, over HTTP with `remote_agent` (JS `remoteAgent`).
//!
//! ```sh
//! chat "Hello!" "What did I just say?"      # a new session: each message is one turn
//! chat --session ID "And now?"               # resumes session ID: prints its history first
//! chat --session ID                          # prints the history only
//! ```
//!
//! `--url URL` (or `AGENT_CHAT_URL`) names the agent, default `http://127.0.0.1:3400/agent-chat`.
//! Each answer is printed as it streams, then its snapshot id; a new session prints its id after
//! the first turn.

use std::io::Write;

use futures::StreamExt;
use genkit::experimental::agent::{AgentChat, GetSnapshotRequest};
use genkit::{Error, Message, Result};

/// The parsed command line.
struct Args {
    url: String,
    session: Option<String>,
    messages: Vec<String>,
}

const USAGE: &str = "usage: chat [--url URL] [--session ID] [MESSAGE]...";

fn parse_args() -> Result<Args> {
    let mut url = std::env::var("AGENT_CHAT_URL").unwrap_or_else(|_| "http://127.0.0.1:3400/agent-chat".to_owned());
    let (mut session, mut messages) = (None, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().ok_or_else(|| Error::invalid_argument(USAGE))?,
            "--session" => session = Some(args.next().ok_or_else(|| Error::invalid_argument(USAGE))?),
            "-h" | "--help" => return Err(Error::invalid_argument(USAGE)),
            _ => messages.push(arg),
        }
    }
    if session.is_none() && messages.is_empty() {
        return Err(Error::invalid_argument(format!("{USAGE}\nsay something, or name a session to show")));
    }
    Ok(Args { url, session, messages })
}

fn print_message(m: &Message) {
    let role = serde_json::to_value(m.role).ok().and_then(|r| r.as_str().map(str::to_owned)).unwrap_or_default();
    println!("{role}: {}", m.text());
}

/// One turn: prints the answer as it streams.
async fn turn(chat: &mut AgentChat, text: &str) -> Result<()> {
    println!("user: {text}");
    print!("model: ");
    let mut stream = chat.send_stream(text);
    while let Some(chunk) = stream.next().await {
        print!("{}", chunk?.text());
        let _ = std::io::stdout().flush();
    }
    let answer = stream.response().await?;
    println!();
    if let Some(id) = answer.snapshot_id() {
        println!("snapshot: {id}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let agent = genkit::server::remote_agent(&args.url);
    let mut chat = match &args.session {
        Some(id) => {
            let chat = agent.load_chat(GetSnapshotRequest::session(id)).await?;
            println!("session: {id}");
            println!("history: {} messages", chat.messages().len());
            chat.messages().iter().for_each(print_message);
            chat
        }
        None => agent.chat(),
    };
    for (i, text) in args.messages.iter().enumerate() {
        turn(&mut chat, text).await?;
        if i == 0
            && args.session.is_none()
            && let Some(id) = chat.session_id()
        {
            println!("session: {id}");
        }
    }
    Ok(())
}
