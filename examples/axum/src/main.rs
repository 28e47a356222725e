//! `cargo run -p example-axum`, then see the library docs for `curl` commands.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = example_axum::build_app().await?;
    let port = genkit::server::port_from_env();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving on http://{} (Ctrl-C to stop)", listener.local_addr()?);
    genkit::server::axum::serve(listener, app).await?;
    Ok(())
}
