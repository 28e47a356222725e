//! Runs the main sample. `cargo run -p example-hello`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let app = example_hello::build_app().await?;
    for line in example_hello::run_demo(&app).await? {
        println!("{line}");
    }
    Ok(())
}
