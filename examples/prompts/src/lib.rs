//! Prompts: `prompts/recipe.prompt`, a Dotprompt file (YAML frontmatter with a Picoschema
//! input schema, then a Handlebars template) loaded from the prompt folder, and a prompt
//! defined in code with `define_prompt`. Both run on the echo test model (facade feature
//! `testing`), which answers with the text it was sent, so you see exactly what a real model
//! would get.
//!
//! Needs no API key. Run with `cargo run -p example-prompts`.
//!
//! The setup lives in [`build_app`] and the demo in [`run_demo`] so that tests can call them.

use std::path::PathBuf;

use genkit::prelude::*;
use genkit::testing::echo_model;
use serde_json::json;

/// Builds the Genkit instance: loads the prompt folder, registers the `demo/echo` model and
/// defines the `haiku` prompt in code.
///
/// # Errors
/// When a prompt file is malformed (`INVALID_ARGUMENT` naming the file and line).
pub async fn build_app() -> Result<Genkit> {
    // The folder next to this crate's Cargo.toml, so the example runs from any directory.
    // (A server binary would rather embed it: `.embedded_prompts(genkit::embed_prompts!("prompts"))`.)
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let g = Genkit::builder().prompt_dir(dir).build().await?;
    g.register(echo_model("demo/echo").as_action());

    g.define_prompt(
        PromptConfig::new("haiku")
            .model("demo/echo")
            .input_schema(json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}))
            .system("You write haiku: three lines, five, seven and five syllables.")
            .prompt("Write a haiku about {{topic}}."),
    );
    Ok(g)
}

/// Renders and runs both prompts and returns what they printed.
///
/// # Errors
/// When rendering or generating fails.
pub async fn run_demo(g: &Genkit) -> Result<Vec<String>> {
    let mut out = Vec::new();

    // A `.prompt` file is looked up by its file name.
    let recipe = g.prompt("recipe");
    let input = json!({"dish": "pancakes", "servings": 4, "diet": ["vegan", "gluten-free"]});
    let r = recipe.generate(input.clone()).await?;
    out.push(format!("recipe: {}", r.text()));
    // Call options win over the file's; `config` is merged key by key.
    let r = recipe.generate_with(input, GenerateOptions::new().config(json!({"maxOutputTokens": 200}))).await?;
    out.push(format!("recipe with call config: {}", r.text()));

    // `render` shows the generate options a prompt produces, without calling the model.
    let haiku = g.prompt("haiku");
    let rendered = haiku.render(json!({"topic": "autumn rain"})).await?;
    for m in &rendered.messages {
        out.push(format!("haiku {:?} message: {}", m.role, m.text()));
    }
    let r = haiku.generate(json!({"topic": "autumn rain"})).await?;
    out.push(format!("haiku: {}", r.text()));
    Ok(out)
}
