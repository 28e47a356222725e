//! The prompts example renders both prompts as the echo model shows them.

use serde_json::json;

#[tokio::test]
async fn both_prompts_render_and_run() {
    let g = example_prompts::build_app().await.unwrap();
    let out = example_prompts::run_demo(&g).await.unwrap();
    let recipe = "Echo: You are a concise chef. Answer with a numbered list of steps.\n\n\
                  A recipe for pancakes for 4.\nIt must be vegan and gluten-free.";
    assert_eq!(out[0], format!("recipe: {recipe}; config: {{\"temperature\":0.3}}"));
    assert_eq!(
        out[1],
        format!("recipe with call config: {recipe}; config: {{\"temperature\":0.3,\"maxOutputTokens\":200}}")
    );
    assert_eq!(out[2], "haiku System message: You write haiku: three lines, five, seven and five syllables.");
    assert_eq!(out[3], "haiku User message: Write a haiku about autumn rain.");
    assert_eq!(
        out[4],
        "haiku: Echo: You write haiku: three lines, five, seven and five syllables.\n\
         Write a haiku about autumn rain.; config: {}"
    );
}

#[tokio::test]
async fn the_picoschema_becomes_the_json_schema_of_the_prompt_action() {
    let g = example_prompts::build_app().await.unwrap();
    let action = g.lookup_action("/prompt/recipe").await.unwrap().expect("recipe.prompt is loaded");
    let schema = serde_json::to_value(action.metadata()).unwrap()["inputSchema"].clone();
    assert_eq!(schema["required"], json!(["dish"]));
    assert_eq!(schema["properties"]["dish"], json!({"type": "string", "description": "what to cook"}));
    assert_eq!(schema["properties"]["diet"]["items"], json!({"type": "string"}));

    // Optional fields without a value are left out of the rendered text.
    let r = g.prompt("recipe").generate(json!({"dish": "soup"})).await.unwrap();
    assert!(r.text().ends_with("A recipe for soup.\n; config: {\"temperature\":0.3}"), "{}", r.text());
}
