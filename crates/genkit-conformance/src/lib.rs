//! Model conformance for Genkit for Rust: the suites, built-in test cases and validators of
//! `genkit dev:test-model` (genkit-cli 1.43), run in-process against a [`Registry`], so
//! conformance runs without Node and without a reflection server.
//!
//! - **Suites** ([`Suite`], [`load_suites`], [`parse_suites_yaml`]): the `--from-file`
//!   format (YAML or JSON, one suite or an array) with the CLI's defaulting rules.
//! - **Built-in cases** ([`builtin::case`], [`CAPABILITIES`], [`DEFAULT_SUPPORTS`]): the same
//!   names, requests and validators as the CLI, image included.
//! - **Validators** ([`validate`]): the CLI's checks, first-part text rules included.
//! - **Running** ([`run_suites`], [`run_suites_with`]): suites in order, the tests of a suite
//!   concurrently; a [`Report`] prints like the CLI and compares with its output
//!   ([`Report::from_cli_output`], [`Report::diff`]).
//! - **Dry runs** ([`check_suites`], [`check_suites_in`], [`dry_run`], [`dry_run_in`]):
//!   parse and check suites, capabilities, validators and models without calling a model.
//! - **Test models** ([`testing`]): the repo's echo model and a scripted conformant model.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit_core::Result<()> {
//! use genkit_conformance::{parse_suites_yaml, run_suites, testing::register_test_models};
//! let registry = genkit_core::Registry::new(); // or `g.registry()` with the `Genkit` facade
//! register_test_models(&registry)?;
//! let suites = parse_suites_yaml("model: test/echo\nsupports: [multiturn, system-role]\n")?;
//! let report = run_suites(&registry, &suites).await;
//! assert_eq!(report.summary(), "Tests Completed: 1 Passed, 1 Failed");
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! The guide is `docs/conformance.md`.

pub mod builtin;
mod check;
pub mod entry;
mod report;
mod runner;
mod suite;
pub mod testing;
mod validator;

pub use builtin::{CAPABILITIES, DEFAULT_SUPPORTS, default_supports, parse_supports};
pub use check::{KnownModels, Problem, check_suites, check_suites_in, dry_run, dry_run_in};
pub use genkit_core::Registry;
pub use report::{MISSING_MODEL, MISSING_MODEL_TEST, Report, SEPARATOR, SuiteReport, TestOutcome};
pub use runner::{ConformanceOptions, run_case, run_suite, run_suites, run_suites_with};
pub use suite::{
    DEFAULT_TEST_NAME, Suite, TestCase, TestSpec, load_suites, model_key, parse_suites_json, parse_suites_yaml,
    suites_from_value,
};
pub use validator::{VALIDATORS, is_validator, needs_stream, split_validator, validate};
