//! The `skills` generate middleware (JS `@genkit-ai/middleware` `skills`): lists the
//! skills found under the skill directories in the system prompt and offers a `use_skill`
//! tool that returns a skill's `SKILL.md`.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use genkit_core::{Action, Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::filesystem::blocking;
use genkit_ai::middleware::{GenerateEnvelope, GenerateNext, Middleware, MiddlewareDef, MiddlewareUse};
use genkit_ai::tool::{self, ToolConfig};
use genkit_ai::{Message, ModelResponse, Part, Role};

/// The metadata key marking the injected `<skills>` part.
pub const SKILLS_METADATA_KEY: &str = "skills-instructions";

const NO_DESCRIPTION: &str = "No description provided.";

/// Options of [`skills`] (JS `SkillsOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SkillsOptions {
    /// Paths to directories containing skills (default `["skills"]`; relative paths are
    /// resolved against the current directory). Each skill is a sub-directory holding a
    /// `SKILL.md`.
    pub skill_paths: Vec<String>,
}

impl Default for SkillsOptions {
    fn default() -> Self {
        SkillsOptions { skill_paths: vec!["skills".into()] }
    }
}

// ---------------------------------------------------------------- frontmatter

/// JS `\s`.
fn js_space(c: char) -> bool {
    c == '\u{feff}' || (c.is_whitespace() && c != '\u{85}')
}

/// A JS line terminator (what `.` does not match).
fn js_line_end(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// The block of `---\n…\n---` at the very start of `content` (JS
/// `/^---\s*\r?\n([^]*?)\r?\n---/`).
fn frontmatter_block(content: &str) -> Option<&str> {
    let rest = content.strip_prefix("---")?;
    let ws_len = rest.find(|c: char| !js_space(c)).unwrap_or(rest.len());
    // `\s*` is greedy: try the last newline of the leading whitespace first.
    let starts: Vec<usize> = rest[..ws_len].match_indices('\n').map(|(i, _)| i + 1).collect();
    for &start in starts.iter().rev() {
        // `([^]*?)\r?\n---` is lazy: the first closing marker at or after `start`.
        let Some(nl) = rest.get(start..).and_then(|s| s.find("\n---")).map(|f| start + f) else { continue };
        let end = if nl > start && rest.as_bytes().get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
        return rest.get(start..end);
    }
    None
}

/// The value of the first `key:` line of a frontmatter block (JS `/^key:\s*(.+)/m`), trimmed.
fn frontmatter_value(block: &str, key: &str) -> Option<String> {
    let needle = format!("{key}:");
    let mut from = 0;
    while let Some(found) = block.get(from..).and_then(|s| s.find(&needle)) {
        let pos = from + found;
        from = pos + 1;
        let at_line_start = block[..pos].chars().next_back().is_none_or(js_line_end);
        if !at_line_start {
            continue;
        }
        let after = &block[pos + needle.len()..];
        let ws_len = after.find(|c: char| !js_space(c)).unwrap_or(after.len());
        let rest = &after[ws_len..];
        if !rest.is_empty() {
            let line_len = rest.find(js_line_end).unwrap_or(rest.len());
            return Some(rest[..line_len].trim_matches(js_space).to_owned());
        }
        // Backtracking `\s*` lets `.+` take trailing blanks of the key's own line.
        if after[..ws_len].chars().next().is_some_and(|c| !js_line_end(c)) {
            return Some(String::new());
        }
    }
    None
}

// ---------------------------------------------------------------- scanning

#[derive(Debug, Clone)]
struct SkillInfo {
    /// The directory name (the key the model uses).
    name: String,
    /// `name` from the frontmatter, accepted by `use_skill` as an alias.
    alias: Option<String>,
    path: PathBuf,
    description: String,
}

fn scan(paths: &[String]) -> Vec<SkillInfo> {
    let mut skills: Vec<SkillInfo> = Vec::new();
    for p in paths {
        let Ok(dir) = std::path::absolute(p) else { continue };
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = read.filter_map(std::result::Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = dir.join(&name).join("SKILL.md");
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let content = String::from_utf8_lossy(&bytes);
            let block = frontmatter_block(&content);
            let description = block
                .and_then(|b| frontmatter_value(b, "description"))
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| NO_DESCRIPTION.to_owned());
            let alias = block.and_then(|b| frontmatter_value(b, "name")).filter(|n| !n.is_empty() && *n != name);
            let info = SkillInfo { name, alias, path, description };
            // A later path with the same skill name wins but keeps the first position (JS Map).
            match skills.iter_mut().find(|s| s.name == info.name) {
                Some(slot) => *slot = info,
                None => skills.push(info),
            }
        }
    }
    skills
}

/// The `<skills>` block of the system prompt.
fn skills_prompt(skills: &[SkillInfo]) -> String {
    let list: Vec<String> = skills
        .iter()
        .map(|s| {
            if s.description == NO_DESCRIPTION {
                format!(" - {}", s.name)
            } else {
                format!(" - {} - {}", s.name, s.description)
            }
        })
        .collect();
    format!(
        "<skills>\nYou have access to a library of skills that serve as specialized instructions/personas.\nStrongly prefer to use them when working on anything related to them.\nOnly use them once to load the context.\nHere are the available skills:\n{}\n</skills>",
        list.join("\n")
    )
}

/// Puts the `<skills>` part into `messages`: replaces an earlier one whose text changed,
/// else appends it to the first system message, else prepends a system message.
fn inject(messages: &mut Vec<Message>, text: &str) {
    let marked = |p: &Part| {
        p.text.as_deref().is_some_and(|t| !t.is_empty())
            && p.metadata_value(SKILLS_METADATA_KEY) == Some(&Value::Bool(true))
    };
    let part = || Part::text(text).with_metadata(SKILLS_METADATA_KEY, json!(true));
    for m in messages.iter_mut() {
        if let Some(p) = m.content.iter_mut().find(|p| marked(p)) {
            if p.text.as_deref() != Some(text) {
                *p = part();
            }
            return;
        }
    }
    match messages.iter_mut().find(|m| m.role == Role::System) {
        Some(sys) => sys.content.push(part()),
        None => messages.insert(0, Message::new(Role::System, vec![part()])),
    }
}

// ---------------------------------------------------------------- the middleware

struct State {
    paths: Vec<String>,
    cache: OnceCell<Arc<Vec<SkillInfo>>>,
}

impl State {
    /// Scans the skill directories once per middleware instance (i.e. per `generate`).
    async fn skills(&self) -> Result<Arc<Vec<SkillInfo>>> {
        self.cache
            .get_or_try_init(|| {
                let paths = self.paths.clone();
                async move { blocking(move || Ok(Arc::new(scan(&paths)))).await }
            })
            .await
            .cloned()
    }

    async fn use_skill(&self, name: String) -> Result<String> {
        let skills = self.skills().await?;
        let info = skills
            .iter()
            .find(|s| s.name == name)
            .or_else(|| skills.iter().find(|s| s.alias.as_deref() == Some(name.as_str())))
            .ok_or_else(|| Error::not_found(format!("Skill '{name}' not found.")))?;
        let path = info.path.clone();
        blocking(move || {
            std::fs::read(&path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|e| Error::not_found(format!("Failed to read skill \"{name}\": {e}")))
        })
        .await
    }
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct UseSkillInput {
    /// The name of the skill to use.
    skill_name: String,
}

struct Skills {
    state: Arc<State>,
    tool: Arc<dyn Action>,
}

impl Skills {
    fn new(options: SkillsOptions) -> Self {
        let state = Arc::new(State { paths: options.skill_paths, cache: OnceCell::new() });
        let s = state.clone();
        let tool = tool::dynamic::<UseSkillInput, String, _, _>(
            ToolConfig::new("use_skill", "Use a skill by its name."),
            move |input, _cx| {
                let s = s.clone();
                async move { s.use_skill(input.skill_name).await }
            },
        )
        .as_action();
        Skills { state, tool }
    }
}

impl Middleware for Skills {
    async fn wrap_generate(&self, mut env: GenerateEnvelope, next: GenerateNext<'_>) -> Result<ModelResponse> {
        let skills = self.state.skills().await?;
        if !skills.is_empty() {
            inject(&mut env.request.messages, &skills_prompt(&skills));
        }
        next.run(env).await
    }

    fn tools(&self) -> Vec<Arc<dyn Action>> {
        vec![self.tool.clone()]
    }
}

/// The `skills` middleware definition (register it to use `{name: "skills"}` by name).
pub fn skills_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "skills",
            "Injects system instructions and tools for using skills.",
            |options: SkillsOptions, _| Ok(Skills::new(options)),
        )
    })
    .clone()
}

/// Offers the skills found under `skill_paths`: every non-hidden sub-directory with a
/// `SKILL.md` is a skill named after the directory, described by the `description:` of the
/// file's `---` frontmatter. A `<skills>…</skills>` text part listing them (metadata
/// `{"skills-instructions": true}`) is added to the system message (or a new leading system
/// message) of every turn, and the tool `use_skill {skillName}` returns a skill's `SKILL.md`.
///
/// ```
/// use genkit_middleware::{skills, SkillsOptions};
/// let mw = skills(SkillsOptions { skill_paths: vec!["./my-skills".into()] });
/// assert_eq!(mw.to_ref().name, "skills");
/// ```
pub fn skills(options: SkillsOptions) -> MiddlewareUse {
    skills_def().with_config(serde_json::to_value(options).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontmatter_is_parsed_like_the_js_regexes() {
        let c = "---\nname: pirate\ndescription:  Talk like a pirate.  \n---\nbody";
        let b = frontmatter_block(c).unwrap();
        assert_eq!(b, "name: pirate\ndescription:  Talk like a pirate.  ");
        assert_eq!(frontmatter_value(b, "name").as_deref(), Some("pirate"));
        assert_eq!(frontmatter_value(b, "description").as_deref(), Some("Talk like a pirate."));
        assert_eq!(frontmatter_value(b, "other"), None);
        // CRLF and blank lines after the opening marker
        let b = frontmatter_block("---  \r\n\r\ndescription: x\r\n---\r\n").unwrap();
        assert_eq!(frontmatter_value(b, "description").as_deref(), Some("x"));
        // greedy `\s*` first, then backtracking
        assert_eq!(frontmatter_block("---\n---\nbody"), None);
        assert_eq!(frontmatter_block("---\n\n---\nbody"), Some(""));
        assert_eq!(frontmatter_block("---\n\n---\nname: a\n---"), Some("---\nname: a"));
        assert_eq!(frontmatter_block("no frontmatter"), None);
        assert_eq!(frontmatter_block("---\nname: x\n"), None);
        // a key must start a line; `\s*` may run onto the next line
        assert_eq!(frontmatter_value("xname: a\nname: b", "name").as_deref(), Some("b"));
        assert_eq!(frontmatter_value("description:\nnext line", "description").as_deref(), Some("next line"));
        assert_eq!(frontmatter_value("description:  \nx", "description").as_deref(), Some("x"));
        assert_eq!(frontmatter_value("description:\n", "description"), None);
    }

    #[test]
    fn prompt_layout() {
        let s =
            |n: &str, d: &str| SkillInfo { name: n.into(), alias: None, path: PathBuf::new(), description: d.into() };
        assert_eq!(
            skills_prompt(&[s("a", "Does A."), s("b", NO_DESCRIPTION)]),
            "<skills>\nYou have access to a library of skills that serve as specialized instructions/personas.\nStrongly prefer to use them when working on anything related to them.\nOnly use them once to load the context.\nHere are the available skills:\n - a - Does A.\n - b\n</skills>"
        );
    }
}
