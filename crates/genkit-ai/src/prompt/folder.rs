//! Loading `.prompt` files from a folder or from sources embedded in the binary.
//!
//! `_name.prompt` is a partial `name`; `name.prompt` a prompt, `name.variant.prompt` its
//! variant, `sub/name.prompt` the prompt `sub/name`. Files are parsed and their templates
//! compiled when loaded (so malformed frontmatter, a malformed template or an unknown helper
//! is an error naming the file and the line); their metadata is resolved on first use (so
//! schemas defined after loading still resolve).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dotprompt::{ErrorKind, Missing, ParsedPrompt, PromptMetadata};
use genkit_core::{Error, Registry, Result};

use super::state::{FileSource, PromptState};
use super::{action, convert_error, environment};

/// Prompt files embedded in the binary: `(path relative to the folder, source)` pairs, as
/// `genkit::embed_prompts!` produces them.
pub type EmbeddedPrompts = &'static [(&'static str, &'static str)];

/// One file to load.
struct PromptFile {
    /// Path relative to the folder, with `/` separators.
    relative: String,
    /// The name used in error messages.
    shown: String,
    source: String,
}

/// Frontmatter keys Genkit reads from a prompt file's raw frontmatter besides the ones Dotprompt
/// interprets (see `file.rs`): they are not reported as unknown.
const GENKIT_FRONTMATTER_KEYS: [&str; 5] = ["maxTurns", "toolChoice", "returnToolRequests", "use", "metadata"];

/// Collects the `.prompt` files under `dir`. `ancestors` holds the canonical paths of the
/// folders being walked, from the root down: a folder reached again through a symbolic link
/// (a link to a parent, or to itself) would be walked forever, so it is skipped with a warning.
/// A folder linked from two places that is not its own ancestor is still walked under both names.
fn walk(root: &Path, dir: &Path, ancestors: &mut Vec<PathBuf>, out: &mut Vec<PromptFile>) -> Result<()> {
    let read_err = |p: &Path, e: std::io::Error| {
        Error::internal(format!("cannot read the prompt folder entry {}: {e}", p.display())).with_source(e)
    };
    let canonical = std::fs::canonicalize(dir).map_err(|e| read_err(dir, e))?;
    if ancestors.contains(&canonical) {
        tracing::warn!(
            "skipping the prompt folder {}: it is {} reached again through a symbolic link (a loop)",
            dir.display(),
            canonical.display()
        );
        return Ok(());
    }
    ancestors.push(canonical);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| read_err(dir, e))?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(root, &path, ancestors, out)?;
        } else if path.extension().is_some_and(|e| e == "prompt") {
            let source = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push(PromptFile { relative, shown: path.display().to_string(), source });
        }
    }
    ancestors.pop();
    Ok(())
}

/// Loads every `.prompt` file under `dir` (recursively) into `registry`; a missing folder is
/// skipped. Prompt names are prefixed with `namespace/` when given. Returns the number of
/// prompts (not partials) loaded.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the file and line for malformed frontmatter, a malformed
/// template or an unknown helper; `INTERNAL` when a file cannot be read.
pub fn load_prompt_dir(registry: &Registry, dir: impl AsRef<Path>, namespace: Option<&str>) -> Result<usize> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        tracing::debug!("prompt folder {} not found; no prompts loaded from it", dir.display());
        return Ok(0);
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut Vec::new(), &mut files)?;
    load_files(registry, files, namespace)
}

/// Loads prompt files given as `(relative path, source)` pairs (for example embedded in the
/// binary with `genkit::embed_prompts!`) exactly like [`load_prompt_dir`] loads a folder.
/// Entries not ending in `.prompt` are ignored.
///
/// # Errors
/// As [`load_prompt_dir`].
pub fn load_prompt_sources<'a>(
    registry: &Registry,
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    namespace: Option<&str>,
) -> Result<usize> {
    let files = files
        .into_iter()
        .filter(|(p, _)| p.ends_with(".prompt"))
        .map(|(p, s)| {
            let relative = p.replace('\\', "/");
            PromptFile { shown: relative.clone(), relative, source: s.to_owned() }
        })
        .collect();
    load_files(registry, files, namespace)
}

/// Warns about each top-level frontmatter key that neither Dotprompt nor Genkit reads (a typo
/// such as `modle:` would otherwise be silently ignored), naming the file and line. Namespaced
/// keys (`myext.flag`) are extension data and are not reported.
fn warn_unknown_keys(f: &PromptFile) {
    for unknown in dotprompt::unknown_keys(&f.source, &GENKIT_FRONTMATTER_KEYS) {
        let at = unknown.line.map_or_else(|| f.shown.clone(), |l| format!("{}:{l}", f.shown));
        tracing::warn!(
            "{at}: unknown frontmatter key `{}` is ignored (known keys: {}, {}; use a namespaced key such as \
             `myext.{}` for extension data)",
            unknown.key,
            dotprompt::RESERVED_METADATA_KEYWORDS.join(", "),
            GENKIT_FRONTMATTER_KEYS.join(", "),
            unknown.key
        );
    }
}

fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

fn load_files(registry: &Registry, files: Vec<PromptFile>, namespace: Option<&str>) -> Result<usize> {
    let dp = environment(registry);
    // Partials first, so prompts can be compiled against them whatever the file order.
    for f in files.iter().filter(|f| file_name(&f.relative).starts_with('_')) {
        let base = file_name(&f.relative);
        let name = &base[1..base.len() - ".prompt".len()];
        dp.define_partial(name, &f.source);
        tracing::debug!("registered Dotprompt partial \"{name}\" from \"{}\"", f.shown);
    }
    let mut count = 0;
    for f in files.into_iter().filter(|f| !file_name(&f.relative).starts_with('_')) {
        let stem = &f.relative[..f.relative.len() - ".prompt".len()];
        // Like JS: the name (with its sub-folder) is split at the first `.` into name and
        // variant.
        let mut pieces = stem.split('.');
        let base = pieces.next().unwrap_or_default();
        let variant = pieces.next().map(str::to_owned);
        let name = match namespace {
            Some(ns) if !ns.is_empty() => format!("{ns}/{base}"),
            _ => base.to_owned(),
        };
        let parsed = dotprompt::parse_strict(&f.source, &f.shown).map_err(|e| convert_error(e, None))?;
        warn_unknown_keys(&f);
        let body = ParsedPrompt {
            meta: PromptMetadata::default(),
            template: parsed.template.clone(),
            template_line_offset: parsed.template_line_offset,
        };
        let compiled = match dp.compile_parsed(body) {
            Ok(c) => Some(c),
            // A partial defined later (`define_partial`) is found when the prompt is first used.
            Err(e) if matches!(e.kind(), ErrorKind::NotFound { item: Missing::Partial, .. }) => None,
            Err(e) => return Err(convert_error(e, Some(&f.shown))),
        };
        let source = FileSource { file: f.shown, parsed, name, variant };
        let state = Arc::new(PromptState::from_file(source, compiled, dp.clone()));
        tracing::debug!("loaded prompt {}", state.key);
        action::register(registry, &state)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("genkit-prompt-folder-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_skipped() {
        let dir = temp_dir("loop");
        std::fs::write(dir.join("top.prompt"), "Hello").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/inner.prompt"), "Inner").unwrap();
        // A link to the parent and a link to itself: both loops.
        std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
        std::os::unix::fs::symlink(".", dir.join("sub/here")).unwrap();
        // A link to a sibling folder is not a loop and is still followed.
        std::fs::create_dir(dir.join("shared")).unwrap();
        std::fs::write(dir.join("shared/common.prompt"), "Common").unwrap();
        std::os::unix::fs::symlink("../shared", dir.join("sub/linked")).unwrap();
        let registry = Registry::new();
        let n = load_prompt_dir(&registry, &dir, None).unwrap();
        // top, sub/inner, shared/common and sub/linked/common.
        assert_eq!(n, 4);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(feature = "testing")]
    #[test]
    fn unknown_frontmatter_keys_are_warned_about_with_file_and_line() {
        let (logs, _guard) = genkit_core::testing::LogCapture::start();
        let registry = Registry::new();
        let source = "---\nmodel: m\nmodle: typo\nmaxTurns: 2\nmyext.flag: true\n---\nHi";
        load_prompt_sources(&registry, [("greet.prompt", source)], None).unwrap();
        let warnings = logs.lines_at("WARN");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("greet.prompt:3: unknown frontmatter key `modle`"), "{warnings:?}");
        // Keys Dotprompt or Genkit read, and namespaced ones, are not reported.
        for key in ["maxTurns", "myext", "model:"] {
            assert!(!warnings[0].contains(&format!("`{key}`")), "{warnings:?}");
        }
    }
}
