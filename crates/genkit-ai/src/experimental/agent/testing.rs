//! The agent conformance spec runner (Genkit's language-neutral `agent-spec.yaml`, the 39
//! cases JS, Go, Python and Dart run) and the harness it needs: a programmable model named
//! `programmableModel`, the tools `testTool`, `interruptTool` and `restartTool`, five prompt
//! agents and seven custom agents ([`SpecHarness::define`]).
//!
//! The runner speaks to agents through an [`AgentSpecDriver`], so the same cases run through
//! the Rust API ([`InProcessDriver`]) or any transport (the reflection API, the flow server):
//! implement the driver over the transport, define the harness in the serving process with
//! [`SpecHarness::define`], and call [`run_agent_spec`] with the parsed YAML.
//!
//! Comparison rules (as the JS harness applies them): stream chunks match in order and in
//! number, `turnEnd` by presence and `finishReason`, other chunks by subset; state by subset
//! with arrays as ordered subsequences; `output.message` by the same containment (the spec's
//! interrupt cases list only the content); error statuses exactly and messages by substring.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use genkit_core::{ActionContext, Error, Registry, Result, RunOptions, Status};
use serde_json::{Value, json};

use super::{
    Agent, AgentFnCx, AgentInit, AgentInput, AgentOptions, AgentResult, SessionRunner, TurnResult, define_agent,
    define_custom_agent,
};
use crate::experimental::session::{Artifact, InMemorySessionStore, SessionStore, SnapshotQuery};
use crate::model::testing::ProgrammableModel;
use crate::prompt::PromptConfig;
use crate::tool::ToolConfig;
use crate::{Message, ModelResponse, ModelResponseChunk, Part};

/// What a `send` step got back: the streamed chunks and the output (or the error the run
/// failed with), as wire JSON.
#[derive(Debug)]
pub struct SendOutcome {
    /// The chunks, in order.
    pub chunks: Vec<Value>,
    /// The `AgentOutput`, or the error.
    pub output: Result<Value>,
}

/// How the spec runner reaches agents. All values are wire JSON, so a driver over HTTP only
/// forwards them.
pub trait AgentSpecDriver: Send + Sync {
    /// Queues the programmable model's answers for the next `generate` calls: `responses[i]`
    /// (a `ModelResponse`) after streaming `chunks[i]` (`ModelResponseChunk`s), forgetting
    /// anything queued before.
    fn program_model(&self, responses: Vec<Value>, chunks: Vec<Vec<Value>>) -> Result<()>;

    /// Runs the agent from `init` over `inputs` (input closed after the last).
    fn send<'a>(&'a self, agent: &'a str, init: Value, inputs: Vec<Value>) -> BoxFuture<'a, SendOutcome>;

    /// The agent's snapshot by id or session (the store's view, JS `getSnapshotData`); `None`
    /// when there is none.
    fn get_snapshot<'a>(
        &'a self,
        agent: &'a str,
        snapshot_id: Option<&'a str>,
        session_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Value>>>;

    /// Aborts the snapshot's run; the status before (`None` when there is no snapshot).
    fn abort<'a>(&'a self, agent: &'a str, snapshot_id: &'a str) -> BoxFuture<'a, Result<Option<String>>>;
}

/// The spec's harness, defined in one registry: the programmable model, the tools and the
/// twelve agents.
#[derive(Clone)]
pub struct SpecHarness {
    model: ProgrammableModel,
    agents: Arc<HashMap<String, Agent>>,
}

impl fmt::Debug for SpecHarness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpecHarness").field("agents", &self.agents.len()).finish()
    }
}

fn custom<F, Fut>(registry: &Registry, name: &str, store: bool, f: F) -> Result<(String, Agent)>
where
    F: Fn(SessionRunner, AgentFnCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AgentResult>> + Send + 'static,
{
    let mut opts = AgentOptions::new(name);
    if store {
        opts = opts.store(Arc::new(InMemorySessionStore::new()) as Arc<dyn SessionStore>);
    }
    Ok((name.to_owned(), define_custom_agent(registry, opts, f)?))
}

fn done() -> AgentResult {
    AgentResult { message: Some(Message::model("done")), ..AgentResult::default() }
}

async fn counter_agent(sess: SessionRunner) -> Result<AgentResult> {
    sess.run(|_, _| {
        let sess = sess.clone();
        async move {
            let prev = sess.custom().and_then(|c| c.get("counter").and_then(Value::as_i64)).unwrap_or(0);
            sess.update_custom(|_| json!({"counter": prev + 1}));
            Ok(TurnResult::default())
        }
    })
    .await?;
    Ok(done())
}

impl SpecHarness {
    /// Defines the harness in `registry` (as the spec's header and Genkit's
    /// `agents-conformance-testing.md` describe it).
    ///
    /// # Errors
    /// Registration errors.
    pub fn define(registry: &Registry) -> Result<SpecHarness> {
        let model = ProgrammableModel::new("programmableModel");
        registry.register_action(model.action().as_action())?;

        let test_tool = crate::tool::new(
            ToolConfig::new("testTool", "A simple test tool").input_schema(json!({"type": "object"})),
            |_: Value, _| async move { Ok(json!("tool called")) },
        );
        registry.register_action(test_tool.as_action())?;
        let interrupt_tool = crate::tool::interrupt::<Value, Value>(
            ToolConfig::new("interruptTool", "An interrupt tool")
                .input_schema(
                    json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
                )
                .output_schema(
                    json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}),
                ),
            |_| None,
        );
        registry.register_action(interrupt_tool.as_action())?;
        let restart_tool = crate::tool::new(
            ToolConfig::new("restartTool", "A tool that requires confirmation before executing")
                .input_schema(
                    json!({"type": "object", "properties": {"action": {"type": "string"}}, "required": ["action"]}),
                )
                .output_schema(
                    json!({"type": "object", "properties": {"result": {"type": "string"}}, "required": ["result"]}),
                ),
            |input: Value, cx| async move {
                if cx.resumed().is_none() {
                    return Err(cx.interrupt(json!({"requiresConfirmation": true})));
                }
                let action = input.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(json!({"result": format!("confirmed: {action}")}))
            },
        );
        registry.register_action(restart_tool.as_action())?;

        let mut agents = HashMap::new();
        let store = || Arc::new(InMemorySessionStore::new()) as Arc<dyn SessionStore>;
        for (name, tools, with_store) in [
            ("promptAgent", &[][..], false),
            ("promptAgentWithStore", &[][..], true),
            ("promptAgentWithTools", &["testTool"][..], false),
            ("promptAgentWithInterrupt", &["interruptTool"][..], true),
            ("promptAgentWithRestartTool", &["restartTool"][..], true),
        ] {
            let prompt = PromptConfig::new(name)
                .model("programmableModel")
                .config(json!({"temperature": 1}))
                .tools(tools.iter().copied());
            let mut opts = AgentOptions::default();
            if with_store {
                opts = opts.store(store());
            }
            agents.insert(name.to_owned(), define_agent(registry, prompt, opts)?);
        }

        let customs = [
            custom(registry, "customAgentBlocking", true, |sess: SessionRunner, cx: AgentFnCx| async move {
                sess.run(|_, _| {
                    let token = cx.cancellation().clone();
                    async move {
                        token.cancelled().await;
                        Ok(TurnResult::default())
                    }
                })
                .await?;
                Ok(AgentResult { message: Some(Message::model("unblocked")), ..AgentResult::default() })
            })?,
            custom(registry, "customAgentFailing", true, |sess: SessionRunner, _| async move {
                sess.run(|_, _| async { Err(Error::internal("intentional failure")) }).await?;
                Ok(AgentResult { message: Some(Message::model("unreachable")), ..AgentResult::default() })
            })?,
            custom(registry, "customAgentWithArtifacts", false, |sess: SessionRunner, _| async move {
                sess.run(|_, _| {
                    let sess = sess.clone();
                    async move {
                        sess.add_artifacts([Artifact::new("doc1", vec![Part::text("v1")])]);
                        sess.add_artifacts([Artifact::new("doc1", vec![Part::text("v2")])]);
                        sess.add_artifacts([Artifact::new("doc2", vec![Part::text("other")])]);
                        Ok(TurnResult::default())
                    }
                })
                .await?;
                Ok(AgentResult { artifacts: Some(sess.artifacts()), ..done() })
            })?,
            custom(registry, "customAgentWithCustomState", false, |sess: SessionRunner, _| counter_agent(sess))?,
            custom(registry, "customAgentWithMultiCustomState", false, |sess: SessionRunner, _| async move {
                sess.run(|_, _| {
                    let sess = sess.clone();
                    async move {
                        sess.update_custom(|_| json!({"counter": 1, "status": "working"}));
                        sess.update_custom(|prev| merge(prev, json!({"counter": 2})));
                        sess.update_custom(|prev| merge(prev, json!({"status": "done"})));
                        Ok(TurnResult::default())
                    }
                })
                .await?;
                Ok(done())
            })?,
            custom(registry, "customAgentWithArtifactsStore", true, |sess: SessionRunner, _| async move {
                sess.run(|_, _| {
                    let sess = sess.clone();
                    async move {
                        let n = sess.artifacts().len() + 1;
                        sess.add_artifacts([Artifact::new(format!("doc{n}"), vec![Part::text(format!("content{n}"))])]);
                        Ok(TurnResult::default())
                    }
                })
                .await?;
                Ok(AgentResult { artifacts: Some(sess.artifacts()), ..done() })
            })?,
            custom(registry, "customAgentWithCustomStateStore", true, |sess: SessionRunner, _| counter_agent(sess))?,
        ];
        agents.extend(customs);
        Ok(SpecHarness { model, agents: Arc::new(agents) })
    }

    /// The programmable model.
    pub fn model(&self) -> &ProgrammableModel {
        &self.model
    }

    /// The agent `name`.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.get(name)
    }

    /// Queues the model's answers (see [`AgentSpecDriver::program_model`]).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for answers that are not a `ModelResponse` or chunk.
    pub fn program_model(&self, responses: Vec<Value>, chunks: Vec<Vec<Value>>) -> Result<()> {
        self.model.reset();
        let mut chunks = chunks.into_iter();
        for r in responses {
            let resp: ModelResponse = serde_json::from_value(r)
                .map_err(|e| Error::invalid_argument(format!("a modelResponses entry is invalid: {e}")))?;
            let cs: Vec<ModelResponseChunk> = chunks
                .next()
                .unwrap_or_default()
                .into_iter()
                .map(serde_json::from_value)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::invalid_argument(format!("a streamChunks entry is invalid: {e}")))?;
            self.model.respond_streaming(cs, resp);
        }
        Ok(())
    }
}

fn merge(prev: Option<Value>, patch: Value) -> Value {
    let mut out = prev.filter(Value::is_object).unwrap_or_else(|| json!({}));
    if let (Some(o), Value::Object(p)) = (out.as_object_mut(), patch) {
        o.extend(p);
    }
    out
}

/// Runs the spec through the Rust API: each run goes through the agent's typed bidi
/// action, snapshot reads and aborts through [`Agent::get_snapshot_data`] and
/// [`Agent::abort`] (JS `agent.getSnapshotData`, `agent.abort`).
#[derive(Debug, Clone)]
pub struct InProcessDriver {
    harness: SpecHarness,
}

impl InProcessDriver {
    /// A driver over a fresh registry with the harness defined in it.
    ///
    /// # Errors
    /// As [`SpecHarness::define`].
    pub fn new() -> Result<InProcessDriver> {
        Ok(InProcessDriver { harness: SpecHarness::define(&Registry::new())? })
    }

    /// A driver over a harness already defined.
    pub fn with_harness(harness: SpecHarness) -> InProcessDriver {
        InProcessDriver { harness }
    }

    fn agent(&self, name: &str) -> Result<&Agent> {
        self.harness.agent(name).ok_or_else(|| Error::not_found(format!("the harness has no agent '{name}'")))
    }
}

fn to_json<T: serde::Serialize>(t: &T) -> Result<Value> {
    serde_json::to_value(t).map_err(|e| Error::internal(e.to_string()))
}

impl AgentSpecDriver for InProcessDriver {
    fn program_model(&self, responses: Vec<Value>, chunks: Vec<Vec<Value>>) -> Result<()> {
        self.harness.program_model(responses, chunks)
    }

    fn send<'a>(&'a self, agent: &'a str, init: Value, inputs: Vec<Value>) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            let fail = |e| SendOutcome { chunks: Vec::new(), output: Err(e) };
            let agent = match self.agent(agent) {
                Ok(a) => a,
                Err(e) => return fail(e),
            };
            let init: AgentInit = match serde_json::from_value(init) {
                Ok(i) => i,
                Err(e) => return fail(Error::invalid_argument(format!("invalid init: {e}"))),
            };
            let mut bidi = agent.stream_bidi(&init, RunOptions::default());
            for i in inputs {
                let input: AgentInput = match serde_json::from_value(i) {
                    Ok(i) => i,
                    Err(e) => return fail(Error::invalid_argument(format!("invalid input: {e}"))),
                };
                if let Err(e) = bidi.send(input) {
                    return fail(e);
                }
            }
            bidi.close();
            let mut chunks = Vec::new();
            while let Some(c) = bidi.next().await {
                match c.and_then(|c| to_json(&c)) {
                    Ok(c) => chunks.push(c),
                    Err(e) => return SendOutcome { chunks, output: Err(e) },
                }
            }
            let output = bidi.output().await.and_then(|o| to_json(&o));
            SendOutcome { chunks, output }
        })
    }

    fn get_snapshot<'a>(
        &'a self,
        agent: &'a str,
        snapshot_id: Option<&'a str>,
        session_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            let query = SnapshotQuery::from_ids(snapshot_id, session_id)?;
            let snap = self.agent(agent)?.get_snapshot_data(&query, &ActionContext::new()).await?;
            snap.map(|s| to_json(&s)).transpose()
        })
    }

    fn abort<'a>(&'a self, agent: &'a str, snapshot_id: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let status = self.agent(agent)?.abort(snapshot_id, &ActionContext::new()).await?;
            Ok(status.map(|s| s.as_str().to_owned()))
        })
    }
}

/// The result of running the spec: each case's name and its failure, if any.
#[derive(Debug, Default)]
pub struct SpecReport {
    /// `(case name, Err(why))` per case, in spec order.
    pub cases: Vec<(String, std::result::Result<(), String>)>,
}

impl SpecReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|(_, r)| r.is_ok()).count()
    }

    /// How many cases ran.
    pub fn total(&self) -> usize {
        self.cases.len()
    }
}

impl fmt::Display for SpecReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, r) in &self.cases {
            match r {
                Ok(()) => writeln!(f, "PASS {name}")?,
                Err(e) => writeln!(f, "FAIL {name}: {e}")?,
            }
        }
        write!(f, "{}/{} agent spec cases passed", self.passed(), self.total())
    }
}

/// Runs every case of the parsed spec (`{tests: [...]}`), each with a fresh driver from
/// `new_driver` (as the JS harness builds a fresh registry per case), and reports each.
/// Cases that `require` capabilities are skipped (none of this runtime's are declared).
pub async fn run_agent_spec<D, F, Fut>(spec: &Value, mut new_driver: F) -> SpecReport
where
    D: AgentSpecDriver,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<D>>,
{
    let mut report = SpecReport::default();
    let Some(tests) = spec.get("tests").and_then(Value::as_array) else {
        report.cases.push(("<spec>".into(), Err("the spec has no `tests` list".into())));
        return report;
    };
    for case in tests {
        let name = case.get("name").and_then(Value::as_str).unwrap_or("<unnamed>").to_owned();
        if case.get("requires").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) {
            continue;
        }
        let result = match new_driver().await {
            Ok(d) => run_case(case, &d).await,
            Err(e) => Err(format!("cannot set up the driver: {e}")),
        };
        report.cases.push((name, result));
    }
    report
}

type Check = std::result::Result<(), String>;

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Check {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Runs one spec case through `driver`.
///
/// # Errors
/// What differed from the spec, with the step number.
pub async fn run_case(case: &Value, driver: &dyn AgentSpecDriver) -> Check {
    let agent = case.get("agent").and_then(Value::as_str).ok_or("the case names no agent")?;
    let mut captures: HashMap<String, Value> = HashMap::new();
    for (i, step) in case.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let kind = step.get("type").and_then(Value::as_str).unwrap_or_default();
        let resolved = resolve_templates(step, &captures).map_err(|e| format!("step {i} ({kind}): {e}"))?;
        let r = match kind {
            "send" => send_step(driver, agent, step, &resolved, &mut captures).await,
            "getSnapshotData" => snapshot_step(driver, agent, &resolved).await,
            "abort" => abort_step(driver, agent, &resolved).await,
            "waitUntilCompleted" => wait_step(driver, agent, &resolved).await,
            other => Err(format!("unknown step type '{other}'")),
        };
        r.map_err(|e| format!("step {i} ({kind}): {e}"))?;
    }
    Ok(())
}

/// Replaces `{{name}}` references with captured values (whole strings become the value,
/// embedded ones its text).
fn resolve_templates(v: &Value, captures: &HashMap<String, Value>) -> std::result::Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
                && !name.contains('{')
            {
                return captures.get(name).cloned().ok_or_else(|| format!("template '{{{{{name}}}}}' not captured"));
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                let Some(end) = rest[start..].find("}}") else { break };
                let name = &rest[start + 2..start + end];
                let value = captures.get(name).ok_or_else(|| format!("template '{{{{{name}}}}}' not captured"))?;
                out.push_str(&rest[..start]);
                match value {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                rest = &rest[start + end + 2..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| resolve_templates(x, captures)).collect::<std::result::Result<_, _>>()?)
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), resolve_templates(x, captures)?)))
                .collect::<std::result::Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// `actual` contains `expected`: objects by their listed keys, arrays as ordered
/// subsequences, anything else by equality (JS `assertContains`).
fn contains(actual: &Value, expected: &Value, path: &str) -> Check {
    match expected {
        Value::Null => Ok(()),
        Value::Array(items) => {
            let Some(actual) = actual.as_array() else {
                return Err(format!("expected an array at {path}, got {actual}"));
            };
            let mut at = 0;
            for (i, want) in items.iter().enumerate() {
                let mut found = false;
                while at < actual.len() {
                    let ok = contains(&actual[at], want, &format!("{path}[{at}]")).is_ok();
                    at += 1;
                    if ok {
                        found = true;
                        break;
                    }
                }
                ensure(found, || {
                    format!("expected item {path}[{i}] = {want} not found in {}", Value::Array(actual.clone()))
                })?;
            }
            Ok(())
        }
        Value::Object(fields) => {
            let Some(obj) = actual.as_object() else {
                return Err(format!("expected an object at {path}, got {actual}"));
            };
            for (k, want) in fields {
                contains(obj.get(k).unwrap_or(&Value::Null), want, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        scalar => ensure(actual == scalar, || format!("mismatch at {path}: expected {scalar}, got {actual}")),
    }
}

fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn non_empty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

fn check_error_contains(actual: Option<&Value>, expected: &Value, what: &str) -> Check {
    let actual = actual.filter(|a| !a.is_null()).ok_or_else(|| format!("expected {what} to have an error"))?;
    if let Some(status) = str_field(expected, "status") {
        ensure(str_field(actual, "status") == Some(status), || {
            format!("expected {what}.error.status {status}, got {actual}")
        })?;
    }
    if let Some(msg) = str_field(expected, "message") {
        ensure(str_field(actual, "message").is_some_and(|m| m.contains(msg)), || {
            format!("expected {what}.error.message to contain '{msg}', got {actual}")
        })?;
    }
    Ok(())
}

async fn send_step(
    driver: &dyn AgentSpecDriver,
    agent: &str,
    raw: &Value,
    step: &Value,
    captures: &mut HashMap<String, Value>,
) -> Check {
    let responses = step.get("modelResponses").and_then(Value::as_array);
    let chunks = step.get("streamChunks").and_then(Value::as_array);
    if responses.is_some() || chunks.is_some() {
        let chunks: Vec<Vec<Value>> =
            chunks.into_iter().flatten().map(|c| c.as_array().cloned().unwrap_or_default()).collect();
        driver
            .program_model(responses.cloned().unwrap_or_default(), chunks)
            .map_err(|e| format!("cannot program the model: {e}"))?;
    }
    let init = step.get("init").cloned().filter(|i| !i.is_null()).unwrap_or_else(|| json!({}));
    let inputs = step.get("inputs").and_then(Value::as_array).cloned().unwrap_or_default();
    let outcome = driver.send(agent, init, inputs).await;

    if let Some(expect) = step.get("expectError") {
        let Err(e) = outcome.output else {
            return Err(format!("expected the run to fail, it resolved: {:?}", outcome.output));
        };
        if let Some(status) = str_field(expect, "status") {
            ensure(e.status().as_str() == status, || format!("expected error status {status}, got {e}"))?;
        }
        if let Some(msg) = str_field(expect, "message") {
            ensure(e.message().contains(msg), || format!("expected the error to contain '{msg}', got {e}"))?;
        }
        return Ok(());
    }
    let output = outcome.output.map_err(|e| format!("the run failed: {e}"))?;

    if let Some(expected) = step.get("expectChunks").and_then(Value::as_array) {
        let got = &outcome.chunks;
        ensure(got.len() == expected.len(), || {
            format!("expected {} chunks, got {}: {}", expected.len(), got.len(), Value::Array(got.clone()))
        })?;
        for (i, (want, have)) in expected.iter().zip(got).enumerate() {
            if let Some(te) = want.get("turnEnd") {
                let actual = have.get("turnEnd").ok_or_else(|| format!("chunk {i}: expected turnEnd, got {have}"))?;
                if let Some(fr) = te.get("finishReason").filter(|f| !f.is_null()) {
                    ensure(actual.get("finishReason") == Some(fr), || {
                        format!("chunk {i}: expected turnEnd.finishReason {fr}, got {actual}")
                    })?;
                }
            } else {
                let mut matched = false;
                for key in ["modelChunk", "artifact", "customPatch"] {
                    if let Some(w) = want.get(key) {
                        contains(have.get(key).unwrap_or(&Value::Null), w, &format!("chunk[{i}].{key}"))?;
                        matched = true;
                    }
                }
                if !matched {
                    contains(have, want, &format!("chunk[{i}]"))?;
                }
            }
        }
    }

    if let Some(expect) = step.get("expectOutput") {
        if let Some(m) = expect.get("message") {
            contains(output.get("message").unwrap_or(&Value::Null), m, "output.message")?;
        }
        if expect.get("hasSnapshotId") == Some(&Value::Bool(true)) {
            ensure(non_empty_str(output.get("snapshotId")), || format!("expected a snapshotId in {output}"))?;
        }
        if expect.get("hasSessionId") == Some(&Value::Bool(true)) {
            ensure(non_empty_str(output.pointer("/state/sessionId")), || {
                format!("expected output.state.sessionId in {output}")
            })?;
        }
        if let Some(s) = expect.get("stateContains") {
            let state = output.get("state").ok_or_else(|| format!("expected output state in {output}"))?;
            contains(state, s, "output.state")?;
        }
        if let Some(arts) = expect.get("artifactsContain").and_then(Value::as_array) {
            let have = output.get("artifacts").and_then(Value::as_array).ok_or("expected output artifacts")?;
            for want in arts {
                let name = want.get("name");
                let found = have
                    .iter()
                    .find(|a| a.get("name") == name)
                    .ok_or_else(|| format!("artifact {name:?} not in the output"))?;
                contains(found, want, "artifact")?;
            }
        }
        if let Some(fr) = expect.get("finishReason").filter(|f| !f.is_null()) {
            ensure(output.get("finishReason") == Some(fr), || {
                format!("expected output.finishReason {fr}, got {:?}", output.get("finishReason"))
            })?;
        }
        if let Some(ec) = expect.get("errorContains") {
            check_error_contains(output.get("error"), ec, "output")?;
        }
    }

    // Captures use the raw step's names (names are never templates).
    if let Some(name) = str_field(raw, "captureSnapshotId") {
        let id = output.get("snapshotId").filter(|v| non_empty_str(Some(v))).ok_or("no snapshotId to capture")?;
        captures.insert(name.to_owned(), id.clone());
    }
    if let Some(name) = str_field(raw, "captureState") {
        let state = output.get("state").filter(|s| !s.is_null()).ok_or("no state to capture")?;
        captures.insert(name.to_owned(), state.clone());
    }
    if let Some(name) = str_field(raw, "captureSessionId") {
        let id = output.pointer("/state/sessionId").ok_or("no state.sessionId to capture")?;
        captures.insert(name.to_owned(), id.clone());
    }
    Ok(())
}

fn check_snapshot(snap: &Value, expect: &Value) -> Check {
    if let Some(p) = expect.get("parentId").filter(|p| !p.is_null()) {
        ensure(snap.get("parentId") == Some(p), || format!("expected parentId {p}, got {:?}", snap.get("parentId")))?;
    }
    if let Some(s) = expect.get("status").filter(|s| !s.is_null()) {
        ensure(snap.get("status") == Some(s), || format!("expected status {s}, got {:?}", snap.get("status")))?;
    }
    if let Some(f) = expect.get("finishReason").filter(|s| !s.is_null()) {
        ensure(snap.get("finishReason") == Some(f), || {
            format!("expected finishReason {f}, got {:?}", snap.get("finishReason"))
        })?;
    }
    if expect.get("hasSessionId") == Some(&Value::Bool(true)) {
        ensure(non_empty_str(snap.pointer("/state/sessionId")), || format!("expected state.sessionId in {snap}"))?;
    }
    if let Some(s) = expect.get("stateContains") {
        contains(snap.get("state").unwrap_or(&Value::Null), s, "snapshot.state")?;
    }
    if let Some(e) = expect.get("errorContains") {
        let actual = snap.get("error").filter(|e| !e.is_null()).ok_or("expected the snapshot to have an error")?;
        contains(actual, e, "snapshot.error")?;
    }
    Ok(())
}

async fn snapshot_step(driver: &dyn AgentSpecDriver, agent: &str, step: &Value) -> Check {
    let snapshot_id = str_field(step, "snapshotId");
    let session_id = str_field(step, "sessionId");
    ensure(snapshot_id.is_some() != session_id.is_some(), || {
        "getSnapshotData needs exactly one of snapshotId or sessionId".into()
    })?;
    let res = driver.get_snapshot(agent, snapshot_id, session_id).await;
    if let Some(want) = str_field(step, "expectError") {
        return match res {
            Err(e) => ensure(e.message().contains(want), || format!("expected an error containing '{want}', got {e}")),
            Ok(s) => Err(format!("expected an error containing '{want}', got {s:?}")),
        };
    }
    let snap = res.map_err(|e| e.to_string())?.ok_or("snapshot not found")?;
    match step.get("expectSnapshot") {
        Some(expect) => check_snapshot(&snap, expect),
        None => Ok(()),
    }
}

async fn abort_step(driver: &dyn AgentSpecDriver, agent: &str, step: &Value) -> Check {
    let id = str_field(step, "snapshotId").ok_or("abort needs a snapshotId")?;
    let previous = driver.abort(agent, id).await.map_err(|e| e.to_string())?;
    if let Some(expected) = step.as_object().and_then(|o| o.get("expectPreviousStatus")) {
        let expected = expected.as_str();
        ensure(previous.as_deref() == expected, || format!("expected previous status {expected:?}, got {previous:?}"))?;
    }
    Ok(())
}

async fn wait_step(driver: &dyn AgentSpecDriver, agent: &str, step: &Value) -> Check {
    let id = str_field(step, "snapshotId").ok_or("waitUntilCompleted needs a snapshotId")?;
    let timeout = Duration::from_millis(step.get("timeoutMs").and_then(Value::as_u64).unwrap_or(5000));
    let terminal = ["completed", "failed", "aborted"];
    let deadline = tokio::time::Instant::now() + timeout;
    let snap = loop {
        let snap = driver.get_snapshot(agent, Some(id), None).await.map_err(|e| e.to_string())?;
        if let Some(s) = &snap
            && str_field(s, "status").is_some_and(|st| terminal.contains(&st))
        {
            break snap;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("snapshot {id} did not finish within {timeout:?}: {snap:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let snap = snap.ok_or("snapshot not found")?;
    match step.get("expectSnapshot") {
        Some(expect) => check_snapshot(&snap, expect),
        None => Ok(()),
    }
}

/// A `Status` from its wire name, for drivers that receive errors as JSON.
pub fn status_from_name(name: &str) -> Status {
    Status::ALL.iter().copied().find(|s| s.as_str() == name).unwrap_or(Status::Unknown)
}
