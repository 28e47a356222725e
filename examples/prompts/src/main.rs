//! `cargo run -p example-prompts`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let g = example_prompts::build_app().await?;
    for line in example_prompts::run_demo(&g).await? {
        println!("{line}");
    }
    Ok(())
}
