//! Request → flow → response over loopback HTTP (keep-alive connection, reqwest client), plain
//! and streaming, plus the same request through the router without a socket.
//! Run with `cargo bench -p genkit-server --bench server`.

use std::net::{IpAddr, Ipv4Addr};

use axum::body::{Body, to_bytes};
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use genkit_core::{ActionCx, ActionDef, ActionType, Flow};
use genkit_server::{FlowServerOptions, start_flow_server};
use tower::ServiceExt;

fn echo() -> Flow<String, String> {
    ActionDef::builder(ActionType::Flow, "echo").build(|s: String, _cx: ActionCx<()>| async move { Ok(s) })
}

fn streamy() -> Flow<u32, String, u32> {
    ActionDef::builder(ActionType::Flow, "streamy").build(|n: u32, cx: ActionCx<u32>| async move {
        for i in 0..n {
            cx.send_chunk(i);
        }
        Ok(format!("done {n}"))
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let options = || FlowServerOptions::new().flow(echo()).flow(streamy());
    let server = rt
        .block_on(start_flow_server(options().host(IpAddr::V4(Ipv4Addr::LOCALHOST)).port(0).shutdown_on_signal(false)))
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    let http = reqwest::Client::new();

    let mut g = c.benchmark_group("flow_server");
    g.bench_function("http_echo", |b| {
        b.to_async(&rt).iter(|| async {
            let res = http
                .post(format!("{base}/echo"))
                .header("content-type", "application/json")
                .body(r#"{"data":"hello"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(res.bytes().await.unwrap().as_ref(), br#"{"result":"hello"}"#);
        });
    });
    for n in [10u32, 100] {
        g.bench_function(format!("http_stream_{n}_chunks"), |b| {
            b.to_async(&rt).iter(|| async {
                let res = http
                    .post(format!("{base}/streamy"))
                    .header("content-type", "application/json")
                    .header("accept", "text/event-stream")
                    .body(format!(r#"{{"data":{n}}}"#))
                    .send()
                    .await
                    .unwrap();
                let body = res.bytes().await.unwrap();
                assert!(body.ends_with(format!("data: {{\"result\":\"done {n}\"}}\n\n").as_bytes()));
            });
        });
    }
    let router = options().router();
    g.bench_function("router_echo_no_socket", |b| {
        b.to_async(&rt).iter(|| async {
            let req = Request::post("/echo")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"data":"hello"}"#))
                .unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
            assert_eq!(body.as_ref(), br#"{"result":"hello"}"#);
        });
    });
    g.finish();

    // 32 requests in flight at once (like `wrk -c32`), client and server sharing the cores.
    let mut g = c.benchmark_group("flow_server_concurrent");
    g.throughput(Throughput::Elements(32));
    g.bench_function("http_echo_32_in_flight", |b| {
        b.to_async(&rt).iter(|| async {
            let calls = (0..32).map(|_| async {
                let res = http
                    .post(format!("{base}/echo"))
                    .header("content-type", "application/json")
                    .body(r#"{"data":"hello"}"#)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.bytes().await.unwrap().as_ref(), br#"{"result":"hello"}"#);
            });
            futures::future::join_all(calls).await;
        });
    });
    g.finish();
    rt.block_on(server.stop()).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
