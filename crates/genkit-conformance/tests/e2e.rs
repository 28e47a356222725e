//! End-to-end runs in-process: the built-in cases against this repo's echo model, a
//! reconstruction of the JS `test/echo` result, a conformant model, and failure paths.

use std::sync::{Arc, Mutex};

use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::{
    Constrained, FinishReason, Message, ModelOptions, ModelResponse, ModelResponseChunk, ModelSupports, Part, Role,
};
use genkit_conformance::testing::{CONFORMANT_MODEL, ECHO_MODEL, register_test_models};
use genkit_conformance::{
    CAPABILITIES, ConformanceOptions, Registry, Report, Suite, TestSpec, parse_suites_yaml, run_suites, run_suites_with,
};
use genkit_core::Error;
use serde_json::json;

fn registry() -> Registry {
    let r = Registry::new();
    register_test_models(&r).unwrap();
    r
}

fn outcome<'a>(report: &'a Report, test: &str) -> &'a genkit_conformance::TestOutcome {
    report.outcomes().find(|o| o.test == test).unwrap_or_else(|| panic!("no outcome for {test}"))
}

fn reason<'a>(report: &'a Report, test: &str) -> &'a str {
    let o = outcome(report, test);
    assert!(!o.passed, "{test} passed");
    o.reason.as_deref().unwrap()
}

/// This repo's echo model answers `"Echo: " + each message's text joined by "\n"` and
/// streams one chunk per message (its text). On the default list it passes only the two
/// multiturn cases.
#[tokio::test(flavor = "current_thread")]
async fn echo_model_on_the_default_list() {
    let report = run_suites(&registry(), &[Suite::for_model(ECHO_MODEL)]).await;
    let passed: Vec<&str> = report.outcomes().filter(|o| o.passed).map(|o| o.test.as_str()).collect();
    assert_eq!(passed, ["Multiturn Conformance", "Multiturn Conformance with streaming"], "{report}");
    assert_eq!(report.summary(), "Tests Completed: 2 Passed, 7 Failed");
    // The order is the --supports order, whatever the completion order.
    let names: Vec<&str> = report.outcomes().map(|o| o.test.as_str()).collect();
    assert_eq!(
        names,
        [
            "Tool Request Conformance",
            "Structured Output Conformance",
            "Multiturn Conformance",
            "System Role Conformance",
            "Image Input (Base64) Conformance",
            "Image Input (URL) Conformance",
            "Multiturn Conformance with streaming",
            "Tool Request Conformance with streaming",
            "Structured Output Conformance with streaming",
        ]
    );
    assert!(reason(&report, "Tool Request Conformance").starts_with("Model did not return a tool request. Content: ["));
    // The model lacks native constrained output, so the JSON instructions are appended to
    // the prompt and echoed back: not JSON.
    let r = reason(&report, "Structured Output Conformance");
    assert!(r.starts_with("Response text is not valid JSON. Text: Echo: Generate a profile for John Doe."), "{r}");
    let r = reason(&report, "System Role Conformance");
    assert!(r.starts_with("Response text does not start with 'RESPONSE:'. Text: Echo: IMPORTANT:"), "{r}");
    // Media parts are not echoed; the prompt texts do not contain the expected words.
    assert_eq!(
        reason(&report, "Image Input (Base64) Conformance"),
        "Response text does not include 'genkit'. Text: Echo: What text do you see in this image?"
    );
    assert_eq!(
        reason(&report, "Image Input (URL) Conformance"),
        "Response text does not include 'google'. Text: Echo: What is this logo?"
    );
    assert_eq!(
        reason(&report, "Tool Request Conformance with streaming"),
        "No tool request found in the streamed chunks"
    );
    let r = reason(&report, "Structured Output Conformance with streaming");
    assert!(r.starts_with("Streamed text is not valid JSON: Generate a movie review for John Wick"), "{r}");
}

/// An echo model that answers the request's messages as JSON text, streamed as one chunk,
/// with native constrained output (as the JS runtime's `test/echo` declares:
/// `constrained: "all"`, `output: ["text", "json"]`).
fn json_echo(name: &str) -> ProgrammableModel {
    let supports = ModelSupports {
        multiturn: Some(true),
        tools: Some(true),
        system_role: Some(true),
        media: Some(true),
        output: Some(vec!["text".into(), "json".into()]),
        constrained: Some(Constrained::All),
        ..ModelSupports::default()
    };
    let pm = ProgrammableModel::with_options(ModelOptions::new(name).label("Echo").supports(supports));
    pm.set_handler(|req, cx| {
        let text = serde_json::to_string(&req.messages).unwrap();
        if cx.streaming_requested() {
            cx.send_chunk(ModelResponseChunk { content: vec![Part::text(text.clone())], ..Default::default() });
        }
        Ok(ModelResponse {
            message: Some(Message::model(text)),
            finish_reason: Some(FinishReason::Stop),
            ..Default::default()
        })
    });
    pm
}

/// `genkit dev:test-model` gave 5 passed / 4 failed on the default list for the JS runtime's
/// `test/echo`. For any model whose answer is derived from the request alone, `system-role`
/// (the answer must start with `RESPONSE:`) and `input-image-base64` (`genkit` is in neither
/// the prompt nor the base64 data) must fail, and so must both tool cases: 4 failures. The 5
/// passes are then forced: both multiturn cases, `input-image-url` (the URL contains
/// `google`), and both structured-output cases, which only pass if the echoed text is JSON.
/// An echo of the messages as JSON reproduces exactly that, as the CLI would print it.
#[tokio::test(flavor = "current_thread")]
async fn js_echo_reconstruction_matches_the_clis_five_four() {
    let r = Registry::new();
    r.register_action(json_echo("test/echo").action().as_action()).unwrap();
    let report = run_suites(&r, &[Suite::for_model("test/echo")]).await;
    assert_eq!(report.summary(), "Tests Completed: 5 Passed, 4 Failed", "{report}");
    let cli = "Testing model: test/echo\n\
        ❌ Failed: Tool Request Conformance - Model did not return a tool request.\n\
        ✅ Passed: Structured Output Conformance\n\
        ✅ Passed: Multiturn Conformance\n\
        ❌ Failed: System Role Conformance - Response text does not start with 'RESPONSE:'.\n\
        ❌ Failed: Image Input (Base64) Conformance - Response text does not include 'genkit'.\n\
        ✅ Passed: Image Input (URL) Conformance\n\
        ✅ Passed: Multiturn Conformance with streaming\n\
        ❌ Failed: Tool Request Conformance with streaming - No tool request found in the streamed chunks\n\
        ✅ Passed: Structured Output Conformance with streaming\n\
        Tests Completed: 5 Passed, 4 Failed\n";
    let expected = Report::from_cli_output(cli);
    assert_eq!((expected.passed(), expected.failed()), (5, 4));
    assert!(report.diff(&expected).is_empty(), "{:?}", report.diff(&expected));
    // The same comparison catches a disagreement.
    let ours = run_suites(&registry(), &[Suite::for_model(ECHO_MODEL)]).await;
    let renamed = Report::from_cli_output(&ours.to_string().replace(ECHO_MODEL, "test/echo"));
    assert_eq!(renamed.diff(&expected).len(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn conformant_model_passes_every_built_in_case() {
    let suite = Suite::for_model(CONFORMANT_MODEL).supports(CAPABILITIES);
    let report = run_suites(&registry(), &[suite]).await;
    assert_eq!(report.summary(), "Tests Completed: 12 Passed, 0 Failed", "{report}");
    assert!(report.is_success());
}

#[tokio::test(flavor = "current_thread")]
async fn yaml_suites_with_custom_tests_and_warnings() {
    let yaml = r"
- model: test/conformant
  supports: [multiturn, reasoning]
  tests:
    - name: Streaming conformance
      stream: true
      input: { messages: [{ role: user, content: [{ text: 'Count to 10' }] }] }
      validators: [text-not-empty, 'stream-text-includes:Count']
    - input: { messages: [{ role: user, content: [{ text: 'hi' }] }] }
      validators: [reasoning]
    - name: Unknown validator
      input: { messages: [{ role: user, content: [{ text: 'hi' }] }] }
      validators: ['nope:1']
- model: /model/test/echo
  tests:
    - name: Config is echoed
      input: { messages: [{ role: user, content: [{ text: 'hi' }] }], config: { temperature: 0.5 } }
      validators: ['text-includes:TEMPERATURE', 'text-starts-with:Echo: hi']
- supports: [multiturn]
";
    let suites = parse_suites_yaml(yaml).unwrap();
    let report = run_suites(&registry(), &suites).await;
    assert_eq!(report.suites[0].warnings, ["Unknown capability: reasoning"]);
    let names: Vec<&str> = report.suites[0].results.iter().map(|o| o.test.as_str()).collect();
    assert_eq!(names, ["Multiturn Conformance", "Streaming conformance", "Custom Test", "Unknown validator"]);
    assert!(outcome(&report, "Streaming conformance").passed);
    assert_eq!(reason(&report, "Custom Test"), "reasoning content not found");
    assert_eq!(reason(&report, "Unknown validator"), "Unknown validator: nope");
    assert!(outcome(&report, "Config is echoed").passed, "{report}");
    assert_eq!(report.suites[1].model, "/model/test/echo");
    assert_eq!(report.suites[2].results[0].reason.as_deref(), Some("Model name required in test suite."));
    assert_eq!(report.summary(), "Tests Completed: 3 Passed, 3 Failed");
    let text = report.to_string();
    assert!(
        text.contains(
            "Testing model: test/conformant\nUnknown capability: reasoning\n✅ Passed: Multiturn Conformance\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("Model name required in test suite.\n--------------------------------------------------\nTests Completed: 3 Passed, 3 Failed\n"));
}

#[tokio::test(flavor = "current_thread")]
async fn missing_model_fails_every_test_of_its_suite() {
    let report =
        run_suites(&registry(), &[Suite::for_model("nope/model").supports(["multiturn", "system-role"])]).await;
    assert_eq!(report.failed(), 2);
    for o in report.outcomes() {
        assert_eq!(o.reason.as_deref(), Some("model action '/model/nope/model' not found in the registry"));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn programmable_model_failure_reasons() {
    let pm = ProgrammableModel::new("test/pm");
    pm.set_handler(|req, _cx| {
        let prompt = req.messages.last().map(Message::text).unwrap_or_default();
        match prompt.as_str() {
            "fail" => Err(Error::new(genkit_core::Status::Unavailable, "the backend is down")),
            // A reasoning part first: the first-part text validators see nothing.
            _ => Ok(ModelResponse {
                message: Some(Message::new(
                    Role::Model,
                    vec![Part::reasoning("The user says Genkit"), Part::text("Genkit")],
                )),
                finish_reason: Some(FinishReason::Stop),
                ..Default::default()
            }),
        }
    });
    let r = Registry::new();
    r.register_action(pm.action().as_action()).unwrap();
    let msg = |t: &str| json!({"messages": [{"role": "user", "content": [{"text": t}]}]});
    let suite = Suite::for_model("test/pm")
        .test(TestSpec::new("Reasoning first", msg("hi")).validator("text-includes:genkit"))
        .test(TestSpec::new("Reasoning present", msg("hi")).validator("reasoning").validator("valid-json"))
        .test(TestSpec::new("Model error", msg("fail")).validator("text-not-empty"))
        .test(TestSpec::new("No chunks", msg("hi")).streaming().validator("text-not-empty"))
        .test(TestSpec::new("Bad input", json!({"messages": 3})));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let opts = ConformanceOptions::new().on_outcome(move |o| s2.lock().unwrap().push(o.test.clone()));
    let report = run_suites_with(&r, &[suite], &opts).await;
    assert_eq!(reason(&report, "Reasoning first"), "Response text does not include 'genkit'. Text: undefined");
    // valid-json looks for the first non-empty text part anywhere: "Genkit" is not JSON.
    assert_eq!(reason(&report, "Reasoning present"), "Response text is not valid JSON. Text: Genkit");
    assert_eq!(reason(&report, "Model error"), "UNAVAILABLE: the backend is down");
    assert_eq!(reason(&report, "No chunks"), "Streaming requested but no chunks received.");
    assert!(reason(&report, "Bad input").starts_with("INVALID_ARGUMENT"), "{report}");
    assert_eq!(seen.lock().unwrap().len(), 5);
    // Every test but the one with an invalid input reached the model.
    assert_eq!(pm.requests().len(), 4);
}
