//! `cargo run -p example-rag`

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let store = std::env::temp_dir().join("genkit-example-rag");
    println!("index: {}", store.join("__db_facts.json").display());
    let g = example_rag::build_app(&store).await?;
    for question in ["Which ocean is the largest?", "What is bread made from?"] {
        let (sources, answer) = example_rag::answer(&g, question).await?;
        println!("\nQ: {question}\nretrieved: {sources:?}\nthe model got and echoed:\n{answer}");
    }
    Ok(())
}
