//! `cargo run -p example-provider` (with an OpenAI-compatible server running; see the library
//! docs for `OPENAI_COMPAT_BASE_URL` and `OPENAI_COMPAT_MODEL`).

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let base_url =
        std::env::var("OPENAI_COMPAT_BASE_URL").unwrap_or_else(|_| example_provider::DEFAULT_BASE_URL.into());
    let model = std::env::var("OPENAI_COMPAT_MODEL").unwrap_or_else(|_| "default".into());
    println!("asking model {model:?} at {base_url} (set OPENAI_COMPAT_BASE_URL / OPENAI_COMPAT_MODEL to change)");
    let g = example_provider::build_app(&base_url).await?;
    match example_provider::ask(&g, &model, "Why is the sky blue?").await {
        Ok(answer) => println!("{answer}"),
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Is a server running there? For example: llama-server -m model.gguf --port 8080");
            std::process::exit(1);
        }
    }
    Ok(())
}
