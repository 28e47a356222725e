//! Basic usage statistics (JS `getBasicUsageStats`).

use crate::{GenerationUsage, Message, Part};

#[derive(Default)]
struct Counts {
    chars: f64,
    images: f64,
    videos: f64,
    audio: f64,
}

#[allow(clippy::cast_precision_loss)]
fn count<'a>(parts: impl Iterator<Item = &'a Part>) -> Counts {
    let mut c = Counts::default();
    for p in parts {
        if let Some(t) = &p.text {
            c.chars += t.chars().count() as f64;
        }
        if let Some(m) = &p.media {
            let ct = m.content_type.as_deref().unwrap_or("");
            let is = |kind: &str| ct.starts_with(kind) || m.url.starts_with(&format!("data:{kind}"));
            if is("image") {
                c.images += 1.0;
            } else if is("video") {
                c.videos += 1.0;
            } else if is("audio") {
                c.audio += 1.0;
            }
        }
    }
    c
}

/// Counts characters and image/video/audio parts of the input messages and the response
/// message (JS `getBasicUsageStats`).
///
/// ```
/// use genkit_ai::{Message, model::basic_usage_stats};
/// let u = basic_usage_stats(&[Message::user("abc")], Some(&Message::model("hello")));
/// assert_eq!(u.input_characters, Some(3.0));
/// assert_eq!(u.output_characters, Some(5.0));
/// ```
pub fn basic_usage_stats(input: &[Message], response: Option<&Message>) -> GenerationUsage {
    let i = count(input.iter().flat_map(|m| m.content.iter()));
    let o = count(response.into_iter().flat_map(|m| m.content.iter()));
    GenerationUsage {
        input_characters: Some(i.chars),
        input_images: Some(i.images),
        input_videos: Some(i.videos),
        input_audio_files: Some(i.audio),
        output_characters: Some(o.chars),
        output_images: Some(o.images),
        output_videos: Some(o.videos),
        output_audio_files: Some(o.audio),
        ..GenerationUsage::default()
    }
}
