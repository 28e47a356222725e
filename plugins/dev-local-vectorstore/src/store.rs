//! The store file: `{ "<md5 of the document JSON>": {"doc": …, "embedding": {"embedding": […]}} }`,
//! pretty-printed like the JS plugin writes it. Reads are cached until the file changes; writes
//! go to a temporary file that is synced, renamed into place and made durable by syncing the
//! directory, under a lock file, so concurrent writers lose nothing, a crash never leaves a
//! half-written store, and a write is on disk before it is acknowledged.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use genkit_ai::DocumentData;
use genkit_ai::embedder::Embedding;
use genkit_core::{Error, Result, Status};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

/// One stored document and its embedding.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) doc: DocumentData,
    pub(crate) embedding: Embedding,
}

/// The contents of one index. Vectors are also kept unit-length in one contiguous matrix,
/// so a query is a single pass of dot products over memory in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    pub(crate) entries: Vec<Entry>,
    ids: HashSet<String>,
    /// Row `i` is entry `i`'s vector divided by its norm (zeros for a zero vector).
    unit: Vec<f32>,
    /// Length of every vector, when all have the same length.
    dims: Option<usize>,
    mixed: bool,
}

/// Dot product with eight independent accumulators, which the compiler turns into SIMD.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The id JS gives a document: md5 (hex) of its compact JSON.
pub(crate) fn doc_id(doc: &DocumentData) -> String {
    let json = serde_json::to_vec(doc).unwrap_or_default();
    Md5::digest(&json).iter().fold(String::with_capacity(32), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// A number as JS would print it: whole numbers without a fraction, else the shortest form
/// that reads back as the same `f32`.
fn js_number(x: f32) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        x.to_string().parse::<f64>().map_or(Value::Null, |f| json!(f))
    }
}

impl Store {
    fn parse(path: &Path, bytes: &[u8]) -> Result<Store> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::new(Status::DataLoss, format!("{} is not a valid vector store file: {e}", path.display()))
        };
        let map: Map<String, Value> = serde_json::from_slice(bytes).map_err(|e| bad(&e))?;
        let mut store = Store::default();
        for (id, v) in map {
            let doc: DocumentData = serde_json::from_value(v.get("doc").cloned().unwrap_or(Value::Null))
                .map_err(|e| bad(&format!("entry {id}: {e}")))?;
            let embedding: Embedding = serde_json::from_value(v.get("embedding").cloned().unwrap_or(Value::Null))
                .map_err(|e| bad(&format!("entry {id}: {e}")))?;
            store.push(id, doc, embedding);
        }
        Ok(store)
    }

    fn to_json(&self) -> Vec<u8> {
        let mut map = Map::with_capacity(self.entries.len());
        for e in &self.entries {
            let mut emb = Map::new();
            emb.insert("embedding".into(), Value::Array(e.embedding.embedding.iter().map(|x| js_number(*x)).collect()));
            if let Some(m) = &e.embedding.metadata {
                emb.insert("metadata".into(), Value::Object(m.clone()));
            }
            let doc = serde_json::to_value(&e.doc).unwrap_or(Value::Null);
            map.insert(e.id.clone(), json!({"doc": doc, "embedding": Value::Object(emb)}));
        }
        serde_json::to_vec_pretty(&Value::Object(map)).unwrap_or_default()
    }

    fn push(&mut self, id: String, doc: DocumentData, embedding: Embedding) {
        let v = &embedding.embedding;
        match self.dims {
            None if self.entries.is_empty() => self.dims = Some(v.len()),
            Some(d) if d != v.len() => self.mixed = true,
            _ => {}
        }
        let n = norm(v);
        self.unit.extend(v.iter().map(|x| if n == 0.0 { 0.0 } else { x / n }));
        self.ids.insert(id.clone());
        self.entries.push(Entry { id, doc, embedding });
    }

    /// Length of the stored vectors (of the first entry).
    pub(crate) fn dimensions(&self) -> Option<usize> {
        self.entries.first().map(|e| e.embedding.embedding.len())
    }

    /// Adds a document unless an identical one is stored; returns whether it was added.
    fn add(&mut self, doc: DocumentData, embedding: Embedding) -> bool {
        let id = doc_id(&doc);
        if !self.ids.insert(id.clone()) {
            tracing::debug!("Skipping {id} since it is already present");
            return false;
        }
        self.ids.remove(&id);
        self.push(id, doc, embedding);
        true
    }

    /// The `k` documents most similar (cosine) to `query`, best first, with their scores.
    pub(crate) fn top_k(&self, index: &str, query: &[f32], k: usize) -> Result<Vec<(f32, &Entry)>> {
        if let Some(d) = self.dimensions()
            && d != query.len()
        {
            return Err(dimension_error(index, d, query.len(), "query"));
        }
        check_finite(index, query, "query")?;
        if self.mixed {
            return Err(Error::new(
                Status::DataLoss,
                format!("index '{index}' holds vectors of different lengths: delete its store file and index again"),
            ));
        }
        let qn = norm(query);
        let d = query.len().max(1);
        let mut scored: Vec<(f32, &Entry)> = self
            .unit
            .chunks_exact(d)
            .zip(&self.entries)
            .map(|(row, e)| (if qn == 0.0 { 0.0 } else { dot(row, query) / qn }, e))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        let by_score = |a: &(f32, &Entry), b: &(f32, &Entry)| b.0.total_cmp(&a.0);
        if k < scored.len() {
            scored.select_nth_unstable_by(k - 1, by_score);
            scored.truncate(k);
        }
        scored.sort_by(by_score);
        Ok(scored)
    }
}

/// Refuses a vector with a NaN or infinite component. JSON has no way to write one (it would be
/// saved as `null`, and the store file would then no longer load), and a similarity score
/// computed from one is meaningless.
pub(crate) fn check_finite(index: &str, v: &[f32], what: &str) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::invalid_argument(format!(
            "index '{index}': the {what} embedding has a non-finite value ({}) at position {i}; the embedder must \
             return finite numbers",
            v[i]
        ))),
    }
}

fn dimension_error(index: &str, stored: usize, got: usize, what: &str) -> Error {
    Error::invalid_argument(format!(
        "index '{index}' stores {stored}-dimensional vectors, but the {what} embedding has {got} dimensions: use the \
         same embedder for indexing and retrieval (or delete the store file to start over)"
    ))
}

type Fingerprint = Option<(u64, u128)>;

fn fingerprint(p: &Path) -> Fingerprint {
    let md = fs::metadata(p).ok()?;
    let t = md.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some((md.len(), t))
}

/// One index's file, with a read cache.
#[derive(Debug)]
pub(crate) struct FileStore {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    cache: Mutex<Option<(Fingerprint, Arc<Store>)>>,
    writer: tokio::sync::Mutex<()>,
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::new(Status::Internal, format!("{}: {e}", p.display()))
}

impl FileStore {
    pub(crate) fn new(name: &str, path: PathBuf) -> Self {
        FileStore { name: name.to_owned(), path, cache: Mutex::new(None), writer: tokio::sync::Mutex::new(()) }
    }

    fn read_blocking(path: &Path) -> Result<(Fingerprint, Store)> {
        let fp = fingerprint(path);
        if fp.is_none() {
            return Ok((None, Store::default()));
        }
        let bytes = fs::read(path).map_err(io(path))?;
        Ok((fp, Store::parse(path, &bytes)?))
    }

    /// The current contents (re-read only when the file changed since the last read).
    pub(crate) async fn snapshot(&self) -> Result<Arc<Store>> {
        let fp = fingerprint(&self.path);
        if let Some((cfp, s)) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && *cfp == fp
        {
            return Ok(s.clone());
        }
        let path = self.path.clone();
        let (fp, store) = tokio::task::spawn_blocking(move || Self::read_blocking(&path))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        let store = Arc::new(store);
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((fp, store.clone()));
        Ok(store)
    }

    /// Adds documents with their embeddings: read-modify-write under an in-process lock and a
    /// lock file (other processes), written atomically. Returns how many were new.
    pub(crate) async fn add_all(&self, items: Vec<(DocumentData, Embedding)>) -> Result<usize> {
        let _w = self.writer.lock().await;
        let path = self.path.clone();
        let name = self.name.clone();
        let (fp, store, added) = tokio::task::spawn_blocking(move || -> Result<(Fingerprint, Store, usize)> {
            let lock_path = lock_path(&path);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(io(dir))?;
            }
            let lock = File::create(&lock_path).map_err(io(&lock_path))?;
            lock.lock().map_err(io(&lock_path))?;
            let (_, mut store) = Self::read_blocking(&path)?;
            let mut dims = store.dimensions();
            let mut added = 0;
            for (doc, emb) in items {
                check_finite(&name, &emb.embedding, "new document's")?;
                let d = emb.embedding.len();
                match dims {
                    Some(s) if s != d => return Err(dimension_error(&name, s, d, "new document's")),
                    _ => dims = Some(d),
                }
                added += usize::from(store.add(doc, emb));
            }
            genkit_core::file::write_atomic(&path, &store.to_json()).map_err(io(&path))?;
            Ok((fingerprint(&path), store, added))
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((fp, Arc::new(store)));
        Ok(added)
    }
}

fn lock_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}
