//! Flows and helpers shared by the integration tests. Everything listens on 127.0.0.1.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::{IpAddr, Ipv4Addr};

use genkit_core::{ActionContext, ActionCx, ActionDef, ActionType, Error, Flow, Status, current_context};
use genkit_server::{FlowServer, FlowServerOptions, start_flow_server};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Starts a server on a free loopback port; returns it and its base URL (`http://127.0.0.1:N`).
pub async fn serve(opts: FlowServerOptions) -> (FlowServer, String) {
    let server = start_flow_server(opts.host(LOCALHOST).port(0).shutdown_on_signal(false)).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    (server, url)
}

pub fn echo() -> Flow<String, String> {
    ActionDef::builder(ActionType::Flow, "echo").build(|s: String, _cx: ActionCx<()>| async move { Ok(s) })
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Count {
    pub count: i64,
}

/// The `streamy` flow of Genkit's flow-server conformance app: `count` chunks `{count: i}`,
/// then `done <count>, streamed: <i> times`.
pub fn streamy() -> Flow<i64, String, Count> {
    ActionDef::builder(ActionType::Flow, "streamy").build(|count: i64, cx: ActionCx<Count>| async move {
        let mut i = 0;
        if cx.streaming_requested() {
            while i < count {
                cx.send_chunk(Count { count: i });
                i += 1;
            }
        }
        Ok(format!("done {count}, streamed: {i} times"))
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Person {
    pub name: String,
    pub age: u32,
}

pub fn greet() -> Flow<Person, String> {
    ActionDef::builder(ActionType::Flow, "greet")
        .build(|p: Person, _cx: ActionCx<()>| async move { Ok(format!("Hello {} ({})", p.name, p.age)) })
}

pub fn fail() -> Flow<Value, Value, String> {
    ActionDef::builder(ActionType::Flow, "fail").build(|_: Value, cx: ActionCx<String>| async move {
        cx.send_chunk("before".into());
        Err(Error::new(Status::NotFound, "nothing here").with_details(json!({"why": "test"})))
    })
}

pub fn boom() -> Flow<Value, Value, String> {
    ActionDef::builder(ActionType::Flow, "boom").build(|v: Value, cx: ActionCx<String>| async move {
        cx.send_chunk("tick".into());
        if v != Value::Null {
            panic!("the flow blew up");
        }
        Ok(v)
    })
}

/// Returns the context it sees directly and what a nested action sees as ambient context.
pub fn whoami() -> Flow<Value, Value> {
    let inner: Flow<(), Value> = ActionDef::builder(ActionType::Custom, "inner")
        .build(|_: (), _cx: ActionCx<()>| async move { Ok(json!(current_context().unwrap_or_default())) });
    ActionDef::builder(ActionType::Flow, "whoami").build(move |_: Value, cx: ActionCx<()>| {
        let inner = inner.clone();
        async move {
            let nested = inner.run(()).await?;
            Ok(json!({ "context": cx.context(), "nested": nested }))
        }
    })
}

pub fn bidi() -> Flow<String, String, String> {
    ActionDef::builder(ActionType::Flow, "bidi").init_schema(json!({"type": "string"})).build_bidi(
        |mut inputs: genkit_core::InputStream<String>, cx: ActionCx<String>| async move {
            use futures::StreamExt;
            let init = cx.init().and_then(Value::as_str).unwrap_or("-").to_owned();
            let mut out = Vec::new();
            while let Some(i) = inputs.next().await {
                let i = i?;
                cx.send_chunk(i.clone());
                out.push(i);
            }
            Ok(format!("{init}:{}", out.join(",")))
        },
    )
}

pub fn context_of(v: &Value) -> ActionContext {
    serde_json::from_value(v["context"].clone()).unwrap()
}
