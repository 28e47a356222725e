//! A client that disconnects cancels its flow: the flow's cancellation token fires, the run is
//! dropped, and no task is left behind.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::serve;
use genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit_server::FlowServerOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Hands its token to the test, sends one chunk, then waits forever.
fn hang(tokens: mpsc::UnboundedSender<CancellationToken>, dropped: Arc<AtomicBool>) -> Flow<String, String, String> {
    ActionDef::builder(ActionType::Flow, "hang").build(move |s: String, cx: ActionCx<String>| {
        let tokens = tokens.clone();
        let guard = SetOnDrop(dropped.clone());
        async move {
            let _guard = guard;
            tokens.send(cx.cancellation().clone()).unwrap();
            cx.send_chunk(s);
            std::future::pending::<()>().await;
            Ok(String::new())
        }
    })
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn check_disconnect_cancels(stream: bool) {
    let (tx, mut tokens) = mpsc::unbounded_channel();
    let dropped = Arc::new(AtomicBool::new(false));
    let (server, _) = serve(FlowServerOptions::new().flow(hang(tx, dropped.clone()))).await;
    // The server's accept loop starts its shutdown watcher on first poll: let it settle.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = alive_tasks();

    let mut sock = TcpStream::connect(server.local_addr()).await.unwrap();
    let body = r#"{"data":"first"}"#;
    let accept = if stream { "accept: text/event-stream\r\n" } else { "" };
    let req = format!(
        "POST /hang HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n{accept}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let token = tokio::time::timeout(Duration::from_secs(5), tokens.recv()).await.unwrap().unwrap();
    if stream {
        // Read up to the first frame so the response is really streaming.
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).contains("data: {\"message\":\"first\"}\n\n") {
            let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "connection closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200 OK\r\n"));
    }
    assert!(!token.is_cancelled());
    assert!(alive_tasks() > baseline, "the connection has a task");
    drop(sock);

    tokio::time::timeout(Duration::from_secs(5), token.cancelled()).await.expect("the flow's token did not fire");
    wait_for("the run to be dropped", || dropped.load(Ordering::SeqCst)).await;
    wait_for("the connection task to end", || alive_tasks() <= baseline).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_stream_cancels_the_flow() {
    check_disconnect_cancels(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_before_the_result_cancels_the_flow() {
    check_disconnect_cancels(false).await;
}
