//! [`SessionData`], what a chat session persists (Genkit's `SessionData`), and its mapping
//! onto the agents' [`SessionState`], so that a chat session can live in any snapshot
//! [`SessionStore`](crate::experimental::session::SessionStore).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::experimental::session::{Artifact, SessionState};
use crate::{Message, Part};

/// The thread a chat uses when none is named (JS `MAIN_THREAD`).
pub const MAIN_THREAD: &str = "main";

/// The artifact metadata key that marks an artifact as a chat thread other than
/// [`MAIN_THREAD`], with the thread name as its value (see [`SessionData::into_state`]).
pub const THREAD_ARTIFACT_KEY: &str = "chatThread";

/// The name prefix of thread artifacts: thread `t` is the artifact `chatThread:t`.
const THREAD_ARTIFACT_PREFIX: &str = "chatThread:";

/// Everything a chat session persists (JS `SessionData`): its id, the app state and the
/// messages of each named thread.
///
/// ```
/// use genkit_ai::experimental::chat::SessionData;
/// let d: SessionData = serde_json::from_value(serde_json::json!({
///     "id": "s1", "state": {"name": "Ada"}, "threads": {"main": [{"role": "user", "content": [{"text": "hi"}]}]}
/// })).unwrap();
/// assert_eq!(d.thread("main").len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    /// The session id.
    pub id: String,
    /// The app-defined state (what prompts read as `@state`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::types::part::present")]
    pub state: Option<Value>,
    /// The messages of each thread, by thread name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<BTreeMap<String, Vec<Message>>>,
}

impl SessionData {
    /// Empty data for session `id`.
    pub fn new(id: impl Into<String>) -> SessionData {
        SessionData { id: id.into(), state: None, threads: None }
    }

    /// The messages of `thread` (empty when it has none).
    pub fn thread(&self, thread: &str) -> &[Message] {
        self.threads.as_ref().and_then(|t| t.get(thread)).map_or(&[], Vec::as_slice)
    }

    /// The data as the agents' session state, as [`SnapshotSessionDataStore`] saves it:
    /// `custom` is the app state, `messages` the [`MAIN_THREAD`], and every other thread is an
    /// artifact named `chatThread:<thread>` with metadata `{"chatThread": "<thread>"}` holding
    /// one `data` part per message. `artifacts` are other artifacts to keep (those of an
    /// agent that shares the session); thread artifacts among them are replaced.
    ///
    /// [`SnapshotSessionDataStore`]: super::SnapshotSessionDataStore
    pub fn into_state(self, artifacts: Vec<Artifact>) -> SessionState {
        let mut threads = self.threads.unwrap_or_default();
        let main = threads.remove(MAIN_THREAD);
        let mut all: Vec<Artifact> = artifacts.into_iter().filter(|a| thread_of(a).is_none()).collect();
        for (name, messages) in threads {
            // A message always serializes (its maps have string keys).
            let parts = messages.iter().filter_map(|m| serde_json::to_value(m).ok()).map(Part::data).collect();
            let mut metadata = Map::new();
            metadata.insert(THREAD_ARTIFACT_KEY.to_owned(), Value::String(name.clone()));
            all.push(Artifact {
                name: Some(format!("{THREAD_ARTIFACT_PREFIX}{name}")),
                parts,
                metadata: Some(metadata),
            });
        }
        SessionState {
            session_id: Some(self.id),
            messages: main,
            custom: self.state,
            artifacts: (!all.is_empty()).then_some(all),
        }
    }

    /// The data a session state holds (the reverse of [`SessionData::into_state`]), with the
    /// artifacts that are not threads. `id` is used when the state names no session.
    pub fn from_state(id: &str, state: SessionState) -> (SessionData, Vec<Artifact>) {
        let mut threads = BTreeMap::new();
        if let Some(main) = state.messages {
            threads.insert(MAIN_THREAD.to_owned(), main);
        }
        let mut others = Vec::new();
        for a in state.artifacts.unwrap_or_default() {
            match thread_of(&a) {
                Some(name) => {
                    let messages =
                        a.parts.iter().filter_map(|p| p.data.as_deref()).filter_map(|d| Message::deserialize(d).ok());
                    threads.insert(name.to_owned(), messages.collect());
                }
                None => others.push(a),
            }
        }
        let data = SessionData {
            id: state.session_id.filter(|s| !s.is_empty()).unwrap_or_else(|| id.to_owned()),
            state: state.custom,
            threads: Some(threads),
        };
        (data, others)
    }
}

/// The thread an artifact holds, when it is a thread artifact.
fn thread_of(a: &Artifact) -> Option<&str> {
    let name = a.metadata.as_ref()?.get(THREAD_ARTIFACT_KEY)?.as_str()?;
    (a.name.as_deref()?.strip_prefix(THREAD_ARTIFACT_PREFIX)? == name).then_some(name)
}

/// Marks messages as the chat's preamble (`metadata.preamble = true`, JS `tagAsPreamble`).
pub(crate) fn tag_as_preamble(messages: Vec<Message>) -> Vec<Message> {
    messages
        .into_iter()
        .map(|mut m| {
            m.metadata.get_or_insert_with(Map::new).insert("preamble".to_owned(), Value::Bool(true));
            m
        })
        .collect()
}

/// Whether a message is part of a chat's preamble.
pub(crate) fn is_preamble(m: &Message) -> bool {
    m.metadata.as_ref().and_then(|md| md.get("preamble")).is_some_and(genkit_core::js::truthy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> SessionData {
        let mut threads = BTreeMap::new();
        threads.insert(MAIN_THREAD.to_owned(), vec![Message::user("hi"), Message::model("hello")]);
        threads.insert("lawyer".to_owned(), vec![Message::user("sue them")]);
        SessionData { id: "s1".into(), state: Some(json!({"name": "Ada"})), threads: Some(threads) }
    }

    #[test]
    fn session_data_has_the_wire_shape_with_optional_fields_omitted() {
        let wire = json!({"id": "s1", "state": {"name": "Ada"}, "threads": {
            "lawyer": [{"role": "user", "content": [{"text": "sue them"}]}],
            "main": [{"role": "user", "content": [{"text": "hi"}]}, {"role": "model", "content": [{"text": "hello"}]}]
        }});
        assert_eq!(serde_json::to_value(data()).unwrap(), wire);
        assert_eq!(serde_json::from_value::<SessionData>(wire).unwrap(), data());
        assert_eq!(serde_json::to_value(SessionData::new("x")).unwrap(), json!({"id": "x"}));
        let null_state: SessionData = serde_json::from_value(json!({"id": "x", "state": null})).unwrap();
        assert_eq!(null_state.state, Some(Value::Null));
    }

    #[test]
    fn threads_map_onto_messages_and_thread_artifacts_and_back() {
        let other = Artifact::new("report", vec![Part::text("r")]);
        let state = data().into_state(vec![other.clone()]);
        assert_eq!(state.session_id.as_deref(), Some("s1"));
        assert_eq!(state.custom, Some(json!({"name": "Ada"})));
        assert_eq!(state.messages.as_ref().map(Vec::len), Some(2));
        let wire = serde_json::to_value(&state).unwrap();
        assert_eq!(
            wire["artifacts"][1],
            json!({"name": "chatThread:lawyer", "metadata": {"chatThread": "lawyer"},
                   "parts": [{"data": {"role": "user", "content": [{"text": "sue them"}]}}]})
        );
        let (back, artifacts) = SessionData::from_state("ignored", state.clone());
        assert_eq!(back, data());
        assert_eq!(artifacts, vec![other]);
        // Saving again replaces the old thread artifacts instead of piling them up.
        let again = back.into_state(state.artifacts.unwrap());
        assert_eq!(again.artifacts.unwrap().len(), 2);
    }

    #[test]
    fn a_state_an_agent_wrote_reads_as_the_main_thread() {
        let state = SessionState { messages: Some(vec![Message::user("q")]), ..SessionState::default() };
        let (d, _) = SessionData::from_state("s9", state);
        assert_eq!(d.id, "s9");
        assert_eq!(d.thread(MAIN_THREAD), &[Message::user("q")]);
        assert!(d.thread("other").is_empty());
        assert_eq!(d.state, None);
    }

    #[test]
    fn an_artifact_is_a_thread_only_when_name_and_metadata_agree() {
        let mut a = Artifact::new("chatThread:x", vec![]);
        assert!(thread_of(&a).is_none());
        a.metadata = Some(Map::from_iter([(THREAD_ARTIFACT_KEY.to_owned(), json!("y"))]));
        assert!(thread_of(&a).is_none());
        a.metadata = Some(Map::from_iter([(THREAD_ARTIFACT_KEY.to_owned(), json!("x"))]));
        assert_eq!(thread_of(&a), Some("x"));
    }

    #[test]
    fn preamble_tags_are_set_and_read() {
        let m = tag_as_preamble(vec![Message::system("be nice")]);
        assert!(is_preamble(&m[0]));
        assert_eq!(m[0].metadata.as_ref().unwrap()["preamble"], json!(true));
        assert!(!is_preamble(&Message::user("x")));
    }
}
