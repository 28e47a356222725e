//! Cold start: create Genkit, define a fake model, run one generate, exit (like
//! the JS `cold.mjs` that `scripts/bench-server-vs-js` runs). Timed from outside with hyperfine.

fn main() {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        std::process::exit(2);
    };
    let ok = rt.block_on(async {
        let app = bench_server::app().await.ok()?;
        let opts = genkit::GenerateOptions::new().model("fake/text").prompt("Say hello.");
        let r = app.genkit.generate(opts).await.ok()?;
        Some(r.text() == bench_server::FIXED_TEXT)
    });
    if ok != Some(true) {
        std::process::exit(1);
    }
}
