//! The `filesystem` generate middleware (JS `@genkit-ai/middleware` `filesystem`): tools
//! that list, read and (optionally) write files below one root directory.
//!
//! File contents read by `read_file` do not travel in the tool response: they are queued and
//! added to the next model request as a user message (text files as
//! `<read_file path="…">…</read_file>`, images as media parts), which the `generate` hook
//! flushes at the start of the following turn. Failures of the filesystem tools are reported
//! the same way (`Tool '<name>' failed: <message>`) instead of failing the generation.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use genkit_core::{Action, Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use genkit_ai::middleware::{GenerateEnvelope, GenerateNext, Middleware, MiddlewareDef, MiddlewareUse, ToolNext};
use genkit_ai::tool::{self, ToolConfig, as_interrupt};
use genkit_ai::{Message, ModelResponse, ModelResponseChunk, Part, Role};

/// The error message of a path that resolves outside the root directory.
pub const ACCESS_DENIED: &str = "Access denied: Path is outside of root directory.";

/// Options of [`filesystem`] (JS `FilesystemOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemOptions {
    /// The root directory to which all filesystem operations are restricted (relative paths
    /// are resolved against the current directory).
    pub root_directory: String,
    /// If true, allows write access to the filesystem (adds `write_file` and
    /// `search_and_replace`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_write_access: bool,
    /// Prefix to add to the name of the injected tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name_prefix: Option<String>,
}

impl FilesystemOptions {
    /// Read-only access below `root_directory`, tools without a name prefix.
    pub fn new(root_directory: impl Into<String>) -> Self {
        FilesystemOptions { root_directory: root_directory.into(), allow_write_access: false, tool_name_prefix: None }
    }

    /// Allows (or forbids) write access.
    #[must_use]
    pub fn allow_write_access(mut self, allow: bool) -> Self {
        self.allow_write_access = allow;
        self
    }

    /// Prefixes the names of the injected tools (e.g. `fs_` gives `fs_read_file`).
    #[must_use]
    pub fn tool_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.tool_name_prefix = Some(prefix.into());
        self
    }
}

fn parse_options(config: Option<&Value>) -> Result<FilesystemOptions> {
    let root = config.and_then(|c| c.get("rootDirectory")).and_then(Value::as_str);
    match config {
        Some(c) if root.is_some_and(|r| !r.is_empty()) => serde_json::from_value(c.clone())
            .map_err(|e| Error::invalid_argument(format!("invalid config for middleware 'filesystem': {e}"))),
        _ => Err(Error::invalid_argument("filesystem middleware requires a rootDirectory option")),
    }
}

// ---------------------------------------------------------------- shared helpers

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs blocking filesystem work on tokio's blocking pool.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(Error::internal(format!("filesystem task failed: {e}"))),
    }
}

const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648 alphabet, with padding).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    let sym = |n: u32, shift: u32| char::from(BASE64_ALPHABET[((n >> shift) & 63) as usize]);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        out.push(sym(n, 18));
        out.push(sym(n, 12));
        out.push(if chunk.len() > 1 { sym(n, 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n, 0) } else { '=' });
    }
    out
}

fn io_error(e: &io::Error, op: &str, path: &str) -> Error {
    let status = match e.kind() {
        io::ErrorKind::NotFound => Status::NotFound,
        io::ErrorKind::PermissionDenied => Status::PermissionDenied,
        io::ErrorKind::AlreadyExists => Status::AlreadyExists,
        _ => Status::Internal,
    };
    Error::new(status, format!("failed to {op} '{path}': {e}"))
}

/// The image MIME type of a (lower-case) file extension: the `image/*` subset of the
/// `mime-types` lookup table JS uses.
fn image_mime(ext: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("3ds", "image/x-3ds"),
        ("apng", "image/apng"),
        ("avci", "image/avci"),
        ("avcs", "image/avcs"),
        ("avif", "image/avif"),
        ("azv", "image/vnd.airzip.accelerator.azv"),
        ("b16", "image/vnd.pco.b16"),
        ("bmp", "image/bmp"),
        ("btf", "image/prs.btif"),
        ("btif", "image/prs.btif"),
        ("cgm", "image/cgm"),
        ("cmx", "image/x-cmx"),
        ("dds", "image/vnd.ms-dds"),
        ("dib", "image/bmp"),
        ("djv", "image/vnd.djvu"),
        ("djvu", "image/vnd.djvu"),
        ("dng", "image/x-adobe-dng"),
        ("dpx", "image/dpx"),
        ("drle", "image/dicom-rle"),
        ("dwg", "image/vnd.dwg"),
        ("dxf", "image/vnd.dxf"),
        ("emf", "image/emf"),
        ("exr", "image/aces"),
        ("fbs", "image/vnd.fastbidsheet"),
        ("fh", "image/x-freehand"),
        ("fh4", "image/x-freehand"),
        ("fh5", "image/x-freehand"),
        ("fh7", "image/x-freehand"),
        ("fhc", "image/x-freehand"),
        ("fits", "image/fits"),
        ("fpx", "image/vnd.fpx"),
        ("fst", "image/vnd.fst"),
        ("g3", "image/g3fax"),
        ("gif", "image/gif"),
        ("heic", "image/heic"),
        ("heics", "image/heic-sequence"),
        ("heif", "image/heif"),
        ("heifs", "image/heif-sequence"),
        ("hej2", "image/hej2k"),
        ("ico", "image/vnd.microsoft.icon"),
        ("ief", "image/ief"),
        ("jaii", "image/jaii"),
        ("jais", "image/jais"),
        ("jfif", "image/pjpeg"),
        ("jhc", "image/jphc"),
        ("jls", "image/jls"),
        ("jng", "image/x-jng"),
        ("jp2", "image/jp2"),
        ("jpe", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("jpf", "image/jpx"),
        ("jpg", "image/jpeg"),
        ("jpg2", "image/jp2"),
        ("jpgm", "image/jpm"),
        ("jph", "image/jph"),
        ("jpm", "image/jpm"),
        ("jpx", "image/jpx"),
        ("jxl", "image/jxl"),
        ("jxr", "image/jxr"),
        ("jxra", "image/jxra"),
        ("jxrs", "image/jxrs"),
        ("jxs", "image/jxs"),
        ("jxsc", "image/jxsc"),
        ("jxsi", "image/jxsi"),
        ("jxss", "image/jxss"),
        ("ktx", "image/ktx"),
        ("ktx2", "image/ktx2"),
        ("mdi", "image/vnd.ms-modi"),
        ("mmr", "image/vnd.fujixerox.edmics-mmr"),
        ("npx", "image/vnd.net-fpx"),
        ("pbm", "image/x-portable-bitmap"),
        ("pct", "image/x-pict"),
        ("pcx", "image/vnd.zbrush.pcx"),
        ("pgm", "image/x-portable-graymap"),
        ("pic", "image/x-pict"),
        ("png", "image/png"),
        ("pnm", "image/x-portable-anymap"),
        ("ppm", "image/x-portable-pixmap"),
        ("psd", "image/vnd.adobe.photoshop"),
        ("pti", "image/prs.pti"),
        ("ras", "image/x-cmu-raster"),
        ("rgb", "image/x-rgb"),
        ("rlc", "image/vnd.fujixerox.edmics-rlc"),
        ("sgi", "image/sgi"),
        ("sid", "image/x-mrsid-image"),
        ("svg", "image/svg+xml"),
        ("svgz", "image/svg+xml"),
        ("t38", "image/t38"),
        ("tap", "image/vnd.tencent.tap"),
        ("tfx", "image/tiff-fx"),
        ("tga", "image/x-tga"),
        ("tif", "image/tiff"),
        ("tiff", "image/tiff"),
        ("uvg", "image/vnd.dece.graphic"),
        ("uvi", "image/vnd.dece.graphic"),
        ("uvvg", "image/vnd.dece.graphic"),
        ("uvvi", "image/vnd.dece.graphic"),
        ("vtf", "image/vnd.valve.source.texture"),
        ("wbmp", "image/vnd.wap.wbmp"),
        ("wdp", "image/vnd.ms-photo"),
        ("webp", "image/webp"),
        ("wmf", "image/wmf"),
        ("xbm", "image/x-xbitmap"),
        ("xif", "image/vnd.xiff"),
        ("xpm", "image/x-xpixmap"),
        ("xwd", "image/x-xwindowdump"),
    ];
    TABLE.binary_search_by(|(e, _)| (*e).cmp(ext)).ok().map(|i| TABLE[i].1)
}

// ---------------------------------------------------------------- paths

/// Lexical normalization (JS `path.resolve` semantics): drops `.`, applies `..`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

fn denied() -> Error {
    Error::new(Status::PermissionDenied, ACCESS_DENIED)
}

/// Resolves `requested` against `root` (absolute, normalized) and makes sure the result stays
/// inside it: lexically (no `..` escape, no absolute path elsewhere) and physically (every
/// existing symlink on the way must point inside the canonical root). Returns the physical
/// path. Blocking.
fn resolve_in_root(root: &Path, requested: &str) -> Result<PathBuf> {
    let lexical = normalize(&root.join(requested));
    let Ok(rel) = lexical.strip_prefix(root) else { return Err(denied()) };
    let Ok(real_root) = std::fs::canonicalize(root) else {
        // The root does not exist (yet): nothing below it can be a symlink.
        return Ok(lexical);
    };
    let mut cur = real_root.clone();
    let mut missing = false;
    for c in rel.components() {
        cur.push(c);
        if missing {
            continue;
        }
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                // A dangling link cannot be checked: refuse it.
                let target = std::fs::canonicalize(&cur).map_err(|_| denied())?;
                if !target.starts_with(&real_root) {
                    return Err(denied());
                }
                cur = target;
            }
            Ok(_) => {}
            Err(_) => missing = true,
        }
    }
    Ok(cur)
}

// ---------------------------------------------------------------- tool bodies

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ListFilesInput {
    /// Directory path relative to root.
    #[serde(default)]
    dir_path: String,
    /// Whether to list files recursively.
    #[serde(default)]
    recursive: bool,
}

/// One entry of the `list_files` output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct FileEntry {
    path: String,
    is_directory: bool,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ReadFileInput {
    /// File path relative to root.
    file_path: String,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct WriteFileInput {
    /// File path relative to root.
    file_path: String,
    /// Content to write to the file.
    content: String,
}

#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct SearchAndReplaceInput {
    /// File path relative to root.
    file_path: String,
    /// Search and replace blocks, each in the format
    /// `<<<<<<< SEARCH\n[search content]\n=======\n[replace content]\n>>>>>>> REPLACE`.
    edits: Vec<String>,
}

fn sorted_entries(dir: &Path) -> io::Result<std::vec::IntoIter<std::fs::DirEntry>> {
    let mut entries = std::fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries.into_iter())
}

/// Lists `dir` depth-first (entry, then its subtree), names in byte order; symlinks are
/// listed but never followed.
fn list_dir(dir: &Path, recursive: bool) -> io::Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), PathBuf::new(), sorted_entries(dir)?)];
    while let Some((d, base, entries)) = stack.last_mut() {
        let Some(entry) = entries.next() else {
            stack.pop();
            continue;
        };
        let name = entry.file_name();
        let rel = base.join(&name);
        let is_directory = entry.file_type()?.is_dir();
        out.push(FileEntry { path: rel.to_string_lossy().into_owned(), is_directory });
        if is_directory && recursive {
            let sub = d.join(&name);
            let entries = sorted_entries(&sub)?;
            stack.push((sub, rel, entries));
        }
    }
    Ok(out)
}

const EDIT_START: &str = "<<<<<<< SEARCH\n";
const EDIT_END: &str = "\n>>>>>>> REPLACE";
const EDIT_SEPARATOR: &str = "\n=======\n";

/// Applies one search/replace block: of all the ways to split the block at a separator, the
/// one with the longest search text found in `content` wins; its first occurrence is replaced.
fn apply_edit(content: &str, block: &str, file_path: &str) -> Result<String> {
    if !block.starts_with(EDIT_START) || !block.ends_with(EDIT_END) {
        return Err(Error::invalid_argument(
            r#"Invalid edit block format. Block must start with "<<<<<<< SEARCH\n" and end with "\n>>>>>>> REPLACE""#,
        ));
    }
    // Overlapping markers (`<<<<<<< SEARCH\n>>>>>>> REPLACE`) leave no inner content.
    let inner = block.get(EDIT_START.len()..block.len() - EDIT_END.len()).unwrap_or("");
    let mut any_separator = false;
    let mut best: Option<(&str, &str)> = None;
    let mut from = 0;
    while let Some(found) = inner.get(from..).and_then(|s| s.find(EDIT_SEPARATOR)) {
        let pos = from + found;
        any_separator = true;
        let (search, rest) = inner.split_at(pos);
        let replace = &rest[EDIT_SEPARATOR.len()..];
        if content.contains(search) && best.is_none_or(|(s, _)| search.len() > s.len()) {
            best = Some((search, replace));
        }
        // The separator starts with `\n`, so `pos + 1` is a char boundary.
        from = pos + 1;
    }
    if !any_separator {
        return Err(Error::invalid_argument(r#"Invalid edit block format. Missing separator "\n=======\n""#));
    }
    match best {
        Some((search, replace)) => Ok(content.replacen(search, replace, 1)),
        None => Err(Error::invalid_argument(format!(
            "Search content not found in file {file_path}. Make sure the search block matches the file content exactly, including whitespace and indentation."
        ))),
    }
}

// ---------------------------------------------------------------- the middleware

struct Shared {
    root: PathBuf,
    queue: Mutex<Vec<Message>>,
}

impl Shared {
    /// Adds parts to the last queued user message, or queues a new one.
    fn enqueue(&self, parts: Vec<Part>, metadata: Option<Map<String, Value>>) {
        let mut q = lock(&self.queue);
        match q.last_mut() {
            Some(m) if m.role == Role::User => m.content.extend(parts),
            _ => q.push(Message { role: Role::User, content: parts, metadata }),
        }
    }

    async fn list_files(&self, input: ListFilesInput) -> Result<Vec<FileEntry>> {
        let root = self.root.clone();
        blocking(move || {
            let dir = resolve_in_root(&root, &input.dir_path)?;
            list_dir(&dir, input.recursive).map_err(|e| io_error(&e, "list directory", &input.dir_path))
        })
        .await
    }

    async fn read_file(&self, input: ReadFileInput, tool_name: &str) -> Result<String> {
        let root = self.root.clone();
        let file_path = input.file_path.clone();
        let name = tool_name.to_owned();
        let parts = blocking(move || {
            let target = resolve_in_root(&root, &file_path)?;
            let mime = target.extension().and_then(|e| e.to_str()).and_then(|e| image_mime(&e.to_ascii_lowercase()));
            let bytes = std::fs::read(&target).map_err(|e| io_error(&e, "read file", &file_path))?;
            Ok(match mime {
                Some(mime) => vec![
                    Part::text(format!("\n\nread_file result {mime} {file_path}")),
                    Part::media(format!("data:{mime};base64,{}", base64_encode(&bytes)), Some(mime.to_owned())),
                ],
                None => {
                    let text =
                        format!("<read_file path=\"{file_path}\">\n{}\n</read_file>", String::from_utf8_lossy(&bytes));
                    vec![
                        Part::text(text)
                            .with_metadata("filePath", json!(file_path))
                            .with_metadata("filesystemMiddlewareTool", json!(name)),
                    ]
                }
            })
        })
        .await?;
        let mut meta = Map::new();
        meta.insert("filesystemMiddlewareTool".into(), json!(tool_name));
        self.enqueue(parts, Some(meta));
        Ok(format!("File {} read successfully, see contents below", input.file_path))
    }

    async fn write_file(&self, input: WriteFileInput) -> Result<String> {
        let root = self.root.clone();
        blocking(move || {
            let target = resolve_in_root(&root, &input.file_path)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| io_error(&e, "create the directory of", &input.file_path))?;
            }
            std::fs::write(&target, input.content.as_bytes())
                .map_err(|e| io_error(&e, "write file", &input.file_path))?;
            Ok(format!("File {} written successfully.", input.file_path))
        })
        .await
    }

    async fn search_and_replace(&self, input: SearchAndReplaceInput) -> Result<String> {
        let root = self.root.clone();
        blocking(move || {
            let fp = &input.file_path;
            let target = resolve_in_root(&root, fp)?;
            let bytes = std::fs::read(&target).map_err(|e| io_error(&e, "read file", fp))?;
            let mut content = String::from_utf8(bytes).map_err(|_| {
                Error::invalid_argument(format!("File {fp} is not valid UTF-8 text and cannot be edited."))
            })?;
            for block in &input.edits {
                content = apply_edit(&content, block, fp)?;
            }
            std::fs::write(&target, content.as_bytes()).map_err(|e| io_error(&e, "write file", fp))?;
            Ok(format!("Successfully applied {} edit(s) to {fp}.", input.edits.len()))
        })
        .await
    }
}

struct Filesystem {
    shared: Arc<Shared>,
    tools: Vec<Arc<dyn Action>>,
    tool_names: Vec<String>,
}

impl Filesystem {
    fn new(options: FilesystemOptions) -> Result<Self> {
        let root = std::path::absolute(&options.root_directory).map_err(|e| {
            Error::invalid_argument(format!(
                "filesystem middleware: invalid rootDirectory '{}': {e}",
                options.root_directory
            ))
        })?;
        let shared = Arc::new(Shared { root: normalize(&root), queue: Mutex::new(Vec::new()) });
        let prefix = options.tool_name_prefix.unwrap_or_default();
        let mut tools = Vec::new();

        let s = shared.clone();
        tools.push(
            tool::dynamic::<ListFilesInput, Vec<FileEntry>, _, _>(
                ToolConfig::new(
                    format!("{prefix}list_files"),
                    "Lists files and directories in a given path. Returns a list of objects with path and type.",
                ),
                move |input, _cx| {
                    let s = s.clone();
                    async move { s.list_files(input).await }
                },
            )
            .as_action(),
        );

        let s = shared.clone();
        let read_name = format!("{prefix}read_file");
        let rn = read_name.clone();
        tools.push(
            tool::dynamic::<ReadFileInput, String, _, _>(
                ToolConfig::new(read_name, "Reads the contents of a file"),
                move |input, _cx| {
                    let s = s.clone();
                    let rn = rn.clone();
                    async move { s.read_file(input, &rn).await }
                },
            )
            .as_action(),
        );

        if options.allow_write_access {
            let s = shared.clone();
            tools.push(
                tool::dynamic::<WriteFileInput, String, _, _>(
                    ToolConfig::new(
                        format!("{prefix}write_file"),
                        "Writes content to a file, overwriting it if it exists. Use this tool to create new files.",
                    ),
                    move |input, _cx| {
                        let s = s.clone();
                        async move { s.write_file(input).await }
                    },
                )
                .as_action(),
            );
            let s = shared.clone();
            tools.push(
                tool::dynamic::<SearchAndReplaceInput, String, _, _>(
                    ToolConfig::new(
                        format!("{prefix}search_and_replace"),
                        "Replaces text in a file using search and replace blocks. Use this tool to edit existing files.",
                    ),
                    move |input, _cx| {
                        let s = s.clone();
                        async move { s.search_and_replace(input).await }
                    },
                )
                .as_action(),
            );
        }
        let tool_names = tools.iter().map(|t| t.metadata().name.to_string()).collect();
        Ok(Filesystem { shared, tools, tool_names })
    }
}

impl Middleware for Filesystem {
    async fn wrap_generate(&self, mut env: GenerateEnvelope, next: GenerateNext<'_>) -> Result<ModelResponse> {
        let queued = std::mem::take(&mut *lock(&self.shared.queue));
        if !queued.is_empty() {
            // Like JS, the message index only moves on when streaming.
            if let Some(sink) = &next.cx().on_chunk {
                for m in &queued {
                    sink.send(ModelResponseChunk {
                        role: Some(m.role),
                        index: Some(env.message_index),
                        content: m.content.clone(),
                        ..ModelResponseChunk::default()
                    });
                    env.message_index += 1;
                }
            }
            env.request.messages.extend(queued);
        }
        next.run(env).await
    }

    async fn wrap_tool(&self, req: Part, next: ToolNext<'_>) -> Result<Option<Part>> {
        let name = match &req.tool_request {
            Some(t) if self.tool_names.contains(&t.name) => t.name.clone(),
            _ => return next.run(req).await,
        };
        match next.run(req).await {
            // Interrupts and cancellation are not tool failures the model can fix.
            Err(e) if as_interrupt(&e).is_none() && e.status() != Status::Cancelled => {
                let part = Part::text(format!("Tool '{name}' failed: {}", e.message()));
                self.shared.enqueue(vec![part], None);
                Ok(None)
            }
            other => other,
        }
    }

    fn tools(&self) -> Vec<Arc<dyn Action>> {
        self.tools.clone()
    }
}

/// The `filesystem` middleware definition (register it to use `{name: "filesystem"}` by
/// name).
pub fn filesystem_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::new("filesystem", |init| {
            let options = parse_options(init.config)?;
            Filesystem::new(options)
        })
        .description("Injects tools for reading, writing, and searching files in a directory.")
        .config_schema(genkit_core::schema_for::<FilesystemOptions>())
    })
    .clone()
}

/// Gives the model access to the files below `root_directory` : tools `list_files`
/// (`{dirPath = "", recursive = false}` → `[{path, isDirectory}]`) and `read_file`
/// (`{filePath}`; the contents are added to the next request as a user message), plus with
/// write access `write_file` (`{filePath, content}`, creating parent directories) and
/// `search_and_replace` (`{filePath, edits}`). Paths that resolve outside the root (through
/// `..`, an absolute path or a symlink) fail with [`ACCESS_DENIED`]; failures of these tools
/// are reported to the model as a user message `Tool '<name>' failed: <message>`.
///
/// ```
/// use genkit_middleware::{filesystem, FilesystemOptions};
/// let mw = filesystem(FilesystemOptions::new("./workspace").allow_write_access(true));
/// assert_eq!(mw.to_ref().name, "filesystem");
/// ```
pub fn filesystem(options: FilesystemOptions) -> MiddlewareUse {
    filesystem_def().with_config(serde_json::to_value(options).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64_encode(i.as_bytes()), o);
        }
        assert_eq!(base64_encode(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn image_types_by_extension() {
        assert_eq!(image_mime("png"), Some("image/png"));
        assert_eq!(image_mime("jpg"), Some("image/jpeg"));
        assert_eq!(image_mime("xwd"), Some("image/x-xwindowdump"));
        assert_eq!(image_mime("3ds"), Some("image/x-3ds"));
        assert_eq!(image_mime("txt"), None);
        assert_eq!(image_mime(""), None);
    }

    #[test]
    fn edits_follow_the_js_split_rules() {
        let block = |s: &str, r: &str| format!("{EDIT_START}{s}{EDIT_SEPARATOR}{r}{EDIT_END}");
        assert_eq!(apply_edit("a b a", &block("a", "c"), "f").unwrap(), "c b a");
        // the search text may itself contain a separator: the longest matching split wins
        let content = "x\n=======\ny";
        let b = format!("{EDIT_START}x\n=======\ny{EDIT_SEPARATOR}z{EDIT_END}");
        assert_eq!(apply_edit(content, &b, "f").unwrap(), "z");
        let err = apply_edit("abc", &block("nope", "x"), "f.txt").unwrap_err();
        assert!(err.message().starts_with("Search content not found in file f.txt."));
        let err = apply_edit("abc", "<<<<<<< SEARCH\nabc\n>>>>>>> REPLACE", "f").unwrap_err();
        assert!(err.message().contains("Missing separator"));
        let err = apply_edit("abc", "<<<<<<< SEARCH\n>>>>>>> REPLACE", "f").unwrap_err();
        assert!(err.message().contains("Missing separator"));
        let err = apply_edit("abc", "abc", "f").unwrap_err();
        assert!(err.message().starts_with("Invalid edit block format. Block must start with"));
        // `$` patterns are literal
        assert_eq!(apply_edit("ab", &block("a", "$&$1"), "f").unwrap(), "$&$1b");
        // an empty search inserts at the start
        assert_eq!(apply_edit("ab", &block("", "x"), "f").unwrap(), "xab");
    }

    #[test]
    fn lexical_escapes_are_denied() {
        let root = normalize(&std::path::absolute("/definitely/not/here/root").unwrap());
        assert_eq!(resolve_in_root(&root, "a/../b").unwrap(), root.join("b"));
        assert_eq!(resolve_in_root(&root, "").unwrap(), root);
        for bad in ["..", "../root_secret", "a/../../x", "/etc/passwd"] {
            assert_eq!(resolve_in_root(&root, bad).unwrap_err().message(), ACCESS_DENIED, "{bad}");
        }
    }
}
