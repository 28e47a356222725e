//! `cargo run -p example-generate --bin structured`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    for line in example_generate::structured_example().await? {
        println!("{line}");
    }
    Ok(())
}
