//! `genkit-conformance`: runs `genkit dev:test-model` suites in-process.
//!
//! ```text
//! genkit-conformance --test-models test/echo                      # default --supports list
//! genkit-conformance --test-models --supports multiturn test/echo
//! genkit-conformance --test-models --from-file suite.yaml [--json]
//! genkit-conformance --dry-run [--models a/b,c/d | --test-models] suite.yaml...
//! ```
//!
//! Exit code 0 when every test passed (or the dry run found nothing), 1 otherwise, 2 on a
//! usage error.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use genkit_conformance::{
    ConformanceOptions, KnownModels, Registry, Suite, dry_run, dry_run_in, load_suites, parse_supports,
    run_suites_with, testing::register_test_models,
};

const USAGE: &str = "\
Usage: genkit-conformance [options] [model]
       genkit-conformance --dry-run [options] <suite-file>...

Runs the model conformance tests of `genkit dev:test-model` in-process.

Options:
  --from-file <file>   a suite file (YAML if .yaml/.yml, else JSON); repeatable
  --supports <list>    comma-separated built-in capabilities for suites with neither
                       `supports` nor `tests` (default: the CLI's default list)
  --test-models        register this repo's test models: test/echo, test/conformant
  --dry-run            only validate the suite files (no model is called)
  --models <list>      with --dry-run: the model names that exist (else, with
                       --test-models, the registry is asked; else models are not checked)
  --json               print the report (or the problems) as JSON
  -h, --help           show this help
";

#[derive(Debug, Default)]
struct Args {
    files: Vec<PathBuf>,
    supports: Option<String>,
    test_models: bool,
    dry_run: bool,
    models: Option<String>,
    json: bool,
    positional: Vec<String>,
}

/// Parses the arguments (without the program name); `None` for `--help`.
fn parse_args(args: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut a = Args::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("from-file") => a.files.push(PathBuf::from(parser.value()?)),
            Long("supports") => a.supports = Some(parser.value()?.string()?),
            Long("models") => a.models = Some(parser.value()?.string()?),
            Long("test-models") => a.test_models = true,
            Long("dry-run") => a.dry_run = true,
            Long("json") => a.json = true,
            Value(v) => a.positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let registry = Registry::new();
    if args.test_models
        && let Err(e) = register_test_models(&registry)
    {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if args.dry_run {
        return dry(&args, &registry).await;
    }
    let mut suites: Vec<Suite> = Vec::new();
    for f in &args.files {
        match load_suites(f) {
            Ok(s) => suites.extend(s),
            Err(e) => {
                eprintln!("error: {}", e.message());
                return ExitCode::FAILURE;
            }
        }
    }
    match (args.files.is_empty(), args.positional.as_slice()) {
        (true, [model]) => suites.push(Suite::for_model(model.clone())),
        (true, _) => {
            eprintln!("error: Model name is required unless --from-file is used.\n\n{USAGE}");
            return ExitCode::from(2);
        }
        (false, []) => {}
        (false, _) => {
            eprintln!("error: give either a model or --from-file, not both\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut opts = ConformanceOptions::new();
    if let Some(s) = &args.supports {
        opts = opts.default_supports(parse_supports(s));
    }
    if !args.json {
        opts = opts.on_outcome(|o| eprintln!("{o}"));
    }
    let report = run_suites_with(&registry, &suites, &opts).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json()).unwrap_or_default());
    } else {
        eprintln!();
        print!("{report}");
    }
    if report.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn dry(args: &Args, registry: &Registry) -> ExitCode {
    let mut files = args.files.clone();
    files.extend(args.positional.iter().map(PathBuf::from));
    if files.is_empty() {
        eprintln!("error: --dry-run needs suite files\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let problems = match (&args.models, args.test_models) {
        (Some(list), _) => {
            dry_run(&files, &KnownModels::names(list.split(',').map(str::trim).filter(|s| !s.is_empty())))
        }
        (None, true) => dry_run_in(registry, &files).await,
        (None, false) => dry_run(&files, &KnownModels::Unchecked),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&problems).unwrap_or_default());
    } else {
        for p in &problems {
            println!("{p}");
        }
        println!("{} file(s) checked, {} problem(s)", files.len(), problems.len());
    }
    if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Result<Option<Args>, lexopt::Error> {
        parse_args(s.iter().copied())
    }

    #[test]
    fn parses_options() {
        let a = args(&["--test-models", "--supports", "multiturn", "--json", "test/echo"]).unwrap().unwrap();
        assert!(a.test_models && a.json && !a.dry_run);
        assert_eq!(a.supports.as_deref(), Some("multiturn"));
        assert_eq!(a.positional, ["test/echo"]);
        let a = args(&["--dry-run", "--from-file", "a.yaml", "b.yml"]).unwrap().unwrap();
        assert_eq!(a.files, [PathBuf::from("a.yaml")]);
        assert_eq!(a.positional, ["b.yml"]);
        let a = args(&["--dry-run", "--models", "a/b,c/d", "--test-models", "s.yaml"]).unwrap().unwrap();
        assert!(a.dry_run && a.test_models);
        assert_eq!(a.models.as_deref(), Some("a/b,c/d"));
        // `--name=value` works too; a value may start with `-`.
        let a = args(&["--supports=tools", "--from-file", "-odd.yaml"]).unwrap().unwrap();
        assert_eq!(a.supports.as_deref(), Some("tools"));
        assert_eq!(a.files, [PathBuf::from("-odd.yaml")]);
        assert!(args(&["--help"]).unwrap().is_none());
        assert!(args(&["-h"]).unwrap().is_none());
        assert_eq!(args(&["--supports"]).unwrap_err().to_string(), "missing argument for option '--supports'");
        assert_eq!(args(&["--nope"]).unwrap_err().to_string(), "invalid option '--nope'");
        assert!(args(&["--json=yes"]).is_err());
    }
}
