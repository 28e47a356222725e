//! The experimental `agents` and `artifacts` middlewares inside real agents: delegation to a
//! sub-agent with its artifacts merged into the parent session, and artifact tools that
//! stream `artifact` chunks.

use futures::StreamExt;
use genkit_ai::experimental::agent::{
    AgentInit, AgentInput, AgentOptions, AgentResult, TurnResult, define_agent, define_custom_agent,
};
use genkit_ai::experimental::session::Artifact;
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::prompt::PromptConfig;
use genkit_ai::{Message, ModelResponse, Part, Role};
use genkit_core::{Registry, RunOptions};
use genkit_middleware::{AgentsOptions, ArtifactsOptions, agents, artifacts};
use serde_json::{Value, json};

fn setup() -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = ProgrammableModel::new("m");
    reg.register_action(pm.action().as_action()).unwrap();
    (reg, pm)
}

fn call(name: &str, input: &Value) -> ModelResponse {
    serde_json::from_value(json!({
        "message": {"role": "model", "content": [{"toolRequest": {"name": name, "ref": "1", "input": input}}]},
        "finishReason": "stop"
    }))
    .unwrap()
}

fn user(text: &str) -> AgentInput {
    AgentInput { message: Some(Message::user(text)), ..AgentInput::default() }
}

fn tool_output(msg: &Message) -> Value {
    msg.content[0].tool_response.as_ref().unwrap().output.clone().unwrap()
}

#[tokio::test]
async fn artifact_tools_write_and_read_the_session_and_list_it_each_turn() {
    let (reg, pm) = setup();
    let builder = define_agent(
        &reg,
        PromptConfig::new("builder").model("m").system("Build.").use_middleware(artifacts(ArtifactsOptions::default())),
        AgentOptions::default(),
    )
    .unwrap();
    pm.respond(call("write_artifact", &json!({"name": "a.md", "content": "hello"})));
    pm.respond(call("read_artifact", &json!({"name": "a.md"})));
    pm.respond(ModelResponse::from_text("done"));
    let mut bidi = builder.stream_bidi(&AgentInit::default(), RunOptions::default());
    bidi.send(user("make it")).unwrap();
    bidi.close();
    let mut chunks = Vec::new();
    while let Some(c) = bidi.next().await {
        chunks.push(serde_json::to_value(c.unwrap()).unwrap());
    }
    let out = bidi.output().await.unwrap();
    assert!(chunks.contains(&json!({"artifact": {"name": "a.md", "parts": [{"text": "hello"}]}})), "{chunks:?}");
    assert_eq!(out.state.unwrap().artifacts.unwrap(), vec![Artifact::new("a.md", vec![Part::text("hello")])]);

    let reqs = pm.requests();
    let tools: Vec<&str> = reqs[0].tools.iter().flatten().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["read_artifact", "write_artifact"]);
    let system = |i: usize| reqs[i].messages[0].text();
    assert!(system(0).contains("No artifacts are currently available"), "{}", system(0));
    assert!(system(1).contains("  - a.md (5 chars)"), "{}", system(1));
    assert_eq!(reqs[1].messages[0].content.len(), 2, "the listing replaces the previous one");
    let last = reqs[2].messages.last().unwrap();
    assert_eq!(tool_output(last), json!({"name": "a.md", "content": "hello", "found": true}));
    // The session keeps the conversation, not the injected listing.
    assert_eq!(reqs[2].messages.iter().filter(|m| m.role == Role::System).count(), 1);
}

#[tokio::test]
async fn read_only_artifacts_offer_no_write_tool() {
    let (reg, pm) = setup();
    let agent = define_agent(
        &reg,
        PromptConfig::new("reader").model("m").use_middleware(artifacts(ArtifactsOptions { readonly: true })),
        AgentOptions::default(),
    )
    .unwrap();
    pm.respond(call("read_artifact", &json!({"name": "x"})));
    pm.respond(ModelResponse::from_text("ok"));
    agent.run(&AgentInit::default(), vec![user("go")]).await.unwrap();
    let reqs = pm.requests();
    assert_eq!(reqs[0].tools.as_ref().map(Vec::len), Some(1));
    let out = tool_output(reqs[1].messages.last().unwrap());
    assert_eq!(out, json!({"name": "x", "content": "Artifact \"x\" not found.", "found": false}));
}

#[tokio::test]
async fn a_delegation_runs_the_sub_agent_and_merges_its_artifacts() {
    let (reg, pm) = setup();
    define_custom_agent(&reg, AgentOptions::new("coder").description("Writes code."), |sess, _| async move {
        let s = sess.clone();
        sess.run(|input, _| {
            let s = s.clone();
            async move {
                let task = input.message.map(|m| m.text()).unwrap_or_default();
                s.add_artifacts([Artifact::new("main.rs", vec![Part::text(format!("// {task}"))])]);
                Ok(TurnResult::default())
            }
        })
        .await?;
        Ok(AgentResult {
            message: Some(Message::model("code written")),
            artifacts: Some(sess.artifacts()),
            ..AgentResult::default()
        })
    })
    .unwrap();
    let boss = define_agent(
        &reg,
        PromptConfig::new("boss")
            .model("m")
            .use_middleware(agents(AgentsOptions { agents: vec!["coder".into()], ..AgentsOptions::default() })),
        AgentOptions::default(),
    )
    .unwrap();
    pm.respond(call("delegate_to_coder", &json!({"task": "hello world"})));
    pm.respond(ModelResponse::from_text("all done"));
    let out = boss.run(&AgentInit::default(), vec![user("build it")]).await.unwrap();
    assert_eq!(out.message.unwrap().text(), "all done");

    let reqs = pm.requests();
    let system = reqs[0].messages[0].text();
    assert!(system.starts_with("<sub-agents>\n"), "{system}");
    assert!(system.contains("  - delegate_to_coder: Writes code.\n"), "{system}");
    let result = tool_output(reqs[1].messages.last().unwrap());
    assert_eq!(result["response"], "code written");
    let name = result["artifacts"][0]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("coder_") && name.ends_with("/main.rs"), "{name}");
    assert_eq!(result["artifacts"][0]["content"], "// hello world");

    let arts = out.state.unwrap().artifacts.unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(arts[0].name.as_deref(), Some(name.as_str()));
    assert_eq!(arts[0].metadata.as_ref().unwrap()["source"], "coder");
}

#[tokio::test]
async fn delegations_are_bounded_and_missing_agents_reported() {
    let (reg, pm) = setup();
    let opts = AgentsOptions {
        agents: vec!["ghost".into()],
        max_delegations: Some(1),
        tool_prefix: Some(String::new()),
        ..AgentsOptions::default()
    };
    let boss =
        define_agent(&reg, PromptConfig::new("boss").model("m").use_middleware(agents(opts)), AgentOptions::default())
            .unwrap();
    pm.respond(call("ghost", &json!({"task": "a"})));
    pm.respond(call("ghost", &json!({"task": "b"})));
    pm.respond(ModelResponse::from_text("gave up"));
    boss.run(&AgentInit::default(), vec![user("go")]).await.unwrap();
    let reqs = pm.requests();
    assert!(reqs[0].messages[0].text().contains("  - ghost: No description available."));
    assert_eq!(
        tool_output(reqs[1].messages.last().unwrap())["response"],
        "Error: Agent 'ghost' not found in registry."
    );
    assert_eq!(
        tool_output(reqs[2].messages.last().unwrap())["response"],
        "Delegation limit reached (1). Complete the task using information already gathered."
    );
}
