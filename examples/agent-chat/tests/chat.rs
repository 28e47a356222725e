//! The chat app end to end: the server against a real PostgreSQL (`GENKIT_TEST_POSTGRES_URL`,
//! started by `scripts/lib/start-postgres.sh`) on the real local model (answers kept short with
//! `AGENT_CHAT_MAX_TOKENS`), and the `chat` client binary: two turns in one client, then a new
//! client resumes the session by id and sees the whole history.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SERVER: &str = env!("CARGO_BIN_EXE_agent-chat-server");
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// Starts the server with `env`; returns it (killed when dropped), its agent URL and the
/// lines it printed before listening.
async fn start_server(env: &[(&str, &str)]) -> (Child, String, Vec<String>) {
    let mut cmd = Command::new(SERVER);
    cmd.env_remove("GENKIT_POSTGRES_URL").env("PORT", "0").env("AGENT_CHAT_MAX_TOKENS", "12");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).kill_on_drop(true).spawn().expect("cannot start agent-chat-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut before = Vec::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await
            .expect("the server did not start within 120 s")
            .unwrap()
            .expect("the server exited before listening");
        if let Some(url) = line.strip_prefix("listening ") {
            return (child, url.to_owned(), before);
        }
        before.push(line);
    }
}

/// Runs the `chat` client; its standard output.
async fn chat(url: &str, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(CHAT).arg("--url").arg(url).args(args).kill_on_drop(true).output(),
    )
    .await
    .expect("chat did not finish within 300 s")
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "chat {args:?} failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The value of the first line `key: value`.
fn field<'a>(out: &'a str, key: &str) -> Vec<&'a str> {
    out.lines().filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": "))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_turns_then_a_new_client_resumes_the_session_from_postgres() {
    let db = std::env::var("GENKIT_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "GENKIT_TEST_POSTGRES_URL is not set: this test needs a real PostgreSQL. Start a throw-away one with \
             `eval \"$(scripts/lib/start-postgres.sh)\"` and run it again."
        )
    });
    let (_server, url, before) = start_server(&[("GENKIT_POSTGRES_URL", db.as_str())]).await;
    assert_eq!(before, ["sessions are kept in PostgreSQL"]);

    let first = chat(&url, &["My name is Ada.", "What is my name?"]).await;
    let sessions = field(&first, "session");
    assert_eq!(sessions.len(), 1, "{first}");
    let session = sessions[0].to_owned();
    assert_eq!(field(&first, "user"), ["My name is Ada.", "What is my name?"]);
    let answers = field(&first, "model");
    assert_eq!(answers.len(), 2, "{first}");
    assert!(answers.iter().all(|a| !a.trim().is_empty()), "the model answered nothing: {first}");
    assert_eq!(field(&first, "snapshot").len(), 2, "{first}");

    // A new client (another process) loads the session by id: the whole history, in order.
    let again = chat(&url, &["--session", &session]).await;
    assert_eq!(field(&again, "history"), ["4 messages"], "{again}");
    assert_eq!(field(&again, "user"), ["My name is Ada.", "What is my name?"], "{again}");
    assert_eq!(field(&again, "model"), answers, "the stored answers are the streamed ones: {again}");

    // And continues it: the third turn's history has the first two turns.
    let third = chat(&url, &["--session", &session, "Thanks!"]).await;
    assert_eq!(field(&third, "user"), ["My name is Ada.", "What is my name?", "Thanks!"], "{third}");
    let shown = chat(&url, &["--session", &session]).await;
    assert_eq!(field(&shown, "history"), ["6 messages"], "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_postgres_the_server_says_it_keeps_sessions_in_files() {
    let dir = std::env::temp_dir().join(format!("agent-chat-test-{}", std::process::id()));
    let (_server, url, before) = start_server(&[("AGENT_CHAT_DIR", dir.to_str().unwrap())]).await;
    assert!(url.ends_with("/agent-chat"), "{url}");
    assert_eq!(before.len(), 1);
    assert!(before[0].starts_with(&format!("sessions are kept in files under {}", dir.display())), "{before:?}");
    assert!(before[0].contains("GENKIT_POSTGRES_URL is not set"), "{before:?}");
    assert!(dir.is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}
