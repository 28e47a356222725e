use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::Value as OtelValue;
use opentelemetry::trace::Status as OtelStatus;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor, SpanData};
use serde_json::{Value, json};

use crate::{ActionContext, ActionCx, ActionDef, ActionType, Error, Registry, RunOptions, Status, Telemetry};

fn setup() -> (Registry, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let t = Arc::new(Telemetry::new());
    t.add_span_processor(SimpleSpanProcessor::new(exporter.clone()));
    (Registry::with_parts(ActionContext::default(), t), exporter)
}

fn attrs(s: &SpanData) -> HashMap<String, OtelValue> {
    s.attributes.iter().map(|kv| (kv.key.to_string(), kv.value.clone())).collect()
}

fn s(v: &str) -> OtelValue {
    OtelValue::from(v.to_owned())
}

fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"))
}

#[tokio::test]
async fn flow_and_step_spans_carry_genkit_attributes() {
    let (r, exp) = setup();
    let hello: ActionDef<String, String> =
        ActionDef::builder(ActionType::Flow, "hello").build(|name: String, _cx: ActionCx<()>| async move {
            let up = crate::run("step1", None, async move { Ok(name.to_uppercase()) }).await?;
            Ok(format!("Hello {up}"))
        });
    r.register_action(hello.as_action()).unwrap();
    let res = hello.run_with("world".into(), RunOptions::new()).await.unwrap();
    assert_eq!(res.result, "Hello WORLD");
    let spans = exp.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    let root = span(&spans, "hello");
    let step = span(&spans, "step1");
    assert_eq!(root.span_context.trace_id().to_string(), res.telemetry.trace_id);
    assert_eq!(root.span_context.span_id().to_string(), res.telemetry.span_id);
    assert_eq!(root.instrumentation_scope.name(), "genkit-tracer");
    assert_eq!(root.instrumentation_scope.version(), Some("v1"));
    let a = attrs(root);
    let expected: HashMap<String, OtelValue> = [
        ("genkit:type", s("action")),
        ("genkit:metadata:subtype", s("flow")),
        ("genkit:key", s("/flow/hello")),
        ("genkit:name", s("hello")),
        ("genkit:isRoot", OtelValue::Bool(true)),
        ("genkit:path", s("/{hello,t:flow}")),
        ("genkit:input", s("\"world\"")),
        ("genkit:output", s("\"Hello WORLD\"")),
        ("genkit:state", s("success")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(a, expected);
    let b = attrs(step);
    assert_eq!(step.parent_span_id, root.span_context.span_id());
    assert_eq!(step.span_context.trace_id(), root.span_context.trace_id());
    let expected_step: HashMap<String, OtelValue> = [
        ("genkit:type", s("flowStep")),
        ("genkit:name", s("step1")),
        ("genkit:path", s("/{hello,t:flow}/{step1,t:flowStep}")),
        ("genkit:output", s("\"WORLD\"")),
        ("genkit:state", s("success")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(b, expected_step);
    assert_eq!(root.status, OtelStatus::Unset);
}

#[tokio::test]
async fn nested_actions_get_subtype_decorated_paths() {
    let (r, exp) = setup();
    let model: ActionDef<Value, Value> =
        ActionDef::builder(ActionType::Model, "test/echo").build(|v: Value, _cx: ActionCx<()>| async move { Ok(v) });
    r.register_action(model.as_action()).unwrap();
    let m2 = model.clone();
    let flow: ActionDef<Value, Value> =
        ActionDef::builder(ActionType::Flow, "genFlow").build(move |v: Value, _cx: ActionCx<()>| {
            let m = m2.clone();
            async move { m.run(v).await }
        });
    r.register_action(flow.as_action()).unwrap();
    flow.run(json!({"a": 1})).await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    let m = attrs(span(&spans, "test/echo"));
    assert_eq!(m["genkit:path"], s("/{genFlow,t:flow}/{test/echo,t:action,s:model}"));
    assert!(!m.contains_key("genkit:isRoot"));
    assert_eq!(m["genkit:input"], s("{\"a\":1}"));
    // Run on its own, the model is a root with an undecorated path.
    exp.reset();
    model.run(json!(1)).await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    assert_eq!(attrs(&spans[0])["genkit:path"], s("/{test/echo,t:action}"));
}

#[tokio::test]
async fn errors_mark_only_the_innermost_span_as_failure_source() {
    let (r, exp) = setup();
    let inner: ActionDef<Value, Value> = ActionDef::builder(ActionType::Tool, "inner")
        .build(|_v: Value, _cx: ActionCx<()>| async move { Err(Error::new(Status::NotFound, "boom")) });
    r.register_action(inner.as_action()).unwrap();
    let i2 = inner.clone();
    let outer: ActionDef<Value, Value> =
        ActionDef::builder(ActionType::Flow, "outer").build(move |v: Value, _cx: ActionCx<()>| {
            let i = i2.clone();
            async move { i.run(v).await }
        });
    r.register_action(outer.as_action()).unwrap();
    let e = outer.run(json!(1)).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    let spans = exp.get_finished_spans().unwrap();
    let (i, o) = (span(&spans, "inner"), span(&spans, "outer"));
    let (ia, oa) = (attrs(i), attrs(o));
    assert_eq!(ia["genkit:state"], s("error"));
    assert_eq!(oa["genkit:state"], s("error"));
    assert_eq!(ia.get("genkit:isFailureSource"), Some(&OtelValue::Bool(true)));
    assert!(!oa.contains_key("genkit:isFailureSource"));
    assert!(!ia.contains_key("genkit:output"));
    assert_eq!(i.status, OtelStatus::error("NOT_FOUND: boom"));
    let ev = i.events.iter().next().unwrap();
    assert_eq!(ev.name, "exception");
    let ev_attrs: HashMap<String, OtelValue> =
        ev.attributes.iter().map(|kv| (kv.key.to_string(), kv.value.clone())).collect();
    assert_eq!(ev_attrs["exception.message"], s("NOT_FOUND: boom"));
    assert_eq!(e.trace_id().unwrap(), o.span_context.trace_id().to_string());
}

#[tokio::test]
async fn auth_and_secrets_are_redacted_and_labels_recorded() {
    let (r, exp) = setup();
    let a: ActionDef<Value, Value> = ActionDef::builder(ActionType::Flow, "ctx")
        .build(|_v: Value, cx: ActionCx<()>| async move { Ok(json!(cx.context().auth().is_some())) });
    r.register_action(a.as_action()).unwrap();
    let cx = ActionContext::new()
        .with("auth", json!({"token": "tok-SECRET"}))
        .with("secrets", json!({"apiKey": "sk-SECRET"}))
        .with("locale", json!("en"));
    let out = a.run_with(json!(null), RunOptions::new().context(cx).telemetry_label("batchRun", "true")).await.unwrap();
    assert_eq!(out.result, json!(true));
    let spans = exp.get_finished_spans().unwrap();
    let at = attrs(&spans[0]);
    assert_eq!(at["genkit:metadata:context"], s(r#"{"auth":"<redacted>","secrets":"<redacted>","locale":"en"}"#));
    assert_eq!(at["batchRun"], s("true"));
    let everything = format!("{:?}", spans);
    assert!(!everything.contains("SECRET"));
}

#[tokio::test]
async fn no_processor_means_ids_but_no_recording() {
    let r = Registry::new();
    assert!(!r.telemetry().is_recording());
    let a: ActionDef<u8, u8> =
        ActionDef::builder(ActionType::Flow, "n").build(|v: u8, _cx: ActionCx<()>| async move { Ok(v) });
    r.register_action(a.as_action()).unwrap();
    let res = a.run_with(1, RunOptions::new()).await.unwrap();
    assert_ne!(res.telemetry.trace_id, "0".repeat(32));
    // A processor attached later sees later spans.
    let exp = InMemorySpanExporter::default();
    r.telemetry().add_span_processor(SimpleSpanProcessor::new(exp.clone()));
    a.run(2).await.unwrap();
    assert_eq!(exp.get_finished_spans().unwrap().len(), 1);
    r.telemetry().flush().unwrap();
}

/// An exporter on the process-wide telemetry (shared by every test of this binary: look
/// spans up by a unique name).
fn global_exporter() -> InMemorySpanExporter {
    static EXPORTER: std::sync::OnceLock<InMemorySpanExporter> = std::sync::OnceLock::new();
    EXPORTER
        .get_or_init(|| {
            let exp = InMemorySpanExporter::default();
            Telemetry::global().add_span_processor(SimpleSpanProcessor::new(exp.clone()));
            exp
        })
        .clone()
}

#[tokio::test]
async fn steps_outside_actions_open_root_flow_step_spans() {
    let exp = global_exporter();
    let out = crate::run("free-step-x5", Some(&json!({"q": 1})), async {
        // Work inside the step nests under it.
        assert!(crate::current_trace_ids().is_some());
        Ok::<_, Error>(json!({"n": 1}))
    })
    .await
    .unwrap();
    assert_eq!(out, json!({"n": 1}));
    let spans = exp.get_finished_spans().unwrap();
    let step = span(&spans, "free-step-x5");
    assert_eq!(step.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    let expected: HashMap<String, OtelValue> = [
        ("genkit:type", s("flowStep")),
        ("genkit:name", s("free-step-x5")),
        ("genkit:isRoot", OtelValue::Bool(true)),
        ("genkit:path", s("/{free-step-x5,t:flowStep}")),
        ("genkit:input", s("{\"q\":1}")),
        ("genkit:output", s("{\"n\":1}")),
        ("genkit:state", s("success")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(attrs(step), expected);
    assert!(crate::current_trace_ids().is_none());

    // A failing root step is recorded as the failure source; no input when none was given.
    let e =
        crate::run("free-fail-x5", None, async { Err::<(), _>(Error::new(Status::Aborted, "no")) }).await.unwrap_err();
    assert_eq!(e.status(), Status::Aborted);
    let spans = exp.get_finished_spans().unwrap();
    let a = attrs(span(&spans, "free-fail-x5"));
    assert_eq!(a["genkit:state"], s("error"));
    assert_eq!(a["genkit:isRoot"], OtelValue::Bool(true));
    assert_eq!(a.get("genkit:isFailureSource"), Some(&OtelValue::Bool(true)));
    assert!(!a.contains_key("genkit:input") && !a.contains_key("genkit:output"));
}

#[tokio::test]
async fn spawned_work_keeps_the_trace() {
    let (r, exp) = setup();
    let a: ActionDef<(), ()> =
        ActionDef::builder(ActionType::Flow, "spawner").build(|_: (), _cx: ActionCx<()>| async move {
            let h = tokio::spawn(crate::propagate(async {
                crate::run("in-task", Some(&json!({"q": 1})), async { Ok::<_, Error>(()) }).await
            }));
            h.await.map_err(Error::internal)??;
            Ok(())
        });
    r.register_action(a.as_action()).unwrap();
    a.run(()).await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    let t = span(&spans, "in-task");
    assert_eq!(t.parent_span_id, span(&spans, "spawner").span_context.span_id());
    let ta = attrs(t);
    assert_eq!(ta["genkit:input"], s("{\"q\":1}"));
    assert!(!ta.contains_key("genkit:isRoot"));
}

#[tokio::test]
async fn bidi_runs_record_init_on_the_span() {
    use futures::StreamExt;
    let (r, exp) = setup();
    let chat: ActionDef<String, usize, String> = ActionDef::builder(ActionType::Flow, "chat")
        .init_schema(json!({"type": "object", "required": ["prefix"]}))
        .build_bidi(|mut inputs: crate::InputStream<String>, cx: ActionCx<String>| async move {
            let mut n = 0;
            while let Some(i) = inputs.next().await {
                cx.send_chunk(i?);
                n += 1;
            }
            Ok(n)
        });
    r.register_action(chat.as_action()).unwrap();
    let init = json!({"prefix": "> ", "config": {"apiKey": "sk-SECRET"}});
    let mut call = chat.stream_bidi(RunOptions::new().init(init));
    call.send("a".into()).unwrap();
    assert_eq!(call.next().await.unwrap().unwrap(), "a");
    assert_eq!(call.output().await.unwrap(), 1);
    // A unary run of the same action without init records none.
    assert_eq!(chat.run("b".into()).await.unwrap(), 1);
    let spans = exp.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    let unary = attrs(&spans[1]);
    assert!(!unary.contains_key("genkit:init"));
    assert_eq!(unary["genkit:input"], s("\"b\""));
    let a = attrs(&spans[0]);
    assert_eq!(a["genkit:init"], s(r#"{"prefix":"> ","config":{"apiKey":"<redacted>"}}"#));
    assert_eq!(a["genkit:state"], s("success"));
    assert!(!a.contains_key("genkit:input"));
    assert!(!format!("{spans:?}").contains("sk-SECRET"));
    // Through the JSON bidi path too, and also when the run fails.
    exp.reset();
    let items = futures::stream::iter(vec![json!("p"), json!(3)]).boxed();
    let e = chat.as_action().run_bidi_json(items, RunOptions::new().init(json!({"prefix": ""}))).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let spans = exp.get_finished_spans().unwrap();
    let a = attrs(&spans[0]);
    assert_eq!(a["genkit:init"], s(r#"{"prefix":""}"#));
    assert_eq!(a["genkit:state"], s("error"));
}

#[tokio::test]
async fn api_keys_in_inputs_and_outputs_never_reach_spans() {
    let (r, exp) = setup();
    let model: ActionDef<Value, Value> = ActionDef::builder(ActionType::Model, "m")
        .build(|req: Value, _cx: ActionCx<()>| async move { Ok(json!({"echo": req, "api_key": "sk-out"})) });
    r.register_action(model.as_action()).unwrap();
    let input = json!({"messages": [], "config": {"apiKey": "sk-secret", "temperature": 1}});
    model.run_with(input, RunOptions::new()).await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    let a = attrs(span(&spans, "m"));
    let i = a["genkit:input"].to_string();
    let o = a["genkit:output"].to_string();
    assert!(!i.contains("sk-secret") && i.contains("<redacted>") && i.contains("temperature"), "{i}");
    assert!(!o.contains("sk-secret") && !o.contains("sk-out"), "{o}");
    assert_eq!(crate::redact::redact_secrets_in_text("\"plain\"".into()), "\"plain\"");
}

#[tokio::test]
async fn labelled_spans_carry_their_labels_as_plain_attributes() {
    let exporter = InMemorySpanExporter::default();
    let t = Arc::new(Telemetry::new());
    t.add_span_processor(SimpleSpanProcessor::new(exporter.clone()));
    let labels = [("genkit:sessionId", "s1"), ("genkit:threadName", "main")];
    let out = crate::run_span_with_labels(&t, "send", "helper", &labels, || Some("\"hi\"".into()), async {
        Ok::<_, Error>(1)
    })
    .await
    .unwrap();
    assert_eq!(out, 1);
    let spans = exporter.get_finished_spans().unwrap();
    let a = attrs(span(&spans, "send"));
    assert_eq!(a["genkit:type"], s("helper"));
    assert_eq!(a["genkit:sessionId"], s("s1"));
    assert_eq!(a["genkit:threadName"], s("main"));
    assert_eq!(a["genkit:input"], s("\"hi\""));
    assert_eq!(a["genkit:output"], s("1"));
    assert!(!a.keys().any(|k| k.starts_with("genkit:metadata:")));
}
