//! The middleware example runs and each middleware has its effect.

use genkit::middleware::MiddlewareUse;
use genkit::prelude::*;
use serde_json::json;

#[tokio::test]
async fn demo_shows_each_middleware() {
    let g = example_middleware::build_app().await.unwrap();
    let out = example_middleware::run_demo(&g).await.unwrap();
    assert_eq!(out[0], "by value: You said: *** it, heck, this is fine");
    assert_eq!(out[1], "by name:  You said: *** it, ***, this is fine");
    assert!(out[2].starts_with("without retry: ") && out[2].contains("UNAVAILABLE"), "{out:?}");
    assert!(out[2].contains("overloaded (call 1)"), "{out:?}");
    assert_eq!(out[3], "with retry: answered on call 3");
}

#[tokio::test]
async fn a_bad_config_is_rejected() {
    let g = example_middleware::build_app().await.unwrap();
    let bad = MiddlewareUse::named("censor", Some(json!({"words": 3})));
    let e = g.generate(GenerateOptions::new().model("demo/parrot").prompt("hi").use_middleware(bad)).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("invalid config for middleware 'censor'"), "{e}");
}
