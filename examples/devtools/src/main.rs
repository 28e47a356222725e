//! A Genkit app for the Genkit developer tools. Run it under the CLI:
//!
//! ```text
//! genkit start -- cargo run -p example-devtools
//! ```
//!
//! The CLI sets `GENKIT_ENV=dev`, the app starts its reflection server, and the Dev UI lists
//! its flows, models, retriever and evaluator, runs them and shows their traces.

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let app = example_devtools::build_app().await?;
    match app.reflection() {
        Some(r) => {
            println!("Genkit developer tools: reflection on {} (runtime id {}).", r.url(), r.runtime_id());
            println!("Press Ctrl-C to stop.");
            // The reflection bridge removes its runtime file and exits on SIGINT/SIGTERM.
            std::future::pending::<()>().await;
        }
        None => {
            println!("Not in dev mode: run this app under the Genkit CLI to see it in the Dev UI:");
            println!("  genkit start -- cargo run -p example-devtools");
            let out = app.registry().lookup_action("/flow/hello").await?;
            if let Some(hello) = out {
                let r = hello.run_json(serde_json::json!("world"), genkit::RunOptions::new()).await?;
                println!("hello(\"world\") -> {}", r.result);
            }
        }
    }
    Ok(())
}
