//! The sample app runs end to end and shows what it promises.

#[tokio::test]
async fn demo_runs_and_traces() {
    let app = example_hello::build_app().await.unwrap();
    let lines = example_hello::run_demo(&app).await.unwrap();
    let all = lines.join("\n");
    assert!(all.contains("greet -> \"Hello, Ferris!!!\""), "{all}");
    assert!(all.contains("countdown streamed [3, 2, 1] -> \"counted down from 3\""), "{all}");
    assert!(all.contains("Hello, Ada! Ada wakes up, then Ada writes Rust, then it compiles."), "{all}");
    assert!(all.contains("signed in as user-42"), "{all}");
    let chat = lines.iter().find(|l| l.starts_with("chat (generate on local/smollm2-135m-instruct) -> ")).unwrap();
    assert!(chat.contains("Paris"), "{all}");
    assert!(all.contains("haiku streamed in"), "{all}");
    assert!(
        all.contains(
            "greeting prompt renders -> \"You write one short, friendly greeting. Reply with the greeting only.\\n | Greet Ferris in a cheerful way.\""
        ),
        "{all}"
    );
    let welcome = lines
        .iter()
        .find(|l| l.starts_with("welcome (prompts/greeting.prompt on local/smollm2-135m-instruct) -> "))
        .unwrap();
    assert!(!welcome.ends_with("-> \"\""), "the model answered nothing: {all}");
    assert!(all.contains("/{welcome,t:flow}/{greeting,t:dotprompt}/{render,t:promptTemplate}  success"), "{all}");
    assert!(
        all.contains(
            "rag (dev-local-vectorstore + local/all-minilm-l6-v2) -> sources [\"Rust is a programming language that \
             guarantees memory safety.\"]"
        ),
        "{all}"
    );
    assert!(all.contains("/{rag,t:flow}/{devLocalVectorstore/facts,t:action,s:retriever}"), "{all}");
    assert!(all.contains("evaluate hello/grounded -> {\"score\":"), "{all}");
    assert!(example_hello::store_dir().join("__db_facts.json").exists());
    assert!(
        all.contains("/{chat,t:flow}/{generate,t:util}/{local/smollm2-135m-instruct,t:action,s:model}  success"),
        "{all}"
    );
    let profile =
        lines.iter().find(|l| l.starts_with("profile (structured output on local/smollm2-135m-instruct) -> ")).unwrap();
    assert!(profile.contains("\"name\":") && profile.contains("\"hobbies\":"), "{all}");
    let forecast =
        lines.iter().find(|l| l.starts_with("forecast (tool call on local/smollm2-135m-instruct) -> ")).unwrap();
    assert!(forecast.contains("sunny"), "the answer uses the tool's result: {all}");
    assert!(all.contains("/{forecast,t:flow}/{generate,t:util}/{weather,t:action,s:tool}  success"), "{all}");
    assert!(all.contains("INVALID_ARGUMENT (HTTP 400)"), "{all}");
    assert!(all.contains("must have required property 'name'"), "{all}");
    assert!(all.contains("/{story,t:flow}/{outline,t:flowStep}  success"), "{all}");
    assert!(all.contains("/{story,t:flow}/{greet,t:flow,s:flow}  success"), "{all}");
}

#[tokio::test]
async fn flows_are_served_over_http() {
    let app = example_hello::build_app().await.unwrap();
    let server = example_hello::serve(&app, 0).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let greeting: String =
        genkit::server::run_flow(&format!("{base}/greet"), &serde_json::json!({"name": "Ada", "excitement": 2}), &[])
            .await
            .unwrap();
    assert_eq!(greeting, "Hello, Ada!!");
    server.stop().await.unwrap();
}
