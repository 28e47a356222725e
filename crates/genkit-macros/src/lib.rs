//! Procedural macros of Genkit for Rust. Use them through the `genkit` crate
//! (`genkit::embed_prompts!`).
//!
//! The macros parse their input by hand from the token stream, so this crate has no
//! dependencies.

use std::path::{Path, PathBuf};

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// Embeds a folder of `.prompt` files in the binary.
///
/// `embed_prompts!("prompts")` walks the folder (relative to the `Cargo.toml` of the crate
/// being compiled, or an absolute path) at compile time and expands to a
/// `&'static [(&'static str, &'static str)]` of `(path relative to the folder, source)`
/// pairs, sorted by path. Each source is an `include_str!` of the file, so editing a prompt
/// rebuilds the crate; adding or removing a file needs a rebuild of the crate (touch a source
/// file, or add `println!("cargo:rerun-if-changed=prompts")` to a build script).
///
/// ```ignore
/// static PROMPTS: genkit::ai::prompt::EmbeddedPrompts = genkit::embed_prompts!("prompts");
/// let g = genkit::Genkit::builder().embedded_prompts(PROMPTS).build().await?;
/// ```
#[proc_macro]
pub fn embed_prompts(input: TokenStream) -> TokenStream {
    match expand_embed_prompts(input) {
        Ok(code) => code.parse().unwrap_or_else(|_| compile_error("embed_prompts!: internal expansion error")),
        Err(message) => compile_error(&message),
    }
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?})").parse().unwrap_or_default()
}

/// The single string literal of the macro input (possibly wrapped in invisible groups when
/// passed through `macro_rules!`).
fn string_argument(input: TokenStream) -> Result<String, String> {
    const USAGE: &str = "embed_prompts! takes one string literal: the prompt folder, e.g. embed_prompts!(\"prompts\")";
    let mut tokens: Vec<TokenTree> = input.into_iter().collect();
    loop {
        match tokens.as_slice() {
            [TokenTree::Group(g)] if g.delimiter() == Delimiter::None => tokens = g.stream().into_iter().collect(),
            [TokenTree::Literal(lit)] => return parse_string_literal(&lit.to_string()).ok_or_else(|| USAGE.to_owned()),
            _ => return Err(USAGE.to_owned()),
        }
    }
}

/// The value of a (raw) string literal as written in source.
fn parse_string_literal(lit: &str) -> Option<String> {
    if let Some(raw) = lit.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw.get(hashes..raw.len().checked_sub(hashes)?)?;
        return body.strip_prefix('"')?.strip_suffix('"').map(str::to_owned);
    }
    let body = lit.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            _ => return None,
        }
    }
    Some(out)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("embed_prompts!: cannot read {}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| format!("embed_prompts!: cannot read {}: {e}", dir.display()))?.path());
    }
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "prompt") {
            let relative = path
                .strip_prefix(root)
                .map_err(|_| format!("embed_prompts!: {} is outside the folder", path.display()))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
    Ok(())
}

fn expand_embed_prompts(input: TokenStream) -> Result<String, String> {
    let folder = string_argument(input)?;
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let root = base.join(&folder);
    if !root.is_dir() {
        return Err(format!("embed_prompts!: the prompt folder {} does not exist", root.display()));
    }
    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    let mut code = String::from("&[");
    for (relative, path) in files {
        let absolute = path.canonicalize().unwrap_or(path);
        let absolute =
            absolute.to_str().ok_or_else(|| format!("embed_prompts!: {} is not UTF-8", absolute.display()))?;
        code.push_str(&format!("({relative:?}, ::core::include_str!({absolute:?})),"));
    }
    code.push(']');
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::parse_string_literal;

    #[test]
    fn string_literals() {
        assert_eq!(parse_string_literal(r#""prompts""#).as_deref(), Some("prompts"));
        assert_eq!(parse_string_literal(r#""a\\b\"c""#).as_deref(), Some(r#"a\b"c"#));
        assert_eq!(parse_string_literal(r#"r"raw\dir""#).as_deref(), Some(r"raw\dir"));
        assert_eq!(parse_string_literal(r###"r#"with "quotes""#"###).as_deref(), Some(r#"with "quotes""#));
        assert_eq!(parse_string_literal("42"), None);
        assert_eq!(parse_string_literal(r#""\x41""#), None);
    }
}
