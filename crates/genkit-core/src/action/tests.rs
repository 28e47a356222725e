use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{ActionType, Error, Registry, Status, current_context};

#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
struct Req {
    name: String,
    count: u32,
}

fn greet() -> ActionDef<Req, String> {
    ActionDef::builder(ActionType::Custom, "greet")
        .description("greets")
        .build(|r: Req, _cx| async move { Ok(format!("hi {} x{}", r.name, r.count)) })
}

#[test]
fn traits_stay_object_safe() {
    fn takes(_: Option<&dyn Action>, _: Option<&dyn crate::DynPlugin>, _: Option<&dyn crate::DynamicActionProvider>) {}
    takes(None, None, None);
}

#[tokio::test]
async fn typed_and_json_runs_agree() {
    let a = greet();
    assert_eq!(a.run(Req { name: "a".into(), count: 2 }).await.unwrap(), "hi a x2");
    let erased = a.as_action();
    let r = erased.run_json(json!({"name": "b", "count": 1}), RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!("hi b x1"));
    assert_eq!(r.telemetry.trace_id.len(), 32);
    assert_eq!(r.telemetry.span_id.len(), 16);
    let m = erased.metadata();
    assert_eq!(&*m.key, "/custom/greet");
    assert_eq!(m.input_schema.as_ref().unwrap()["required"], json!(["name", "count"]));
    assert_eq!(m.output_schema.as_ref().unwrap()["type"], "string");
    assert!(m.stream_schema.is_none());
}

#[tokio::test]
async fn invalid_input_is_invalid_argument_naming_paths() {
    let a = greet().as_action();
    let e = a.run_json(json!({"name": 5}), RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let errors = e.details().unwrap()["errors"].as_array().unwrap().clone();
    let paths: Vec<&str> = errors.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"name") && paths.contains(&"(root)"), "{paths:?}");
    assert!(e.message().starts_with("Schema validation failed. Parse Errors:"));
}

#[tokio::test]
async fn invalid_output_is_invalid_argument() {
    let a: ActionDef<Value, Value> = ActionDef::builder(ActionType::Custom, "bad")
        .output_schema(json!({"type": "object", "required": ["x"]}))
        .build(|_i, _cx| async move { Ok(json!({"y": 1})) });
    let e = a.as_action().run_json(json!(null), RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("- (root): must have required property 'x'"), "{}", e.message());
    // Typed calls are checked too when the schema was written by hand.
    let e = a.run(json!(null)).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn hand_written_input_schema_checks_typed_calls() {
    let a: ActionDef<String, String> = ActionDef::builder(ActionType::Custom, "short")
        .input_schema(json!({"type": "string", "maxLength": 3}))
        .build(|s, _cx| async move { Ok(s) });
    assert_eq!(a.run("abc".into()).await.unwrap(), "abc");
    let e = a.run("abcd".into()).await.unwrap_err();
    assert!(e.message().contains("must NOT have more than 3 characters"));
}

#[tokio::test]
async fn errors_carry_trace_id_and_propagate_unchanged() {
    let a: ActionDef<Value, Value> = ActionDef::builder(ActionType::Custom, "fail")
        .build(|_i, _cx| async move { Err(Error::new(Status::Unavailable, "down").with_details(json!({"k": 1}))) });
    let e = a.run(json!(1)).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert_eq!(e.message(), "down");
    assert_eq!(e.details(), Some(&json!({"k": 1})));
    assert_eq!(e.trace_id().unwrap().len(), 32);
}

#[tokio::test]
async fn streaming_delivers_chunks_in_order_then_output() {
    let counter: ActionDef<u32, u32, u32> =
        ActionDef::builder(ActionType::Custom, "count").build(|n: u32, cx: ActionCx<u32>| async move {
            assert!(cx.streaming_requested());
            for i in 0..n {
                cx.send_chunk(i);
            }
            Ok(n)
        });
    let mut s = counter.stream(4);
    let mut got = vec![];
    while let Some(c) = s.next().await {
        got.push(c.unwrap());
    }
    assert_eq!(got, vec![0, 1, 2, 3]);
    assert_eq!(s.output().await.unwrap(), 4);
    assert_eq!(counter.metadata().stream_schema.as_ref().unwrap()["type"], "integer");

    // The JSON path streams JSON chunks.
    let mut s = counter.as_action().stream_json(json!(2), RunOptions::new());
    let mut got = vec![];
    while let Some(c) = s.next().await {
        got.push(c.unwrap());
    }
    assert_eq!(got, vec![json!(0), json!(1)]);
    assert_eq!(s.output().await.unwrap(), json!(2));

    // Without a consumer, streaming is not requested and chunks go nowhere.
    let quiet: ActionDef<(), bool, u32> =
        ActionDef::builder(ActionType::Custom, "quiet").build(|_: (), cx: ActionCx<u32>| async move {
            cx.send_chunk(1);
            Ok(cx.streaming_requested())
        });
    assert!(!quiet.run(()).await.unwrap());
}

#[tokio::test]
async fn stream_rethrows_the_run_error() {
    let a: ActionDef<(), (), String> =
        ActionDef::builder(ActionType::Custom, "s").build(|_: (), cx: ActionCx<String>| async move {
            cx.send_chunk("one".into());
            Err(Error::new(Status::Aborted, "stopped"))
        });
    let mut s = a.stream(());
    assert_eq!(s.next().await.unwrap().unwrap(), "one");
    assert_eq!(s.next().await.unwrap().unwrap_err().status(), Status::Aborted);
    assert!(s.next().await.is_none());
    assert_eq!(s.output().await.unwrap_err().status(), Status::Aborted);
}

#[tokio::test]
async fn cancellation_reaches_the_action_and_ends_the_run() {
    let token = CancellationToken::new();
    let saw = Arc::new(AtomicUsize::new(0));
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<bool>();
    let seen_tx = Arc::new(std::sync::Mutex::new(Some(seen_tx)));
    let saw2 = saw.clone();
    let a: ActionDef<(), ()> = ActionDef::builder(ActionType::Custom, "slow").build(move |_: (), cx: ActionCx<()>| {
        let saw = saw2.clone();
        let seen_tx = seen_tx.lock().unwrap().take();
        async move {
            // A task that outlives the run watches the token the action got: only the
            // caller's token (not a fresh one) is ever cancelled.
            let tok = cx.cancellation().clone();
            tokio::spawn(async move {
                tok.cancelled().await;
                saw.fetch_add(1, Ordering::SeqCst);
                if let Some(tx) = seen_tx {
                    let _ = tx.send(tok.is_cancelled());
                }
            });
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    let t2 = token.clone();
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        t2.cancel();
    });
    let e = a.run_with((), RunOptions::new().cancellation(token)).await.unwrap_err();
    assert_eq!(e.status(), Status::Cancelled);
    let seen = tokio::time::timeout(std::time::Duration::from_secs(5), seen_rx)
        .await
        .expect("the action's token was never cancelled: it is not the caller's token")
        .unwrap();
    assert!(seen);
    assert_eq!(saw.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_a_caller_token_the_action_gets_one_that_never_fires() {
    let a: ActionDef<(), bool> = ActionDef::builder(ActionType::Custom, "calm")
        .build(|_: (), cx: ActionCx<()>| async move { Ok(cx.cancellation().is_cancelled()) });
    assert!(!a.run(()).await.unwrap());
}

#[tokio::test]
async fn context_precedence_explicit_over_ambient_over_registry() {
    let reg = Registry::with_parts(
        ActionContext::new().with("base", json!(1)).with("who", json!("registry")),
        Arc::new(crate::Telemetry::new()),
    );
    let inner: ActionDef<(), Value> =
        ActionDef::builder(ActionType::Custom, "inner").build(|_: (), cx: ActionCx<()>| async move {
            Ok(json!({"cx": cx.context().as_map(), "ambient": current_context().map(|c| c.as_map().clone())}))
        });
    reg.register_action(inner.as_action()).unwrap();
    let inner2 = inner.clone();
    let outer: ActionDef<bool, Value> =
        ActionDef::builder(ActionType::Custom, "outer").build(move |explicit: bool, _cx: ActionCx<()>| {
            let inner = inner2.clone();
            async move {
                if explicit {
                    let o = RunOptions::new().context(ActionContext::new().with("who", json!("explicit")));
                    Ok(inner.run_with((), o).await?.result)
                } else {
                    inner.run(()).await
                }
            }
        });
    reg.register_action(outer.as_action()).unwrap();
    let caller = ActionContext::new().with("who", json!("caller")).with("auth", json!({"uid": "u"}));
    // Inherited ambient context from the outer call's explicit context.
    let r = outer.run_with(false, RunOptions::new().context(caller.clone())).await.unwrap().result;
    assert_eq!(r["cx"], json!({"base": 1, "who": "caller", "auth": {"uid": "u"}}));
    assert_eq!(r["ambient"]["who"], "caller");
    // Explicit context wins over ambient.
    let r = outer.run_with(true, RunOptions::new().context(caller)).await.unwrap().result;
    assert_eq!(r["cx"], json!({"base": 1, "who": "explicit"}));
    // No explicit context anywhere: registry context only, no ambient context.
    let r = inner.run(()).await.unwrap();
    assert_eq!(r["cx"], json!({"base": 1, "who": "registry"}));
    assert_eq!(r["ambient"], Value::Null);
    assert!(current_context().is_none());
}

#[tokio::test]
async fn on_trace_start_fires_once_with_the_run_ids() {
    let a = greet();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let r = a
        .run_with(
            Req { name: "x".into(), count: 1 },
            RunOptions::new().on_trace_start(move |ids| s2.lock().unwrap().push(ids.clone())),
        )
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![r.telemetry]);
}

#[tokio::test]
async fn middleware_runs_outermost_first_and_may_rewrite() {
    let log = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (l1, l2) = (log.clone(), log.clone());
    let a: ActionDef<String, String> = ActionDef::builder(ActionType::Custom, "mw")
        .middleware(move |i: String, next: Next<String, String, ()>| {
            l1.lock().unwrap().push(format!("outer {i}"));
            async move { Ok(format!("[{}]", next.run(format!("{i}+outer")).await?)) }
        })
        .middleware(move |i: String, next: Next<String, String, ()>| {
            l2.lock().unwrap().push(format!("inner {i}"));
            next.run_with(i, next.cx().clone())
        })
        .build(|i: String, _cx| async move { Ok(i.to_uppercase()) });
    assert_eq!(a.run("x".into()).await.unwrap(), "[X+OUTER]");
    assert_eq!(*log.lock().unwrap(), vec!["outer x", "inner x+outer"]);
    let r = a.as_action().run_json(json!("y"), RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!("[Y+OUTER]"));
    assert_eq!(r.telemetry.trace_id.len(), 32);
}

#[tokio::test]
async fn bidi_actions_stream_both_ways() {
    let echo: ActionDef<String, usize, String> = ActionDef::builder(ActionType::Custom, "chat")
        .init_schema(json!({"type": "object", "required": ["prefix"]}))
        .build_bidi(|mut inputs: InputStream<String>, cx: ActionCx<String>| async move {
            let prefix = cx.init().and_then(|i| i["prefix"].as_str()).unwrap_or("").to_owned();
            let mut n = 0;
            while let Some(msg) = inputs.next().await {
                cx.send_chunk(format!("{prefix}{}", msg?));
                n += 1;
            }
            Ok(n)
        });
    assert_eq!(echo.metadata().metadata_value("bidi"), Some(&json!(true)));
    let mut call = echo.stream_bidi(RunOptions::new().init(json!({"prefix": "> "})));
    call.send("a".into()).unwrap();
    assert_eq!(call.next().await.unwrap().unwrap(), "> a");
    call.send("b".into()).unwrap();
    assert_eq!(call.next().await.unwrap().unwrap(), "> b");
    call.close();
    assert!(call.send("c".into()).is_err());
    assert_eq!(call.output().await.unwrap(), 2);

    // init is validated.
    let bad = echo.stream_bidi(RunOptions::new().init(json!({})));
    assert_eq!(bad.output().await.unwrap_err().status(), Status::InvalidArgument);

    // A unary call sees a one-item input stream; JSON bidi validates every item.
    assert_eq!(echo.run("x".into()).await.unwrap(), 1);
    let items = futures::stream::iter(vec![json!("p"), json!(3)]).boxed();
    let e = echo.as_action().run_bidi_json(items, RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn unary_action_run_as_bidi_takes_the_first_input() {
    let a = greet().as_action();
    let items = futures::stream::iter(vec![json!({"name": "q", "count": 3})]).boxed();
    let r = a.run_bidi_json(items, RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!("hi q x3"));
}

#[tokio::test]
async fn renamed_copies_keep_behaviour() {
    let a = greet().as_action();
    let b = a.renamed("plug/greet").unwrap();
    assert_eq!(b.key(), "/custom/plug/greet");
    assert_eq!(a.key(), "/custom/greet");
    let r = b.run_json(json!({"name": "z", "count": 0}), RunOptions::new()).await.unwrap();
    assert_eq!(r.result, json!("hi z x0"));
}

#[tokio::test]
async fn a_middleware_may_call_next_more_than_once() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let a2 = attempts.clone();
    let traced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (chunks_tx, mut chunks_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    // Retries once on UNAVAILABLE with the same (cloned) options.
    let flaky: ActionDef<String, String, u32> = ActionDef::builder(ActionType::Custom, "flaky")
        .middleware(|i: String, next: Next<String, String, u32>| async move {
            match next.run(i.clone()).await {
                Err(e) if e.status() == Status::Unavailable => next.run(format!("{i} (retry)")).await,
                r => r,
            }
        })
        .build(move |i: String, cx: ActionCx<u32>| {
            let n = a2.fetch_add(1, Ordering::SeqCst) as u32;
            async move {
                cx.send_chunk(n);
                assert_eq!(cx.context().get("k"), Some(&json!("v")));
                if n == 0 { Err(Error::new(Status::Unavailable, "try again")) } else { Ok(i) }
            }
        });
    let t2 = traced.clone();
    let opts = RunOptions::new()
        .context(ActionContext::new().with("k", json!("v")))
        .on_chunk(move |c| {
            let _ = chunks_tx.send(c);
        })
        .on_trace_start(move |ids| t2.lock().unwrap().push(ids.clone()));
    let r = flaky.run_with("x".into(), opts).await.unwrap();
    assert_eq!(r.result, "x (retry)");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    // Both runs streamed into the one sink; the trace-start callback fired for the first.
    assert_eq!((chunks_rx.recv().await, chunks_rx.recv().await), (Some(0), Some(1)));
    let traced = traced.lock().unwrap().clone();
    assert_eq!(traced.len(), 1);
    // The result's ids are those of the successful (last) run.
    assert_eq!(traced[0].trace_id.len(), 32);
    assert_ne!(traced[0], r.telemetry);
}
