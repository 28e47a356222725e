//! `cargo run -p example-generate --bin streaming`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    for line in example_generate::streaming_example().await? {
        println!("{line}");
    }
    Ok(())
}
