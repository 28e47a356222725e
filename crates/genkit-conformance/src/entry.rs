//! The command line shared by the per-plugin conformance entry programs
//! (`conformance/<plugin>` in this repository): one binary per provider plugin that
//!
//! - with no arguments, starts a Genkit runtime with only that plugin and waits (under
//!   `genkit dev:test-model ... -- <entry>` the CLI sets `GENKIT_ENV=dev`, so the runtime is
//!   visible to it through reflection);
//! - `--list-models` prints the plugin's model catalogue (no API call);
//! - `--dry-run <file>...` validates suite files against that catalogue (no API call);
//! - `--native <file>... [--compare <cli-output>] [--json]` runs the suites in-process with
//!   [`run_suites_with`] and, with `--compare`, checks that the
//!   `genkit dev:test-model` output saved in a file reports the same pass/fail per test.
//!
//! An entry program implements [`EntryProgram`] (its name, its catalogue, how to start its
//! runtime) and calls [`main`], which parses the arguments and runs the mode. The pieces
//! ([`EntryCommand::parse`], [`list_models`], [`dry_run_command`], [`native_command`]) are public
//! for programs that need something else.

use std::any::Any;
use std::ffi::OsString;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::{ConformanceOptions, KnownModels, Registry, Report, Suite, dry_run, load_suites, run_suites_with};

/// The usage text of an entry program named `name`.
pub fn usage(name: &str) -> String {
    format!(
        "\
Usage: {name}                           start the runtime and wait (run it under the Genkit CLI)
       {name} --list-models             print the plugin's model catalogue
       {name} --dry-run <suite-file>... validate suite files (no model is called)
       {name} --native <suite-file>... [--compare <cli-output-file>] [--json]
                                        run the suites in-process (the Rust-native runner); with
                                        --compare, check the saved `genkit dev:test-model` output
                                        reports the same pass/fail per test
"
    )
}

/// What an entry program was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryCommand {
    /// Start the runtime and wait.
    Serve,
    /// `--help`.
    Help,
    /// `--list-models`.
    ListModels,
    /// `--dry-run <files>`.
    DryRun(Vec<PathBuf>),
    /// `--native <files> [--compare <file>] [--json]`.
    Native {
        /// The suite files.
        files: Vec<PathBuf>,
        /// A file holding the output of `genkit dev:test-model` on the same files.
        compare: Option<PathBuf>,
        /// Print the report as JSON.
        json: bool,
    },
}

impl EntryCommand {
    /// Parses the arguments (without the program name): `--name value` or `--name=value`;
    /// the error is the message to print above the usage text.
    ///
    /// ```
    /// use genkit_conformance::entry::EntryCommand;
    /// let c = EntryCommand::parse(["--native", "a.yaml", "--compare", "cli.txt"].map(String::from)).unwrap();
    /// assert!(matches!(c, EntryCommand::Native { ref files, compare: Some(_), json: false } if files.len() == 1));
    /// assert_eq!(EntryCommand::parse(Vec::<String>::new()).unwrap(), EntryCommand::Serve);
    /// ```
    pub fn parse(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<EntryCommand, String> {
        use lexopt::prelude::*;
        let mut mode: Option<&'static str> = None;
        let mut files = Vec::new();
        let mut compare = None;
        let mut json = false;
        let mut parser = lexopt::Parser::from_args(args);
        let set = |m: &'static str, mode: &mut Option<&'static str>| match mode {
            Some(old) if *old != m => Err(format!("--{m} and --{old} cannot be combined")),
            _ => {
                *mode = Some(m);
                Ok(())
            }
        };
        while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
            match arg {
                Short('h') | Long("help") => return Ok(EntryCommand::Help),
                Long("list-models") => set("list-models", &mut mode)?,
                Long("dry-run") => set("dry-run", &mut mode)?,
                Long("native") => set("native", &mut mode)?,
                Long("json") => json = true,
                Long("compare") => compare = Some(PathBuf::from(parser.value().map_err(|e| e.to_string())?)),
                Value(file) => files.push(PathBuf::from(file)),
                _ => return Err(arg.unexpected().to_string()),
            }
        }
        let needs_files = |files: &Vec<PathBuf>, m: &str| {
            if files.is_empty() { Err(format!("--{m} needs suite files")) } else { Ok(()) }
        };
        match mode {
            None if files.is_empty() && compare.is_none() && !json => Ok(EntryCommand::Serve),
            None => Err("arguments given without --dry-run or --native".to_owned()),
            Some("list-models") if files.is_empty() => Ok(EntryCommand::ListModels),
            Some("list-models") => Err("--list-models takes no files".to_owned()),
            Some("dry-run") => needs_files(&files, "dry-run").map(|()| EntryCommand::DryRun(files)),
            Some(_) => needs_files(&files, "native").map(|()| EntryCommand::Native { files, compare, json }),
        }
    }
}

/// A runtime an entry program started.
pub struct Runtime {
    /// The registry the suites run against.
    pub registry: Registry,
    /// The reflection URL when the developer-tools bridge runs (dev mode).
    pub reflection_url: Option<String>,
    /// What to say about it on stderr (e.g. which plugins are registered).
    pub description: String,
    /// Whatever must stay alive while the runtime serves (e.g. the `Genkit` instance).
    pub keep_alive: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("reflection_url", &self.reflection_url)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// What a per-plugin entry program provides; [`main`] does the rest.
pub trait EntryProgram: Sync {
    /// The program's name (usage text and messages).
    fn name(&self) -> &str;
    /// Every model name in the plugin's catalogue, without keys or network.
    fn catalogue(&self) -> impl Future<Output = Result<Vec<String>, String>> + Send;
    /// Starts a Genkit runtime with only this plugin (the developer-tools bridge starts when
    /// `GENKIT_ENV=dev`).
    fn start(&self) -> impl Future<Output = Result<Runtime, String>> + Send;
}

/// The whole entry program: parses the process arguments and runs the mode on a tokio
/// runtime. Exit codes: 0 success, 1 failure, 2 usage error or not in dev mode.
pub fn main(program: &impl EntryProgram) -> ExitCode {
    let cmd = match EntryCommand::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n\n{}", usage(program.name()));
            return ExitCode::from(2);
        }
    };
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt.block_on(run(program, cmd)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(program: &impl EntryProgram, cmd: EntryCommand) -> ExitCode {
    let name = program.name();
    let started = match cmd {
        EntryCommand::Help => {
            print!("{}", usage(name));
            return ExitCode::SUCCESS;
        }
        EntryCommand::ListModels | EntryCommand::DryRun(_) => {
            return match program.catalogue().await {
                Ok(names) => match cmd {
                    EntryCommand::DryRun(files) => dry_run_command(&files, &names),
                    _ => list_models(names),
                },
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        EntryCommand::Serve | EntryCommand::Native { .. } => match program.start().await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    match (cmd, &started.reflection_url) {
        (EntryCommand::Native { files, compare, json }, _) => {
            native_command(&started.registry, &files, compare.as_ref(), json).await
        }
        (_, Some(url)) => {
            eprintln!("{name}: {}, reflection on {url}", started.description);
            // The reflection bridge removes its runtime file and exits on SIGINT/SIGTERM.
            std::future::pending::<()>().await;
            ExitCode::SUCCESS
        }
        (_, None) => {
            eprintln!(
                "{name}: not in dev mode; run it under the Genkit CLI:\n  genkit dev:test-model --from-file <suite> -- {name}"
            );
            ExitCode::from(2)
        }
    }
}

/// `--list-models`: prints the names, one a line, sorted.
pub fn list_models(mut names: Vec<String>) -> ExitCode {
    names.sort();
    names.dedup();
    for n in names {
        println!("{n}");
    }
    ExitCode::SUCCESS
}

/// `--dry-run`: checks the files ([`dry_run`]) with model existence against `catalogue`,
/// prints each problem and a summary line; exit code 1 on any problem.
pub fn dry_run_command(files: &[PathBuf], catalogue: &[String]) -> ExitCode {
    let problems = dry_run(files, &KnownModels::names(catalogue.iter().cloned()));
    for p in &problems {
        println!("{p}");
    }
    println!("{} file(s) checked against {} known models, {} problem(s)", files.len(), catalogue.len(), problems.len());
    if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `--native`: loads the files, runs every suite against `registry` (outcome lines on
/// stderr as they come, the report on stdout, or the report as JSON with `json`); with
/// `compare`, reads that file's `genkit dev:test-model` output ([`Report::from_cli_output`])
/// and reports any test on which the two runners disagree ([`Report::diff`]). Exit code 1 on
/// a failed test or a disagreement.
pub async fn native_command(registry: &Registry, files: &[PathBuf], compare: Option<&PathBuf>, json: bool) -> ExitCode {
    let mut suites: Vec<Suite> = Vec::new();
    for f in files {
        match load_suites(f) {
            Ok(s) => suites.extend(s),
            Err(e) => {
                eprintln!("error: {}: {}", f.display(), e.message());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut opts = ConformanceOptions::new();
    if !json {
        opts = opts.on_outcome(|o| eprintln!("{o}"));
    }
    let report = run_suites_with(registry, &suites, &opts).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
    } else {
        print!("{report}");
    }
    let mut ok = report.is_success();
    if let Some(path) = compare {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        let cli = Report::from_cli_output(&text);
        let diff = cli.diff(&report);
        if cli.outcomes().next().is_none() {
            eprintln!("CLI vs native: {} holds no test outcome", path.display());
            ok = false;
        } else if diff.is_empty() {
            eprintln!(
                "CLI vs native: agree on all {} tests (CLI {}, native {})",
                report.outcomes().count(),
                cli.summary(),
                report.summary()
            );
        } else {
            eprintln!("CLI vs native: {} disagreement(s) (\"here\" = CLI, \"there\" = native):", diff.len());
            for d in &diff {
                eprintln!("  {d}");
            }
            ok = false;
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[&str]) -> Result<EntryCommand, String> {
        EntryCommand::parse(s.iter().copied())
    }

    #[test]
    fn parses_the_modes() {
        assert_eq!(parse(&[]).unwrap(), EntryCommand::Serve);
        assert_eq!(parse(&["--list-models"]).unwrap(), EntryCommand::ListModels);
        assert_eq!(parse(&["--dry-run", "a", "b"]).unwrap(), EntryCommand::DryRun(vec!["a".into(), "b".into()]));
        assert_eq!(
            parse(&["--native", "a", "--json"]).unwrap(),
            EntryCommand::Native { files: vec!["a".into()], compare: None, json: true }
        );
        // What scripts/test-model-conformance passes.
        assert_eq!(
            parse(&["--native", "model-conformance.offline.yaml", "--compare", "/tmp/x/cli.txt"]).unwrap(),
            EntryCommand::Native {
                files: vec!["model-conformance.offline.yaml".into()],
                compare: Some("/tmp/x/cli.txt".into()),
                json: false
            }
        );
        assert_eq!(
            parse(&["--compare=cli.txt", "--native", "a"]).unwrap(),
            EntryCommand::Native { files: vec!["a".into()], compare: Some("cli.txt".into()), json: false }
        );
        assert_eq!(parse(&["--dry-run", "--dry-run", "a"]).unwrap(), EntryCommand::DryRun(vec!["a".into()]));
        assert_eq!(parse(&["-h"]).unwrap(), EntryCommand::Help);
        assert_eq!(parse(&["--list-models", "--help"]).unwrap(), EntryCommand::Help);
        assert_eq!(parse(&["--dry-run"]).unwrap_err(), "--dry-run needs suite files");
        assert_eq!(parse(&["--native", "--dry-run", "a"]).unwrap_err(), "--dry-run and --native cannot be combined");
        assert_eq!(parse(&["a.yaml"]).unwrap_err(), "arguments given without --dry-run or --native");
        assert_eq!(parse(&["--list-models", "a"]).unwrap_err(), "--list-models takes no files");
        assert_eq!(parse(&["--compare"]).unwrap_err(), "missing argument for option '--compare'");
        assert_eq!(parse(&["--bogus"]).unwrap_err(), "invalid option '--bogus'");
        assert!(parse(&["--json=1"]).is_err());
    }
}
