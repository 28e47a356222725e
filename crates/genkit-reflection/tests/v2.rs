//! Reflection API v2: the runtime connects to a WebSocket server playing the Genkit CLI's
//! part, registers, and answers JSON-RPC requests with the CLI 1.43's message shapes.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use genkit_core::{ActionDef, ActionType, Error, Registry};
use genkit_reflection::{Reflection, ReflectionOptions};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn recv(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("a message").unwrap().unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_and_answers_json_rpc_like_the_cli_expects() {
    let registry = Registry::new();
    let count = ActionDef::<u32, String, String>::builder(ActionType::Flow, "count").build(|n, cx| async move {
        for i in 0..n {
            cx.send_chunk(format!("c{i}"));
        }
        Ok(format!("counted {n}"))
    });
    let slow =
        ActionDef::<serde_json::Value, String, ()>::builder(ActionType::Flow, "slow").build(|_, cx| async move {
            cx.cancellation().cancelled().await;
            Err(Error::cancelled("aborted"))
        });
    registry.register_action(count.as_action()).unwrap();
    registry.register_action(slow.as_action()).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let opts = ReflectionOptions {
        reflection_v2_server: Some(url),
        runtime_id: Some("rt-v2".into()),
        name: Some("v2 test".into()),
        handle_signals: false,
        ..Default::default()
    };
    let reflection = Reflection::start(&registry, opts).await.unwrap();
    assert!(reflection.runtime_file().is_none(), "v2 writes no runtime file");
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();

    let reg = recv(&mut ws).await;
    assert_eq!(reg["method"], "register");
    assert!(reg["id"].is_string());
    let p = &reg["params"];
    assert_eq!(p["id"], "rt-v2");
    assert_eq!(p["pid"], std::process::id());
    assert_eq!(p["name"], "v2 test");
    assert_eq!(p["genkitVersion"], genkit_reflection::GENKIT_VERSION);
    assert_eq!(p["reflectionApiSpecVersion"], 1);
    assert_eq!(p["envs"], json!(["dev"]));
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "result": {"telemetryServerUrl": "http://localhost:4999"}, "id": reg["id"]}),
    )
    .await;

    send(&mut ws, json!({"jsonrpc": "2.0", "method": "listActions", "id": "1"})).await;
    let r = recv(&mut ws).await;
    assert_eq!(r["id"], "1");
    assert_eq!(r["result"]["actions"]["/flow/count"]["name"], "count");
    assert_eq!(reflection.exporter().url().as_deref(), Some("http://localhost:4999"));

    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "runAction", "id": "2",
               "params": {"key": "/flow/count", "input": 2, "stream": true, "streamInput": false}}),
    )
    .await;
    let state = recv(&mut ws).await;
    assert_eq!(state["method"], "runActionState");
    assert_eq!(state["params"]["requestId"], "2");
    let trace_id = state["params"]["state"]["traceId"].as_str().unwrap().to_owned();
    assert!(state.get("id").is_none(), "notifications carry no id");
    for i in 0..2 {
        let c = recv(&mut ws).await;
        assert_eq!(
            c,
            json!({"jsonrpc": "2.0", "method": "streamChunk", "params": {"requestId": "2", "chunk": format!("c{i}")}})
        );
    }
    let done = recv(&mut ws).await;
    assert_eq!(done["id"], "2");
    assert_eq!(done["result"], json!({"result": "counted 2", "telemetry": {"traceId": trace_id}}));

    // Cancellation by trace id, and the error shapes.
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "runAction", "id": "3", "params": {"key": "/flow/slow", "stream": false}}),
    )
    .await;
    let state = recv(&mut ws).await;
    let slow_trace = state["params"]["state"]["traceId"].as_str().unwrap().to_owned();
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "cancelAction", "id": "4", "params": {"traceId": slow_trace}}))
        .await;
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(recv(&mut ws).await);
    }
    got.sort_by_key(|v| v["id"].as_str().unwrap().to_owned());
    assert_eq!(got[0]["error"]["code"], -32000);
    assert_eq!(got[0]["error"]["data"]["code"], 1);
    assert_eq!(got[0]["error"]["data"]["details"]["traceId"], slow_trace);
    assert_eq!(got[1]["result"], json!({"message": "Action cancelled"}));

    send(&mut ws, json!({"jsonrpc": "2.0", "method": "cancelAction", "id": "5", "params": {"traceId": slow_trace}}))
        .await;
    let r = recv(&mut ws).await;
    assert_eq!(r["error"], json!({"code": -32602, "message": "Action not found or already completed"}));
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "runAction", "id": "6", "params": {"key": "/flow/none", "stream": false}}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["error"]["code"], -32602);
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "frobnicate", "id": "7"})).await;
    assert_eq!(recv(&mut ws).await["error"], json!({"code": -32601, "message": "Method not found: frobnicate"}));
    send(&mut ws, json!({"jsonrpc": "2.0", "method": "listValues", "id": "8", "params": {"type": "defaultModel"}}))
        .await;
    assert_eq!(recv(&mut ws).await["result"], json!({"values": {}}));

    // When the connection drops, the runtime reconnects and registers again.
    drop(ws);
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await.unwrap().unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    assert_eq!(recv(&mut ws).await["method"], "register");
    reflection.stop();
}

/// An app defines its flows after `build()` has started the reflection client. The runtime
/// registers with the CLI only once the registry has settled, so the CLI's first listing
/// (which the Dev UI shows and `genkit start` scripts wait on) holds every action, not the
/// first few. Without the wait, the `register` message arrives before `/flow/late` exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_only_after_the_app_has_defined_its_actions() {
    let registry = Registry::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let opts = ReflectionOptions {
        reflection_v2_server: Some(url),
        runtime_id: Some("rt-late".into()),
        handle_signals: false,
        ..Default::default()
    };
    // Play the CLI: list the actions as soon as the runtime registers, as the CLI does.
    let cli = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let reg = recv(&mut ws).await;
        assert_eq!(reg["method"], "register");
        send(&mut ws, json!({"jsonrpc": "2.0", "method": "listActions", "id": "1"})).await;
        recv(&mut ws).await
    });
    let _reflection = Reflection::start(&registry, opts).await.unwrap();
    let flow = |name: &str| {
        ActionDef::<u32, u32, ()>::builder(ActionType::Flow, name).build(|n, _| async move { Ok(n) }).as_action()
    };
    registry.register_action(flow("early")).unwrap();
    // The rest of the app's set-up, well under the settle quiet period of 100 ms.
    tokio::time::sleep(Duration::from_millis(10)).await;
    registry.register_action(flow("late")).unwrap();

    let r = cli.await.unwrap();
    let actions = &r["result"]["actions"];
    assert!(actions.get("/flow/early").is_some(), "{r}");
    assert!(actions.get("/flow/late").is_some(), "the first listing missed an action defined during set-up: {r}");
}
