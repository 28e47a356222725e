//! Fetches the default local models into the cache (a setup step; CI runs it before the tests).
//!
//! `cargo run -p genkit-local --example fetch`

fn main() {
    let local = genkit_local::Local::new();
    match local.prefetch() {
        Ok(()) => println!("local models are in {}", genkit_local::FetchOptions::default().cache_dir().display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
