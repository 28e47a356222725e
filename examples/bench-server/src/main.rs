//! Serves `echo` and `gen` on 127.0.0.1 (`PORT`, default 3400), like the JS harness's `server.mjs`.
//! Runs on one tokio worker thread, as Node runs one event loop.

fn main() -> genkit::Result<()> {
    let workers = std::env::var("BENCH_WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);
    let rt = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
    .map_err(genkit::Error::internal)?;
    rt.block_on(async {
        let app = bench_server::app().await?;
        let opts = genkit::server::FlowServerOptions::new()
            .host(std::net::Ipv4Addr::LOCALHOST.into())
            .port(genkit::server::port_from_env())
            .flow(&app.echo)
            .flow(&app.gen_flow);
        let server = genkit::server::start_flow_server(opts).await?;
        eprintln!("bench-server on http://{}", server.local_addr());
        server.wait().await
    })
}
