//! Reflection hot paths: turning a finished span into the `TraceData` JSON the telemetry
//! server takes, and a whole `POST /api/runAction` round trip over loopback HTTP.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit_core::{ActionDef, ActionType, Registry};
use genkit_reflection::{Reflection, ReflectionOptions};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use serde_json::json;

fn span() -> SpanData {
    let attrs = vec![
        KeyValue::new("genkit:type", "action"),
        KeyValue::new("genkit:metadata:subtype", "flow"),
        KeyValue::new("genkit:key", "/flow/hello"),
        KeyValue::new("genkit:name", "hello"),
        KeyValue::new("genkit:isRoot", true),
        KeyValue::new("genkit:path", "/{hello,t:flow}"),
        KeyValue::new("genkit:input", "\"world\""),
        KeyValue::new("genkit:output", "\"Hello WORLD\""),
        KeyValue::new("genkit:state", "success"),
        KeyValue::new("genkit:metadata:context", "{}"),
    ];
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(0x3e17_8243_9da3_9c6e_5f1b_e3f9_4669_f709),
            SpanId::from(0x8b0a_ad69_94a0_85d5),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: "hello".into(),
        start_time: std::time::SystemTime::now(),
        end_time: std::time::SystemTime::now(),
        attributes: attrs,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: opentelemetry::InstrumentationScope::builder("genkit-tracer").with_version("v1").build(),
    }
}

fn benches(c: &mut Criterion) {
    let s = span();
    c.bench_function("trace_data (one root span -> JSON bytes)", |b| {
        b.iter(|| serde_json::to_vec(&genkit_reflection::trace_data(black_box(&s), false)));
    });

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (reflection, client) = rt.block_on(async {
        let registry = Registry::new();
        let hello = ActionDef::<String, String, ()>::builder(ActionType::Flow, "hello")
            .build(|name, _cx| async move { Ok(format!("Hello {name}")) });
        registry.register_action(hello.as_action()).unwrap();
        let root = std::env::temp_dir().join(format!("genkit-refl-bench-{}", std::process::id()));
        let opts = ReflectionOptions { project_root: Some(root), handle_signals: false, ..Default::default() };
        (Reflection::start(&registry, opts).await.unwrap(), reqwest::Client::new())
    });
    let url = format!("{}/api/runAction", reflection.url());
    let body = json!({"key": "/flow/hello", "input": "world"}).to_string();
    c.bench_function("runAction round trip (loopback HTTP, no telemetry server)", |b| {
        b.to_async(&rt).iter(|| async {
            let r =
                client.post(&url).header("content-type", "application/json").body(body.clone()).send().await.unwrap();
            black_box(r.bytes().await.unwrap())
        });
    });
    reflection.stop();
}

criterion_group!(reflection, benches);
criterion_main!(reflection);
