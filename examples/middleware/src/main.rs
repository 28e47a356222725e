//! `cargo run -p example-middleware`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let g = example_middleware::build_app().await?;
    for line in example_middleware::run_demo(&g).await? {
        println!("{line}");
    }
    Ok(())
}
