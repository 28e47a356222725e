//! Every generate example runs and shows what it promises.

#[tokio::test]
async fn tools() {
    let out = example_generate::tools_example().await.unwrap().join("\n");
    assert!(out.contains("answer: The tool said: \"sunny in Paris\""), "{out}");
    assert!(
        out.contains(
            "Tool: [{\"toolResponse\":{\"ref\":\"call-1\",\"name\":\"weather\",\"output\":\"sunny in Paris\"}}]"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn interrupts() {
    let out = example_generate::interrupts_example().await.unwrap().join("\n");
    assert!(out.contains("finish reason: Some(Interrupted)"), "{out}");
    assert!(out.contains("interrupt metadata: {\"question\":\"Send the money?\"}"), "{out}");
    assert!(out.contains("after approval: The tool said: \"sent to Lyon\""), "{out}");
}

#[tokio::test]
async fn structured() {
    let out = example_generate::structured_example().await.unwrap().join("\n");
    assert_eq!(out, "Person { name: \"Ada\", age: 36, tags: [\"math\", \"engines\"] }");
}

#[tokio::test]
async fn streaming() {
    let out = example_generate::streaming_example().await.unwrap();
    assert_eq!(out.len(), 11);
    assert_eq!(out[0], "chunk 0 (Model): \"Streaming \"");
    assert_eq!(out[6], "final: Streaming one word at a time.");
    assert_eq!(out[7], r#"new items: [{"name":"Mercury"}] (26 characters so far)"#);
    assert_eq!(out[8], r#"new items: [{"name":"Venus"}] (41 characters so far)"#);
    assert_eq!(out[9], r#"new items: [{"name":"Earth"}] (59 characters so far)"#);
    assert_eq!(out[10], r#"all items: [{"name":"Mercury"},{"name":"Venus"},{"name":"Earth"}]"#);
}
