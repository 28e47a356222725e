//! Documents as a custom part (JS `anthropicDocument`): a PDF, plain text, custom content
//! blocks or a Files API file, with a title, a context and citations turned on. Media parts
//! of type `application/pdf` and `text/plain` become documents too, without these options.

use genkit_ai::Part;
use genkit_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::messages::wire::{Block, KnownBlock, Source};

/// Part `custom` key of a document part.
pub const DOCUMENT_KEY: &str = "anthropicDocument";

/// Where a document's content is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum DocumentSource {
    /// Plain text.
    Text {
        /// The text.
        data: String,
        /// `text/plain` (the only type the API takes here).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_type: Option<String>,
    },
    /// Base64 data (a PDF).
    #[serde(rename = "base64")]
    Base64 {
        /// The base64 data.
        data: String,
        /// `application/pdf`.
        #[serde(rename = "mediaType")]
        media_type: String,
    },
    /// A URL the API fetches (a PDF).
    Url {
        /// The URL.
        url: String,
    },
    /// Custom content: text blocks (`{"type":"text","text":…}`), each citable on its own.
    Content {
        /// The blocks.
        content: Vec<Value>,
    },
    /// A file uploaded with the Files API (beta).
    File {
        /// The file id.
        #[serde(rename = "fileId")]
        file_id: String,
    },
}

/// A document for the model to read, optionally citable. Build one, then turn it into a part
/// with [`DocumentPart::part`] (or [`anthropic_document`]).
///
/// ```
/// use genkit_anthropic::{DocumentPart, DocumentSource};
/// let part = DocumentPart::text("The grass is green. The sky is blue.")
///     .title("Facts")
///     .context("Trusted source")
///     .citations(true)
///     .part();
/// assert_eq!(part.custom.as_ref().unwrap()["anthropicDocument"]["title"], "Facts");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPart {
    /// The content.
    pub source: DocumentSource,
    /// `title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `context` (not cited, shown to the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `citations` (`{"enabled": true}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Value>,
}

impl DocumentPart {
    /// A document with `source`.
    pub fn new(source: DocumentSource) -> DocumentPart {
        DocumentPart { source, title: None, context: None, citations: None }
    }

    /// A plain text document.
    pub fn text(text: impl Into<String>) -> DocumentPart {
        DocumentPart::new(DocumentSource::Text { data: text.into(), media_type: None })
    }

    /// A PDF from base64 data.
    pub fn pdf_base64(data: impl Into<String>) -> DocumentPart {
        DocumentPart::new(DocumentSource::Base64 { data: data.into(), media_type: "application/pdf".into() })
    }

    /// A PDF the API fetches from `url`.
    pub fn pdf_url(url: impl Into<String>) -> DocumentPart {
        DocumentPart::new(DocumentSource::Url { url: url.into() })
    }

    /// Sets the title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the context.
    #[must_use]
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Turns citations on or off.
    #[must_use]
    pub fn citations(mut self, enabled: bool) -> Self {
        self.citations = Some(json!({ "enabled": enabled }));
        self
    }

    /// The custom part (`{"custom": {"anthropicDocument": …}}`).
    pub fn part(&self) -> Part {
        let mut custom = Map::new();
        custom.insert(DOCUMENT_KEY.into(), serde_json::to_value(self).unwrap_or(Value::Null));
        Part { custom: Some(Box::new(custom)), ..Part::default() }
    }
}

/// The custom part of a document (JS `anthropicDocument(options)`).
pub fn anthropic_document(doc: &DocumentPart) -> Part {
    doc.part()
}

/// The `document` block of a document part's JSON.
pub(crate) fn document_block(doc: &Value, cache: Option<Value>, betas: &mut Vec<String>) -> Result<Block> {
    let d = DocumentPart::deserialize(doc)
        .map_err(|e| Error::invalid_argument(format!("invalid {DOCUMENT_KEY} part: {e}")))?;
    let source = match d.source {
        DocumentSource::Text { data, media_type } => {
            Source::Text { media_type: media_type.unwrap_or_else(|| "text/plain".into()), data }
        }
        DocumentSource::Base64 { data, media_type } => Source::Base64 { media_type, data },
        DocumentSource::Url { url } => Source::Url { url },
        DocumentSource::Content { content } => Source::Content { content },
        DocumentSource::File { file_id } => {
            if !betas.iter().any(|b| b == crate::messages::encode::FILES_BETA) {
                betas.push(crate::messages::encode::FILES_BETA.to_owned());
            }
            Source::File { file_id }
        }
    };
    Ok(Block::Known(KnownBlock::Document {
        source,
        title: d.title,
        context: d.context,
        citations: d.citations,
        cache_control: cache,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip_to_document_blocks() {
        let p = DocumentPart::pdf_url("https://example.com/a.pdf").title("A").citations(true).part();
        let mut betas = Vec::new();
        let b =
            document_block(&p.custom.unwrap()[DOCUMENT_KEY], Some(json!({"type": "ephemeral"})), &mut betas).unwrap();
        assert_eq!(
            serde_json::to_value(b).unwrap(),
            json!({"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}, "title": "A",
                   "citations": {"enabled": true}, "cache_control": {"type": "ephemeral"}})
        );
        assert!(betas.is_empty());
    }

    #[test]
    fn js_shaped_options_are_accepted() {
        let mut betas = Vec::new();
        let b = document_block(&json!({"source": {"type": "file", "fileId": "file_1"}}), None, &mut betas).unwrap();
        assert_eq!(serde_json::to_value(b).unwrap()["source"], json!({"type": "file", "file_id": "file_1"}));
        assert_eq!(betas, ["files-api-2025-04-14"]);
        let b = document_block(
            &json!({"source": {"type": "base64", "data": "JVBE", "mediaType": "application/pdf"}, "context": "c"}),
            None,
            &mut betas,
        )
        .unwrap();
        assert_eq!(serde_json::to_value(b).unwrap()["source"]["media_type"], "application/pdf");
        let e = document_block(&json!({"source": {"type": "nope"}}), None, &mut betas).unwrap_err();
        assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
    }
}
