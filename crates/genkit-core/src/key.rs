//! Action types and registry keys (`/<type>/<name>`), and how keys are parsed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result, Status};

/// The kind of an action; the first segment of its registry key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ActionType {
    /// `custom`: a user action defined with `define_action`.
    Custom,
    /// `flow`.
    Flow,
    /// `model`.
    Model,
    /// `background-model`.
    BackgroundModel,
    /// `check-operation`.
    CheckOperation,
    /// `cancel-operation`.
    CancelOperation,
    /// `tool`.
    Tool,
    /// `tool.v2` (multipart tools).
    ToolV2,
    /// `prompt`.
    Prompt,
    /// `executable-prompt`.
    ExecutablePrompt,
    /// `embedder`.
    Embedder,
    /// `retriever`.
    Retriever,
    /// `indexer`.
    Indexer,
    /// `reranker`.
    Reranker,
    /// `evaluator`.
    Evaluator,
    /// `resource`.
    Resource,
    /// `util` (e.g. `/util/generate`).
    Util,
    /// `dynamic-action-provider`.
    DynamicActionProvider,
    /// `agent` (1.42).
    Agent,
    /// `agent-snapshot` (1.42).
    AgentSnapshot,
    /// `agent-abort` (1.42).
    AgentAbort,
}

impl ActionType {
    /// Every action type.
    pub const ALL: [ActionType; 21] = [
        ActionType::Custom,
        ActionType::Flow,
        ActionType::Model,
        ActionType::BackgroundModel,
        ActionType::CheckOperation,
        ActionType::CancelOperation,
        ActionType::Tool,
        ActionType::ToolV2,
        ActionType::Prompt,
        ActionType::ExecutablePrompt,
        ActionType::Embedder,
        ActionType::Retriever,
        ActionType::Indexer,
        ActionType::Reranker,
        ActionType::Evaluator,
        ActionType::Resource,
        ActionType::Util,
        ActionType::DynamicActionProvider,
        ActionType::Agent,
        ActionType::AgentSnapshot,
        ActionType::AgentAbort,
    ];

    /// The wire name, e.g. `"background-model"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionType::Custom => "custom",
            ActionType::Flow => "flow",
            ActionType::Model => "model",
            ActionType::BackgroundModel => "background-model",
            ActionType::CheckOperation => "check-operation",
            ActionType::CancelOperation => "cancel-operation",
            ActionType::Tool => "tool",
            ActionType::ToolV2 => "tool.v2",
            ActionType::Prompt => "prompt",
            ActionType::ExecutablePrompt => "executable-prompt",
            ActionType::Embedder => "embedder",
            ActionType::Retriever => "retriever",
            ActionType::Indexer => "indexer",
            ActionType::Reranker => "reranker",
            ActionType::Evaluator => "evaluator",
            ActionType::Resource => "resource",
            ActionType::Util => "util",
            ActionType::DynamicActionProvider => "dynamic-action-provider",
            ActionType::Agent => "agent",
            ActionType::AgentSnapshot => "agent-snapshot",
            ActionType::AgentAbort => "agent-abort",
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ActionType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::new(Status::InvalidArgument, format!("unknown action type '{s}'")))
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Builds the registry key `/<type>/<name>`.
///
/// ```
/// use genkit_core::{action_key, ActionType};
/// assert_eq!(action_key(ActionType::Model, "openai/gpt-4o"), "/model/openai/gpt-4o");
/// ```
pub fn action_key(action_type: ActionType, name: &str) -> String {
    let t = action_type.as_str();
    let mut k = String::with_capacity(2 + t.len() + name.len());
    k.push('/');
    k.push_str(t);
    k.push('/');
    k.push_str(name);
    k
}

/// A parsed registry key (JS `parseRegistryKey`).
///
/// ```
/// use genkit_core::{ActionType, ParsedKey};
/// let k = ParsedKey::parse("/model/googleai/gemini-2.5-flash").unwrap();
/// assert_eq!(k.action_type, ActionType::Model);
/// assert_eq!(k.plugin_name.as_deref(), Some("googleai"));
/// assert_eq!(k.action_name, "gemini-2.5-flash");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// The action type (first segment).
    pub action_type: ActionType,
    /// The plugin namespace, when the key has four or more `/`-segments.
    pub plugin_name: Option<String>,
    /// The action name without the plugin namespace.
    pub action_name: String,
    /// For dynamic-action-provider child keys (`/dynamic-action-provider/<dap>:<type>/<name>`),
    /// the provider's name.
    pub dynamic_action_host: Option<String>,
}

impl ParsedKey {
    /// Parses a key with the JS rules.
    ///
    /// One deliberate difference: in a dynamic-action-provider child key the action name is
    /// everything after the first `:` and the type, so `/dynamic-action-provider/mcp:tool/a:b`
    /// names the action `a:b`; JS splits on every `:` and silently drops the rest (`a`). JS
    /// also accepts an empty host or action name, which this rejects.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the key has fewer than three `/`-segments, an unknown type,
    /// or a malformed dynamic-action-provider part.
    pub fn parse(key: &str) -> Result<ParsedKey> {
        let invalid = || Error::new(Status::InvalidArgument, format!("invalid action key '{key}'"));
        if key.starts_with("/dynamic-action-provider") {
            let (host_part, child) = match key.split_once(':') {
                Some((h, c)) => (h, Some(c)),
                None => (key, None),
            };
            let host = host_part.split('/').nth(2).filter(|h| !h.is_empty()).ok_or_else(invalid)?;
            let Some(child) = child else {
                return Ok(ParsedKey {
                    action_type: ActionType::DynamicActionProvider,
                    plugin_name: None,
                    action_name: host.to_owned(),
                    dynamic_action_host: None,
                });
            };
            let (t, name) = child.split_once('/').ok_or_else(invalid)?;
            if name.is_empty() {
                return Err(invalid());
            }
            return Ok(ParsedKey {
                action_type: t.parse().map_err(|_| invalid())?,
                plugin_name: None,
                action_name: name.to_owned(),
                dynamic_action_host: Some(host.to_owned()),
            });
        }
        let mut parts = key.split('/');
        let (Some(""), Some(t), Some(second)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let action_type: ActionType = t.parse().map_err(|_| invalid())?;
        let rest_start = 1 + t.len() + 1 + second.len();
        if rest_start < key.len() {
            Ok(ParsedKey {
                action_type,
                plugin_name: Some(second.to_owned()),
                action_name: key[rest_start + 1..].to_owned(),
                dynamic_action_host: None,
            })
        } else {
            if second.is_empty() {
                return Err(invalid());
            }
            Ok(ParsedKey { action_type, plugin_name: None, action_name: second.to_owned(), dynamic_action_host: None })
        }
    }

    /// The full action name (`plugin/name` or `name`).
    pub fn full_name(&self) -> String {
        match &self.plugin_name {
            Some(p) => format!("{p}/{}", self.action_name),
            None => self.action_name.clone(),
        }
    }
}

/// Splits a key's plugin segment without allocating: `/<type>/<plugin>/<rest>` → `plugin`.
pub(crate) fn plugin_segment(key: &str) -> Option<&str> {
    let rest = key.strip_prefix('/')?;
    let (_, rest) = rest.split_once('/')?;
    let (plugin, name) = rest.split_once('/')?;
    (!plugin.is_empty() && !name.is_empty()).then_some(plugin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_plugin_keys() {
        let k = ParsedKey::parse("/flow/hello").unwrap();
        assert_eq!((k.action_type, k.plugin_name, k.action_name.as_str()), (ActionType::Flow, None, "hello"));
        let k = ParsedKey::parse("/prompt/my-plugin/folder/my-prompt").unwrap();
        assert_eq!(k.plugin_name.as_deref(), Some("my-plugin"));
        assert_eq!(k.action_name, "folder/my-prompt");
        assert_eq!(k.full_name(), "my-plugin/folder/my-prompt");
        let k = ParsedKey::parse("/tool.v2/t").unwrap();
        assert_eq!(k.action_type, ActionType::ToolV2);
    }

    #[test]
    fn parses_dap_keys() {
        let k = ParsedKey::parse("/dynamic-action-provider/mcp").unwrap();
        assert_eq!(k.action_type, ActionType::DynamicActionProvider);
        assert_eq!(k.action_name, "mcp");
        let k = ParsedKey::parse("/dynamic-action-provider/mcp:tool/fs/read").unwrap();
        assert_eq!(k.dynamic_action_host.as_deref(), Some("mcp"));
        assert_eq!(k.action_type, ActionType::Tool);
        assert_eq!(k.action_name, "fs/read");
        assert!(ParsedKey::parse("/dynamic-action-provider/mcp:bogus/x").is_err());
        assert!(ParsedKey::parse("/dynamic-action-provider/mcp:tool").is_err());
        assert!(ParsedKey::parse("/dynamic-action-provider").is_err());
        // A second `:` stays in the name (JS would truncate the name to `a`).
        let k = ParsedKey::parse("/dynamic-action-provider/mcp:tool/a:b").unwrap();
        assert_eq!(k.dynamic_action_host.as_deref(), Some("mcp"));
        assert_eq!(k.action_type, ActionType::Tool);
        assert_eq!(k.action_name, "a:b");
        assert_eq!(k.plugin_name, None);
    }

    #[test]
    fn rejects_invalid_keys() {
        for k in [
            "",
            "flow/x",
            "/flow",
            "/flow/",
            "/nope/x",
            "//x",
            "x/y/z",
            // The host part has fewer than three `/`-tokens.
            "/dynamic-action-provider:tool/x",
        ] {
            let e = ParsedKey::parse(k).unwrap_err();
            assert_eq!(e.status(), Status::InvalidArgument, "{k}");
        }
    }

    /// A tiny deterministic generator (xorshift) of keys built from the characters that
    /// matter to the parser, plus multi-byte ones (byte slicing must stay on char boundaries).
    fn generated_keys(n: usize) -> Vec<String> {
        const PIECES: [&str; 16] = [
            "/",
            "/",
            ":",
            "*",
            "model",
            "tool",
            "flow",
            "dynamic-action-provider",
            "mcp",
            "a",
            "é",
            "😀",
            "",
            ".",
            "/dynamic-action-provider",
            "/model/",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(|_| {
                let len = (next() % 9) as usize;
                (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect()
            })
            .collect()
    }

    #[test]
    fn parse_never_panics_and_plain_keys_round_trip() {
        let mut ok = 0;
        for key in generated_keys(5000) {
            let Ok(k) = ParsedKey::parse(&key) else { continue };
            ok += 1;
            if k.dynamic_action_host.is_none() && k.action_type != ActionType::DynamicActionProvider {
                assert_eq!(action_key(k.action_type, &k.full_name()), key, "{key:?} → {k:?}");
                assert_eq!(
                    plugin_segment(&key).is_some(),
                    k.plugin_name.as_deref().is_some_and(|p| !p.is_empty()) && !k.action_name.is_empty(),
                    "{key:?}"
                );
            }
        }
        // The generator reaches valid keys too, not only rejections.
        assert!(ok > 50, "only {ok} generated keys parsed");
    }

    #[test]
    fn plugin_segment_matches_parse() {
        assert_eq!(plugin_segment("/model/openai/gpt-4o"), Some("openai"));
        assert_eq!(plugin_segment("/model/echo"), None);
        assert_eq!(plugin_segment("/model/a/b/c"), Some("a"));
    }

    #[test]
    fn action_types_round_trip() {
        for t in ActionType::ALL {
            assert_eq!(t.as_str().parse::<ActionType>().unwrap(), t);
            let v = serde_json::to_value(t).unwrap();
            assert_eq!(serde_json::from_value::<ActionType>(v).unwrap(), t);
        }
    }
}
