//! `GenerateResponseChunk`: a streamed chunk of a generation — the model's chunk data plus
//! where it was streamed (the earlier chunks of its turn and the request's output parser),
//! so it can give its accumulated text and parsed output (JS `GenerateResponseChunk`).

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::format::{ChunkView, FormatHandler};
use crate::{ModelResponseChunk, Role};

/// A chunk streamed by `generate`: its data (fields and accessors through `Deref`, e.g.
/// `chunk.text()`, `chunk.index`) with the turn it belongs to. Serializes exactly as its data;
/// the turn is not part of its value (`==` and the wire form ignore it).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct GenerateResponseChunk {
    data: ModelResponseChunk,
    #[serde(skip)]
    #[schemars(skip)]
    origin: ChunkOrigin,
}

impl std::fmt::Debug for GenerateResponseChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.data.fmt(f)
    }
}

impl From<ModelResponseChunk> for GenerateResponseChunk {
    fn from(data: ModelResponseChunk) -> Self {
        GenerateResponseChunk { data, origin: ChunkOrigin::default() }
    }
}

impl From<GenerateResponseChunk> for ModelResponseChunk {
    fn from(c: GenerateResponseChunk) -> Self {
        c.data
    }
}

impl Deref for GenerateResponseChunk {
    type Target = ModelResponseChunk;
    fn deref(&self) -> &ModelResponseChunk {
        &self.data
    }
}

impl DerefMut for GenerateResponseChunk {
    fn deref_mut(&mut self) -> &mut ModelResponseChunk {
        &mut self.data
    }
}

impl GenerateResponseChunk {
    /// The chunk data.
    pub fn data(&self) -> &ModelResponseChunk {
        &self.data
    }

    /// The chunk data, by value.
    pub fn into_data(self) -> ModelResponseChunk {
        self.data
    }

    /// Where the chunk was streamed (empty on chunks built or deserialized elsewhere).
    pub fn origin(&self) -> &ChunkOrigin {
        &self.origin
    }

    /// The text of the earlier chunks of this chunk's turn (JS `previousText`).
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` (`Cannot compose accumulated text without previous chunks.`)
    /// when the chunk was not streamed by `generate`.
    pub fn previous_text(&self) -> Result<String> {
        match &self.origin.turn {
            Some(turn) => Ok(turn.prefix(self.origin.start)),
            None => {
                Err(Error::new(Status::FailedPrecondition, "Cannot compose accumulated text without previous chunks."))
            }
        }
    }

    /// The text of the earlier chunks of this turn followed by this chunk's text (JS
    /// `accumulatedText`).
    ///
    /// # Errors
    /// As [`Self::previous_text`].
    pub fn accumulated_text(&self) -> Result<String> {
        let mut s = self.previous_text()?;
        push_text(&mut s, &self.data);
        Ok(s)
    }

    /// The structured output streamed so far (JS `chunk.output`): parsed by the request's
    /// output format (`json` → the partial object, `array`/`jsonl` → the items completed in
    /// this chunk, `text` → this chunk's text); without a format, the first data part or
    /// JSON extracted from the accumulated text.
    pub fn output(&self) -> Option<Value> {
        let Some(turn) = &self.origin.turn else {
            return self.data.data().cloned().or_else(|| crate::extract::extract_json(&self.data.text()));
        };
        let mut text = turn.prefix(self.origin.start);
        if let Some(parser) = turn.parser.get() {
            return parser.parse_chunk(ChunkView {
                chunk: &self.data,
                previous_text: &text,
                has_previous: self.origin.count > 0,
            });
        }
        if let Some(d) = self.data.data() {
            return Some(d.clone());
        }
        push_text(&mut text, &self.data);
        crate::extract::extract_json(&text)
    }

    /// [`Self::output`] deserialized as `T` (`None` while it does not deserialize yet).
    pub fn output_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.output().and_then(|v| serde_json::from_value(v).ok())
    }
}

fn push_text(s: &mut String, chunk: &ModelResponseChunk) {
    for p in &chunk.content {
        if let Some(t) = &p.text {
            s.push_str(t);
        }
    }
}

/// Where a streamed chunk came from: its turn and how many chunks came before it.
#[derive(Clone, Default)]
pub struct ChunkOrigin {
    turn: Option<Arc<TurnChunks>>,
    start: usize,
    count: u32,
}

impl ChunkOrigin {
    /// Whether the chunk was streamed by `generate` (and so knows its earlier chunks).
    pub fn is_streamed(&self) -> bool {
        self.turn.is_some()
    }

    /// How many chunks came before this one in its turn (`None` when not streamed).
    pub fn previous_chunk_count(&self) -> Option<u32> {
        self.turn.as_ref().map(|_| self.count)
    }
}

impl std::fmt::Debug for ChunkOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.turn {
            Some(_) => f.debug_struct("ChunkOrigin").field("previous_chunks", &self.count).finish(),
            None => f.write_str("ChunkOrigin(none)"),
        }
    }
}

impl PartialEq for ChunkOrigin {
    /// Always equal: the origin is not part of a chunk's value.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// The chunks streamed so far in one turn of a generation, shared by the chunks of that turn
/// (JS `sharedPreviousChunks`): their concatenated text, count, and the message index and
/// role of the latest, under one lock taken once per chunk.
pub(crate) struct TurnChunks {
    streamed: Mutex<Streamed>,
    parser: OnceLock<Arc<dyn FormatHandler>>,
}

struct Streamed {
    text: String,
    count: u32,
    role: Role,
    index: u32,
}

impl TurnChunks {
    /// A new turn with nothing streamed yet.
    pub(crate) fn new() -> Arc<Self> {
        let streamed = Streamed { text: String::new(), count: 0, role: Role::Model, index: 0 };
        Arc::new(TurnChunks { streamed: Mutex::new(streamed), parser: OnceLock::new() })
    }

    fn streamed(&self) -> MutexGuard<'_, Streamed> {
        self.streamed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the turn's chunks at message index `index` (JS `makeChunk`'s `messageIndex`).
    pub(crate) fn start_at(&self, index: u32) {
        let mut st = self.streamed();
        st.index = index;
        st.role = Role::Model;
    }

    /// The message index of the turn's latest chunk (its start index before any).
    pub(crate) fn index(&self) -> u32 {
        self.streamed().index
    }

    /// Sets the turn's output parser (once; later calls are ignored).
    pub(crate) fn set_parser(&self, parser: Option<&Arc<dyn FormatHandler>>) {
        if let Some(p) = parser {
            let _ = self.parser.set(p.clone());
        }
    }

    /// Makes the turn's next chunk from a model chunk (JS `makeChunk`): the message index
    /// moves on when the role changes after earlier chunks; the chunk gets its index, role
    /// and origin. The data is moved, not copied.
    pub(crate) fn make(self: &Arc<Self>, role: Role, mut data: ModelResponseChunk) -> GenerateResponseChunk {
        let mut st = self.streamed();
        if role != st.role && st.count > 0 {
            st.index += 1;
        }
        st.role = role;
        data.index = Some(st.index);
        data.role = Some(role);
        data.aggregated = None;
        let origin = self.append(st, &data);
        GenerateResponseChunk { data, origin }
    }

    /// Records a chunk that middleware streamed itself: it gets the turn's message index
    /// and role `model` unless it has its own.
    pub(crate) fn adopt(self: &Arc<Self>, mut data: ModelResponseChunk, index: u32) -> GenerateResponseChunk {
        data.index.get_or_insert(index);
        data.role.get_or_insert(Role::Model);
        let origin = self.append(self.streamed(), &data);
        GenerateResponseChunk { data, origin }
    }

    /// A chunk of this turn with no earlier chunks (JS `previousChunks: []`), not recorded.
    pub(crate) fn fresh(self: &Arc<Self>, data: ModelResponseChunk) -> GenerateResponseChunk {
        GenerateResponseChunk { data, origin: ChunkOrigin { turn: Some(self.clone()), start: 0, count: 0 } }
    }

    /// Appends `data`'s text under the held lock; the origin points at what came before.
    fn append(self: &Arc<Self>, mut st: MutexGuard<'_, Streamed>, data: &ModelResponseChunk) -> ChunkOrigin {
        let (start, count) = (st.text.len(), st.count);
        push_text(&mut st.text, data);
        st.count += 1;
        drop(st);
        ChunkOrigin { turn: Some(self.clone()), start, count }
    }

    fn prefix(&self, len: usize) -> String {
        self.streamed().text.get(..len).unwrap_or_default().to_owned()
    }
}
