//! Runs Genkit's language-neutral flow-server conformance spec (`tests/data/flow-server-spec.yaml`,
//! copied from `firebase/genkit` `tests/flow_server_tests.yaml`) against the Rust server, checking
//! the streamed bytes exactly, as Genkit's own `flow_server_test.ts` does through the JS client.

mod common;

use common::serve;
use genkit_server::FlowServerOptions;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Spec {
    app: String,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    path: String,
    post: Post,
    response: Expected,
}

#[derive(Deserialize)]
struct Post {
    data: Value,
}

#[derive(Deserialize)]
struct Expected {
    message: String,
    result: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_server_spec_yaml() {
    let spec: Spec = serde_norway::from_str(include_str!("data/flow-server-spec.yaml")).unwrap();
    assert_eq!(spec.app, "flow_server");
    assert!(!spec.tests.is_empty());
    // The conformance app's flows, by path.
    let (server, url) = serve(FlowServerOptions::new().flow(common::streamy())).await;
    let http = reqwest::Client::new();
    for case in &spec.tests {
        let n = case.post.data.as_u64().expect("the spec posts a chunk count");
        let mut want = String::new();
        for i in 0..n {
            let chunk = case.response.message.replace("{count}", &i.to_string());
            // The spec gives the chunk as JS `JSON.stringify` output; we must send the same bytes.
            let parsed: Value = serde_json::from_str(&chunk).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap(), chunk);
            want.push_str(&format!("data: {{\"message\":{chunk}}}\n\n"));
        }
        let result = case.response.result.replace("{count}", &n.to_string());
        want.push_str(&format!("data: {}\n\n", json!({ "result": result })));

        let body = json!({ "data": case.post.data }).to_string();
        for (suffix, accept) in [("", Some("text/event-stream")), ("?stream=true", None)] {
            let mut req = http
                .post(format!("{url}/{}{suffix}", case.path))
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{}", case.path);
            assert_eq!(res.headers()["content-type"], "text/plain");
            assert!(res.headers().get("x-genkit-stream-id").is_none());
            let got = res.text().await.unwrap();
            assert_eq!(got, want, "streamed bytes of {}{suffix}", case.path);
        }

        // Not streamed: the flow sends no chunks (Go's conformance app behaves the same).
        let res = http
            .post(format!("{url}/{}", case.path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
        let got: Value = res.json().await.unwrap();
        assert_eq!(got, json!({ "result": format!("done {n}, streamed: 0 times") }));
    }
    println!("flow-server-spec.yaml: {} case(s) passed", spec.tests.len());
    server.stop().await.unwrap();
}
