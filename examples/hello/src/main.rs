//! Runs the main sample. `cargo run -p example-hello` runs every flow once and prints what
//! happened; `cargo run -p example-hello -- --serve` then keeps serving the flows over HTTP on
//! 127.0.0.1 (port `PORT`, default 3400) until Ctrl-C. Under the Genkit CLI
//! (`genkit start -- cargo run -p example-hello`) it keeps running for the Dev UI.

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let app = example_hello::build_app().await?;
    for line in example_hello::run_demo(&app).await? {
        println!("{line}");
    }
    if std::env::args().any(|a| a == "--serve") {
        let server = example_hello::serve(&app, genkit::server::port_from_env()).await?;
        let base = format!("http://{}", server.local_addr());
        println!("serving flows on {base}: try");
        println!("  curl -s {base}/greet -H 'content-type: application/json' -d '{{\"data\": {{\"name\": \"Ada\"}}}}'");
        println!("  curl -sN '{base}/countdown?stream=true' -H 'content-type: application/json' -d '{{\"data\": 3}}'");
        server.wait().await?;
    } else if let Some(r) = app.genkit.reflection() {
        println!("Genkit developer tools connected (reflection on {}); Ctrl-C to stop.", r.url());
        std::future::pending::<()>().await;
    } else {
        println!("(run with -- --serve to serve these flows over HTTP)");
    }
    Ok(())
}
