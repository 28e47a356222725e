//! `cargo run -p example-generate --bin interrupts`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    for line in example_generate::interrupts_example().await? {
        println!("{line}");
    }
    Ok(())
}
