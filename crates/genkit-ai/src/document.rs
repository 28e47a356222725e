//! Documents: content parts (text or media) plus metadata; what embedders, retrievers,
//! indexers and rerankers work on. `Document` is [`DocumentData`] with JS's helpers.

use serde_json::{Map, Value};

use crate::embedder::Embedding;
use crate::{DocumentData, Media, Part};

/// A document (JS `Document`): the same value as its wire form [`DocumentData`].
pub type Document = DocumentData;

impl DocumentData {
    /// A text document with metadata.
    pub fn from_text_with(text: impl Into<String>, metadata: Option<Map<String, Value>>) -> Self {
        DocumentData { content: vec![Part::text(text)], metadata }
    }

    /// A document holding one media item (JS `Document.fromMedia`).
    pub fn from_media(
        url: impl Into<String>,
        content_type: Option<String>,
        metadata: Option<Map<String, Value>>,
    ) -> Self {
        DocumentData { content: vec![Part::media(url, content_type)], metadata }
    }

    /// Text when `data_type` is `"text"`, else a media item of that type (JS `Document.fromData`).
    pub fn from_data(data: impl Into<String>, data_type: Option<&str>, metadata: Option<Map<String, Value>>) -> Self {
        match data_type {
            Some("text") => Self::from_text_with(data, metadata),
            other => Self::from_media(data, other.map(str::to_owned), metadata),
        }
    }

    /// A document from parts (JS `Document.fromParts`).
    pub fn from_parts(content: Vec<Part>, metadata: Option<Map<String, Value>>) -> Self {
        DocumentData { content, metadata }
    }

    /// The media items of parts that carry no text.
    pub fn media(&self) -> Vec<&Media> {
        self.content.iter().filter(|p| p.text.is_none()).filter_map(|p| p.media.as_deref()).collect()
    }

    /// The text if any, else the first media URL, else `""` (JS `document.data`).
    pub fn data(&self) -> String {
        let text = self.text();
        if !text.is_empty() {
            return text;
        }
        self.media().first().map(|m| m.url.clone()).unwrap_or_default()
    }

    /// `"text"` for text documents, else the first media's content type (JS `document.dataType`).
    pub fn data_type(&self) -> Option<String> {
        if !self.text().is_empty() {
            return Some("text".to_owned());
        }
        self.media().first().and_then(|m| m.content_type.clone())
    }

    /// One document per embedding, each carrying its embedding's metadata under
    /// `metadata.embedMetadata` (JS `getEmbeddingDocuments`). Logs a warning when two results
    /// are identical (missing embed metadata).
    pub fn embedding_documents(&self, embeddings: &[Embedding]) -> Vec<DocumentData> {
        let docs: Vec<DocumentData> = embeddings
            .iter()
            .map(|e| {
                let mut d = self.clone();
                if let Some(m) = &e.metadata {
                    d.metadata.get_or_insert_with(Map::new).insert("embedMetadata".into(), Value::Object(m.clone()));
                }
                d
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        if docs.iter().any(|d| !seen.insert(serde_json::to_string(d).unwrap_or_default())) {
            tracing::warn!("Warning: embedding documents are not unique. Are you missing embed metadata?");
        }
        docs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers_follow_js() {
        let t = Document::from_data("hello", Some("text"), None);
        assert_eq!((t.data(), t.data_type()), ("hello".into(), Some("text".into())));
        let m = Document::from_data("https://x/a.png", Some("image/png"), None);
        assert_eq!(m.data(), "https://x/a.png");
        assert_eq!(m.data_type().as_deref(), Some("image/png"));
        assert_eq!(m.media().len(), 1);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"content": [{"media": {"url": "https://x/a.png", "contentType": "image/png"}}]})
        );
        let empty = Document::from_parts(vec![], None);
        assert_eq!((empty.data(), empty.data_type()), (String::new(), None));
    }

    #[test]
    fn embedding_documents_carry_embed_metadata() {
        let d = Document::from_text("long text");
        let e = |i: i64| Embedding { embedding: vec![0.0], metadata: json!({"chunk": i}).as_object().cloned() };
        let docs = d.embedding_documents(&[e(0), e(1)]);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].metadata.as_ref().unwrap()["embedMetadata"], json!({"chunk": 1}));
    }
}
