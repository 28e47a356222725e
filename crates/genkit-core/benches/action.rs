//! Hot paths of the core runtime: running a no-op action (typed and by JSON, with and
//! without an active span processor) and looking an action up by key.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::FutureExt;
use genkit_core::{ActionContext, ActionCx, ActionDef, ActionType, Registry, RunOptions, Telemetry};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use serde_json::{Value, json};

/// Counts ended spans; stands in for an exporter without I/O.
#[derive(Debug, Default)]
struct Counting(AtomicU64);

impl SpanProcessor for Counting {
    fn on_start(&self, _: &mut Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        black_box(&span);
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn registry(recording: bool) -> Registry {
    let t = Arc::new(Telemetry::new());
    if recording {
        t.add_span_processor(Counting::default());
    }
    Registry::with_parts(ActionContext::default(), t)
}

fn noop(r: &Registry) -> ActionDef<Value, Value> {
    let a = ActionDef::builder(ActionType::Custom, "noop").build(|v: Value, _cx: ActionCx<()>| async move { Ok(v) });
    r.register_action(a.as_action()).unwrap();
    a
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for recording in [false, true] {
        let r = registry(recording);
        let a = noop(&r);
        let erased = a.as_action();
        let label = if recording { "with exporter" } else { "no exporter" };
        c.bench_function(&format!("action run typed ({label})"), |b| {
            b.to_async(&rt).iter(|| async { black_box(a.run(json!("x")).await.unwrap()) });
        });
        c.bench_function(&format!("action run_json ({label})"), |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(erased.run_json(json!({"q": "x"}), RunOptions::new()).await.unwrap()) });
        });
    }
    let r = registry(false);
    for i in 0..500 {
        let a = ActionDef::builder(ActionType::Flow, format!("flow{i}"))
            .build(|v: Value, _cx: ActionCx<()>| async move { Ok(v) });
        r.register_action(a.as_action()).unwrap();
    }
    c.bench_function("registry lookup by key (500 actions)", |b| {
        b.iter(|| black_box(r.lookup_action(black_box("/flow/flow250")).now_or_never().unwrap().unwrap()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
