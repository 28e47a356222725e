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
//! The entry program parses its arguments with [`EntryCommand::parse`] and calls
//! [`list_models`], [`dry_run_command`] or [`native_command`]; serving is its own business.

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
    /// Parses the arguments (without the program name).
    ///
    /// ```
    /// use genkit_conformance::entry::EntryCommand;
    /// let c = EntryCommand::parse(["--native", "a.yaml", "--compare", "cli.txt"].map(String::from)).unwrap();
    /// assert!(matches!(c, EntryCommand::Native { ref files, compare: Some(_), json: false } if files.len() == 1));
    /// assert_eq!(EntryCommand::parse(Vec::<String>::new()).unwrap(), EntryCommand::Serve);
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<EntryCommand, String> {
        let mut mode: Option<&'static str> = None;
        let mut files = Vec::new();
        let mut compare = None;
        let mut json = false;
        let mut it = args.into_iter();
        let set = |m: &'static str, mode: &mut Option<&'static str>| match mode {
            Some(old) if *old != m => Err(format!("--{m} and --{old} cannot be combined")),
            _ => {
                *mode = Some(m);
                Ok(())
            }
        };
        while let Some(a) = it.next() {
            match a.as_str() {
                "-h" | "--help" => return Ok(EntryCommand::Help),
                "--list-models" => set("list-models", &mut mode)?,
                "--dry-run" => set("dry-run", &mut mode)?,
                "--native" => set("native", &mut mode)?,
                "--json" => json = true,
                "--compare" => compare = Some(PathBuf::from(it.next().ok_or("--compare needs a file")?)),
                s if s.starts_with("--") => return Err(format!("unknown option {s}")),
                s => files.push(PathBuf::from(s)),
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
        EntryCommand::parse(s.iter().map(|s| (*s).to_owned()))
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
        assert_eq!(parse(&["-h"]).unwrap(), EntryCommand::Help);
        assert!(parse(&["--dry-run"]).is_err());
        assert!(parse(&["--native", "--dry-run", "a"]).is_err());
        assert!(parse(&["a.yaml"]).is_err());
        assert!(parse(&["--compare"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
