//! `cargo run -p example-generate --bin tools`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    for line in example_generate::tools_example().await? {
        println!("{line}");
    }
    Ok(())
}
