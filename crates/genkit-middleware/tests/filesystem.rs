//! The `filesystem` and `skills` generate middleware and `downloadRequestMedia`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use genkit_ai::ModelResponseChunk;
use genkit_ai::generate::{define_generate_action, generate, generate_stream};
use genkit_ai::middleware::MiddlewareUse;
use genkit_ai::model::testing::ProgrammableModel;
use genkit_ai::{FinishReason, GenerateOptions, Message, ModelRequest, ModelResponse, Part, Role};
use genkit_core::{Registry, RunOptions, Status};
use genkit_middleware::{ACCESS_DENIED, FilesystemOptions, SkillsOptions, filesystem, filesystem_def, skills};
use serde_json::{Value, json};

fn setup() -> (Registry, ProgrammableModel) {
    let reg = Registry::new();
    let pm = ProgrammableModel::new("m");
    reg.register_action(pm.action().as_action()).unwrap();
    define_generate_action(&reg).unwrap();
    (reg, pm)
}

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!(
            "genkit-fs-mw-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    fn root(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn calls(parts: &[(&str, Value)]) -> ModelResponse {
    let content = parts
        .iter()
        .enumerate()
        .map(|(i, (name, input))| Part::tool_request(*name, Some(input.clone()), Some(i.to_string())))
        .collect();
    ModelResponse { message: Some(Message::new(Role::Model, content)), ..Default::default() }
}

fn stop(text: &str) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

fn tool_names(req: &ModelRequest) -> Vec<String> {
    req.tools.as_ref().unwrap().iter().map(|t| t.name.clone()).collect()
}

fn outputs(msg: &Message) -> Vec<Value> {
    msg.content.iter().map(|p| p.tool_response.as_ref().unwrap().output.clone().unwrap()).collect()
}

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d];

#[tokio::test]
async fn list_and_read_queue_file_contents_as_a_user_message() {
    let dir = TempDir::new("read");
    dir.write("a.txt", b"hello\nworld");
    dir.write("img.png", PNG);
    dir.write("sub/b.txt", b"b");
    dir.write("sub/deeper/c.md", b"c");
    let (reg, pm) = setup();
    pm.respond(calls(&[("list_files", json!({"recursive": true})), ("read_file", json!({"filePath": "a.txt"}))]));
    pm.respond(calls(&[("list_files", json!({"dirPath": "sub"})), ("read_file", json!({"filePath": "img.png"}))]));
    pm.respond(stop("done"));
    let resp = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("look").use_middleware(filesystem(FilesystemOptions::new(dir.root()))),
    )
    .await
    .unwrap();
    assert_eq!(resp.text(), "done");
    let reqs = pm.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(tool_names(&reqs[0]), ["list_files", "read_file"], "read-only: no write tools");

    // turn 2: user, model, tool responses, then the queued user message
    let m = &reqs[1].messages;
    assert_eq!(m.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User, Role::Model, Role::Tool, Role::User]);
    let sep = std::path::MAIN_SEPARATOR;
    assert_eq!(
        outputs(&m[2]),
        [
            json!([
                {"path": "a.txt", "isDirectory": false},
                {"path": "img.png", "isDirectory": false},
                {"path": "sub", "isDirectory": true},
                {"path": format!("sub{sep}b.txt"), "isDirectory": false},
                {"path": format!("sub{sep}deeper"), "isDirectory": true},
                {"path": format!("sub{sep}deeper{sep}c.md"), "isDirectory": false},
            ]),
            json!("File a.txt read successfully, see contents below"),
        ]
    );
    assert_eq!(
        serde_json::to_value(&m[3]).unwrap(),
        json!({
            "role": "user",
            "content": [{
                "text": "<read_file path=\"a.txt\">\nhello\nworld\n</read_file>",
                "metadata": {"filePath": "a.txt", "filesystemMiddlewareTool": "read_file"}
            }],
            "metadata": {"filesystemMiddlewareTool": "read_file"}
        })
    );

    // turn 3: a non-recursive listing and an image read as text + media parts
    let m = &reqs[2].messages;
    assert_eq!(m.len(), 7);
    assert_eq!(
        outputs(&m[5])[0],
        json!([{"path": "b.txt", "isDirectory": false}, {"path": "deeper", "isDirectory": true}])
    );
    assert_eq!(
        serde_json::to_value(&m[6].content).unwrap(),
        json!([
            {"text": "\n\nread_file result image/png img.png"},
            {"media": {"contentType": "image/png", "url": "data:image/png;base64,iVBORw0KGgoAAAAN"}}
        ])
    );
    // the queued messages are part of the returned history
    assert_eq!(resp.messages().unwrap().len(), 8);
}

#[tokio::test]
async fn queued_messages_are_streamed_with_the_next_message_index() {
    let dir = TempDir::new("stream");
    dir.write("a.txt", b"A");
    let (reg, pm) = setup();
    pm.respond_streaming(
        vec![ModelResponseChunk::new(vec![Part::text("reading")])],
        calls(&[("read_file", json!({"filePath": "a.txt"}))]),
    );
    pm.respond_streaming(vec![ModelResponseChunk::new(vec![Part::text("ok")])], stop("ok"));
    let mut s = generate_stream(
        &reg,
        GenerateOptions::new().model("m").prompt("go").use_middleware(filesystem(FilesystemOptions::new(dir.root()))),
    );
    let mut seq = Vec::new();
    let mut user_chunk = None;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        let role = c.role.unwrap();
        seq.push(format!("{}:{}", c.index.unwrap(), serde_json::to_value(role).unwrap().as_str().unwrap()));
        if role == Role::User {
            user_chunk = Some(c);
        }
    }
    assert_eq!(s.output().await.unwrap().text(), "ok");
    assert_eq!(seq, ["0:model", "1:tool", "2:user", "3:model"]);
    assert_eq!(user_chunk.unwrap().content[0].text.as_deref(), Some("<read_file path=\"a.txt\">\nA\n</read_file>"));
}

#[tokio::test]
async fn write_and_search_and_replace_edit_files_under_a_prefix() {
    let dir = TempDir::new("write");
    let (reg, pm) = setup();
    let edit = |s: &str, r: &str| format!("<<<<<<< SEARCH\n{s}\n=======\n{r}\n>>>>>>> REPLACE");
    pm.respond(calls(&[("fs_write_file", json!({"filePath": "new/dir/x.txt", "content": "one two three two"}))]));
    pm.respond(calls(&[(
        "fs_search_and_replace",
        json!({"filePath": "new/dir/x.txt", "edits": [edit("two", "2"), edit("three", "3")]}),
    )]));
    pm.respond(calls(&[("fs_search_and_replace", json!({"filePath": "new/dir/x.txt", "edits": [edit("zzz", "y")]}))]));
    pm.respond(stop("done"));
    let opts = FilesystemOptions::new(dir.root()).allow_write_access(true).tool_name_prefix("fs_");
    generate(&reg, GenerateOptions::new().model("m").prompt("edit").use_middleware(filesystem(opts))).await.unwrap();
    let reqs = pm.requests();
    assert_eq!(tool_names(&reqs[0]), ["fs_list_files", "fs_read_file", "fs_write_file", "fs_search_and_replace"]);
    assert_eq!(outputs(&reqs[1].messages[2]), [json!("File new/dir/x.txt written successfully.")]);
    assert_eq!(outputs(&reqs[2].messages[4]), [json!("Successfully applied 2 edit(s) to new/dir/x.txt.")]);
    assert_eq!(std::fs::read_to_string(dir.path().join("new/dir/x.txt")).unwrap(), "one 2 3 two");

    // a failed edit leaves the file alone and is reported as a user message, not a response
    let last = &reqs[3].messages;
    assert_eq!(last.len(), 7);
    assert_eq!((last[5].role, last[6].role), (Role::Model, Role::User));
    assert_eq!(
        last[6].text(),
        "Tool 'fs_search_and_replace' failed: Search content not found in file new/dir/x.txt. Make sure the search block matches the file content exactly, including whitespace and indentation."
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("new/dir/x.txt")).unwrap(), "one 2 3 two");
}

#[tokio::test]
async fn escapes_are_denied_and_reported_to_the_model() {
    let outer = TempDir::new("escape");
    outer.write("secret.txt", b"top secret");
    outer.write("root/inside.txt", b"fine");
    let root = outer.path().join("root");
    let (reg, pm) = setup();
    pm.respond(calls(&[("read_file", json!({"filePath": "../secret.txt"}))]));
    pm.respond(calls(&[
        ("list_files", json!({"dirPath": "../"})),
        ("write_file", json!({"filePath": "/tmp/genkit-should-not-exist.txt", "content": "x"})),
    ]));
    pm.respond(calls(&[
        ("read_file", json!({"filePath": "missing.txt"})),
        ("read_file", json!({"filePath": "inside.txt"})),
    ]));
    pm.respond(stop("done"));
    let opts = FilesystemOptions::new(root.to_string_lossy()).allow_write_access(true);
    generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(filesystem(opts))).await.unwrap();
    let reqs = pm.requests();

    // the failed call gets no tool message: model message, then the error as a user message
    let m = &reqs[1].messages;
    assert_eq!(m.iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User, Role::Model, Role::User]);
    assert!(m[1].content[0].tool_request.is_some());
    assert_eq!(m[2].text(), format!("Tool 'read_file' failed: {ACCESS_DENIED}"));
    assert_eq!(m[2].metadata, None);

    // two failures in one turn share one user message
    let m = &reqs[2].messages;
    assert_eq!(m.len(), 5);
    let mut texts: Vec<String> = m[4].content.iter().map(|p| p.text.clone().unwrap()).collect();
    texts.sort();
    assert_eq!(
        texts,
        [format!("Tool 'list_files' failed: {ACCESS_DENIED}"), format!("Tool 'write_file' failed: {ACCESS_DENIED}")]
    );
    assert!(!Path::new("/tmp/genkit-should-not-exist.txt").exists());

    // a missing file is an ordinary failure; the successful read still answers
    let m = &reqs[3].messages;
    assert_eq!(m[m.len() - 2].role, Role::Tool);
    assert_eq!(outputs(&m[m.len() - 2]), [json!("File inside.txt read successfully, see contents below")]);
    let user = &m[m.len() - 1];
    assert_eq!(user.role, Role::User);
    let texts: Vec<&str> = user.content.iter().map(|p| p.text.as_deref().unwrap()).collect();
    assert!(texts.contains(&"<read_file path=\"inside.txt\">\nfine\n</read_file>"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("Tool 'read_file' failed: failed to read file 'missing.txt': ")),
        "{texts:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_out_of_the_root_are_denied() {
    let outer = TempDir::new("symlink");
    outer.write("outside/secret.txt", b"top secret");
    outer.write("root/real/ok.txt", b"ok");
    let root = outer.path().join("root");
    std::os::unix::fs::symlink(outer.path().join("outside"), root.join("out")).unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
    std::os::unix::fs::symlink(outer.path().join("nowhere"), root.join("dangling")).unwrap();
    let (reg, pm) = setup();
    pm.respond(calls(&[("read_file", json!({"filePath": "out/secret.txt"}))]));
    pm.respond(calls(&[("write_file", json!({"filePath": "out/new.txt", "content": "x"}))]));
    pm.respond(calls(&[("write_file", json!({"filePath": "dangling", "content": "x"}))]));
    pm.respond(calls(&[("read_file", json!({"filePath": "alias/ok.txt"}))]));
    pm.respond(stop("done"));
    let opts = FilesystemOptions::new(root.to_string_lossy()).allow_write_access(true);
    generate(&reg, GenerateOptions::new().model("m").prompt("x").use_middleware(filesystem(opts))).await.unwrap();
    let reqs = pm.requests();
    for (i, tool) in [(1, "read_file"), (2, "write_file"), (3, "write_file")] {
        let last = reqs[i].messages.last().unwrap();
        assert_eq!(last.text(), format!("Tool '{tool}' failed: {ACCESS_DENIED}"), "turn {i}");
    }
    assert!(!outer.path().join("outside/new.txt").exists());
    assert!(!outer.path().join("nowhere").exists());
    // a link that stays inside the root is fine
    let last = reqs[4].messages.last().unwrap();
    assert_eq!(last.text(), "<read_file path=\"alias/ok.txt\">\nok\n</read_file>");
}

#[tokio::test]
async fn root_directory_is_required_and_the_def_resolves_by_name() {
    let (reg, pm) = setup();
    let err = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").use_middleware(filesystem_def().with_config(Some(json!({})))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert_eq!(err.message(), "filesystem middleware requires a rootDirectory option");
    let err = generate(
        &reg,
        GenerateOptions::new().model("m").prompt("x").use_middleware(filesystem(FilesystemOptions::new(""))),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);

    // through /util/generate with a wire `use` ref
    let dir = TempDir::new("byname");
    dir.write("f.txt", b"F");
    filesystem_def().register(&reg);
    pm.respond(calls(&[("p_read_file", json!({"filePath": "f.txt"}))]));
    pm.respond(stop("ok"));
    let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
    let out = action
        .run_json(
            json!({
                "model": "m",
                "messages": [{"role": "user", "content": [{"text": "x"}]}],
                "use": [{"name": "filesystem", "config": {"rootDirectory": dir.root(), "toolNamePrefix": "p_"}}]
            }),
            RunOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.result["message"]["content"][0]["text"], "ok");
    assert_eq!(tool_names(&pm.requests()[1]), ["p_list_files", "p_read_file"]);
    assert_eq!(pm.last_request().unwrap().messages[3].text(), "<read_file path=\"f.txt\">\nF\n</read_file>");
}

const SKILLS_HEAD: &str = "<skills>\nYou have access to a library of skills that serve as specialized instructions/personas.\nStrongly prefer to use them when working on anything related to them.\nOnly use them once to load the context.\nHere are the available skills:\n";

#[tokio::test]
async fn skills_are_listed_in_the_system_prompt_and_loaded_by_use_skill() {
    let dir = TempDir::new("skills");
    let pirate = "---\nname: pirate-speak\ndescription: Talk like a pirate.\n---\n# Pirate\nSay arr.";
    dir.write("skills/pirate/SKILL.md", pirate.as_bytes());
    dir.write("skills/plain/SKILL.md", b"# Plain\nNo frontmatter.");
    dir.write("skills/.hidden/SKILL.md", b"hidden");
    dir.write("skills/empty/README.md", b"no skill file");
    dir.write("skills/file.md", b"not a directory");
    dir.write("more/zeta/SKILL.md", b"---\ndescription: Last one.\n---\n");
    let paths = vec![
        dir.path().join("skills").to_string_lossy().into_owned(),
        dir.path().join("more").to_string_lossy().into_owned(),
    ];
    let block = format!("{SKILLS_HEAD} - pirate - Talk like a pirate.\n - plain\n - zeta - Last one.\n</skills>");

    let (reg, pm) = setup();
    pm.respond(calls(&[("use_skill", json!({"skillName": "pirate"}))]));
    pm.respond(stop("arr"));
    let mw = || skills(SkillsOptions { skill_paths: paths.clone() });
    let resp = generate(&reg, GenerateOptions::new().model("m").system("Be nice.").prompt("hi").use_middleware(mw()))
        .await
        .unwrap();
    assert_eq!(resp.text(), "arr");
    let reqs = pm.requests();
    assert!(tool_names(&reqs[0]).contains(&"use_skill".to_owned()));
    for req in &reqs {
        assert_eq!(
            serde_json::to_value(&req.messages[0]).unwrap(),
            json!({"role": "system", "content": [
                {"text": "Be nice."},
                {"text": block, "metadata": {"skills-instructions": true}}
            ]}),
            "injected once, kept when unchanged"
        );
    }
    assert_eq!(outputs(&reqs[1].messages[3]), [json!(pirate)]);

    // no system message: one is prepended; the frontmatter name works as an alias
    pm.respond(calls(&[("use_skill", json!({"skillName": "pirate-speak"}))]));
    pm.respond(stop("ok"));
    generate(&reg, GenerateOptions::new().model("m").prompt("hi").use_middleware(mw())).await.unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(req.messages[0].role, Role::System);
    assert_eq!(req.messages[0].content.len(), 1);
    assert_eq!(req.messages[0].content[0].text.as_deref(), Some(block.as_str()));
    assert_eq!(req.messages[1].text(), "hi");
    assert_eq!(outputs(&req.messages[3]), [json!(pirate)]);

    // a stale block from an earlier call is replaced in place
    pm.respond(stop("ok"));
    let stale = Message::new(
        Role::System,
        vec![Part::text("old list").with_metadata("skills-instructions", json!(true)), Part::text("keep")],
    );
    generate(&reg, GenerateOptions::new().model("m").messages(vec![stale, Message::user("hi")]).use_middleware(mw()))
        .await
        .unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(req.messages.len(), 2);
    assert_eq!(req.messages[0].content[0].text.as_deref(), Some(block.as_str()));
    assert_eq!(req.messages[0].content[1].text.as_deref(), Some("keep"));

    // an unknown skill fails the tool
    pm.respond(calls(&[("use_skill", json!({"skillName": "nope"}))]));
    let err = generate(&reg, GenerateOptions::new().model("m").prompt("hi").use_middleware(mw())).await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Skill 'nope' not found."));

    // no skills found: the request is left alone
    pm.respond(stop("ok"));
    let none = skills(SkillsOptions { skill_paths: vec![dir.path().join("absent").to_string_lossy().into_owned()] });
    generate(&reg, GenerateOptions::new().model("m").prompt("hi").use_middleware(none)).await.unwrap();
    let req = pm.last_request().unwrap();
    assert_eq!(req.messages.len(), 1);
    assert_eq!(tool_names(&req), ["use_skill"]);
}

#[test]
fn middleware_refs_carry_camel_case_config() {
    let r = filesystem(FilesystemOptions::new("/x").allow_write_access(true).tool_name_prefix("p_")).to_ref();
    assert_eq!(r.config, Some(json!({"rootDirectory": "/x", "allowWriteAccess": true, "toolNamePrefix": "p_"})));
    let r = skills(SkillsOptions::default()).to_ref();
    assert_eq!((r.name.as_str(), r.config), ("skills", Some(json!({"skillPaths": ["skills"]}))));
    let _: MiddlewareUse = filesystem(FilesystemOptions::new("/x"));
}

#[cfg(feature = "download-media")]
mod download {
    use super::*;
    use std::time::Duration;

    use genkit_middleware::{DEFAULT_DOWNLOAD_MAX_BYTES, DownloadMediaOptions, download_request_media};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A raw HTTP/1.1 server on 127.0.0.1; returns its base URL.
    async fn serve() -> (String, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    match path.as_str() {
                        // Accepts the request and never answers.
                        "/stall" => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        // Sends headers, then nothing.
                        "/stall-body" => {
                            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").await;
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        // A body that never ends.
                        "/endless" => {
                            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").await;
                            let chunk = vec![b'z'; 64 << 10];
                            while sock.write_all(&chunk).await.is_ok() {}
                            return;
                        }
                        _ => {}
                    }
                    let (status, ct, body, length) = match path.as_str() {
                        "/img.png" => ("200 OK", "image/png", PNG.to_vec(), true),
                        "/missing" => ("404 Not Found", "text/plain", b"not here".to_vec(), true),
                        "/boom" => ("503 Service Unavailable", "text/plain", b"try later".to_vec(), true),
                        "/big" => ("200 OK", "application/octet-stream", vec![7u8; 4096], true),
                        "/big-unsized" => ("200 OK", "application/octet-stream", vec![7u8; 4096], false),
                        _ => ("200 OK", "text/plain", b"hello".to_vec(), true),
                    };
                    let mut out = format!("HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nConnection: close\r\n");
                    if length {
                        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
                    }
                    out.push_str("\r\n");
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        (base, handle)
    }

    /// Options that may fetch from the 127.0.0.1 test server.
    fn local() -> DownloadMediaOptions {
        DownloadMediaOptions::default().allow_private_addresses(true)
    }

    async fn run(reg: &Registry, prompt: Vec<Part>, opts: DownloadMediaOptions) -> genkit_core::Result<()> {
        generate(reg, GenerateOptions::new().model("m").prompt(prompt).use_middleware(download_request_media(opts)))
            .await
            .map(|_| ())
    }

    #[tokio::test]
    async fn http_media_is_inlined_as_data_uris() {
        let (base, server) = serve().await;
        let (reg, pm) = setup();
        pm.respond(stop("ok"));
        let prompt = vec![
            Part::text("see"),
            Part::media(format!("{base}/img.png"), None).with_metadata("dropped", json!(true)),
            Part::media(format!("{base}/text"), Some("text/x-custom".into())),
            Part::media("data:text/plain;base64,aGk=", Some("text/plain".into())),
        ];
        run(&reg, prompt, local().max_bytes(1024)).await.unwrap();
        let content = serde_json::to_value(&pm.last_request().unwrap().messages[0].content).unwrap();
        assert_eq!(
            content,
            json!([
                {"text": "see"},
                {"media": {"contentType": "image/png", "url": "data:image/png;base64,iVBORw0KGgoAAAAN"}},
                {"media": {"contentType": "text/x-custom", "url": "data:text/x-custom;base64,aGVsbG8="}},
                {"media": {"contentType": "text/plain", "url": "data:text/plain;base64,aGk="}}
            ])
        );

        // the filter decides which parts are fetched
        pm.respond(stop("ok"));
        let url = format!("{base}/img.png");
        let prompt = vec![Part::media(url.clone(), None)];
        run(&reg, prompt, local().filter(|p| !p.media.as_ref().unwrap().url.ends_with(".png"))).await.unwrap();
        assert_eq!(pm.last_request().unwrap().messages[0].content[0].media.as_ref().unwrap().url, url);
        server.abort();
    }

    #[tokio::test]
    async fn http_errors_and_size_limits_fail_the_request() {
        let (base, server) = serve().await;
        let (reg, pm) = setup();
        let err = run(&reg, vec![Part::media(format!("{base}/missing"), None)], local()).await.unwrap_err();
        assert_eq!(err.message(), format!("HTTP error downloading media '{base}/missing': not here"));
        assert_eq!((err.status(), err.provider_http_status()), (Status::NotFound, Some(404)));

        let err = run(&reg, vec![Part::media(format!("{base}/boom"), None)], local()).await.unwrap_err();
        assert_eq!(err.message(), format!("HTTP error downloading media '{base}/boom': try later"));
        assert_eq!((err.status(), err.provider_http_status()), (Status::Unavailable, Some(503)));

        for path in ["big", "big-unsized"] {
            let url = format!("{base}/{path}");
            let err = run(&reg, vec![Part::media(url.clone(), None)], local().max_bytes(100)).await.unwrap_err();
            assert_eq!(err.status(), Status::InvalidArgument, "{path}");
            assert_eq!(err.message(), format!("content size at {url} over limit: 100"));
        }
        assert!(pm.requests().is_empty(), "the model is never called");

        // the size limit is generous enough otherwise (and also works by name)
        pm.respond(stop("ok"));
        genkit_middleware::download_request_media_def().register(&reg);
        let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
        action
            .run_json(
                json!({
                    "model": "m",
                    "messages": [{"role": "user", "content": [{"media": {"url": format!("{base}/big")}}]}],
                    "use": [{"name": "downloadRequestMedia", "config": {"maxBytes": 5000, "allowPrivateAddresses": true}}]
                }),
                RunOptions::new(),
            )
            .await
            .unwrap();
        let media = pm.last_request().unwrap().messages[0].content[0].media.clone().unwrap();
        assert_eq!(media.content_type.as_deref(), Some("application/octet-stream"));
        assert!(media.url.starts_with("data:application/octet-stream;base64,BwcH"));
        server.abort();
    }

    #[tokio::test]
    async fn private_and_loopback_addresses_are_refused_unless_allowed() {
        let (base, server) = serve().await;
        let port = base.rsplit(':').next().unwrap().to_owned();
        let (reg, pm) = setup();
        for url in [
            format!("{base}/img.png"),
            format!("http://localhost:{port}/img.png"),
            format!("http://[::1]:{port}/img.png"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://10.0.0.1/x.png".to_owned(),
        ] {
            let err =
                run(&reg, vec![Part::media(url.clone(), None)], DownloadMediaOptions::default()).await.unwrap_err();
            assert_eq!(err.status(), Status::PermissionDenied, "{url}: {err}");
            assert!(err.message().contains("private, loopback or link-local"), "{}", err.message());
            assert!(err.message().contains("allowPrivateAddresses"), "{}", err.message());
        }
        // By name, the JSON config's default refuses too.
        genkit_middleware::download_request_media_def().register(&reg);
        let action = reg.lookup_action("/util/generate").await.unwrap().unwrap();
        let err = action
            .run_json(
                json!({
                    "model": "m",
                    "messages": [{"role": "user", "content": [{"media": {"url": format!("{base}/img.png")}}]}],
                    "use": [{"name": "downloadRequestMedia"}]
                }),
                RunOptions::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Status::PermissionDenied);
        assert!(pm.requests().is_empty(), "the model is never called");

        pm.respond(stop("ok"));
        let url = format!("http://localhost:{port}/img.png");
        run(&reg, vec![Part::media(url, None)], local()).await.unwrap();
        assert!(pm.last_request().unwrap().messages[0].content[0].media.as_ref().unwrap().url.starts_with("data:"));
        server.abort();
    }

    #[tokio::test]
    async fn downloads_that_stall_end_at_the_time_limit() {
        let (base, server) = serve().await;
        let (reg, pm) = setup();
        for path in ["stall", "stall-body"] {
            let url = format!("{base}/{path}");
            let opts = local().timeout(Duration::from_millis(300));
            let err = run(&reg, vec![Part::media(url.clone(), None)], opts).await.unwrap_err();
            assert_eq!(err.status(), Status::DeadlineExceeded, "{path}: {err}");
            assert!(err.message().contains("time limit of 300 ms"), "{}", err.message());
        }
        assert!(pm.requests().is_empty());
        server.abort();
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_default_size_limit() {
        let (base, server) = serve().await;
        let (reg, pm) = setup();
        let url = format!("{base}/endless");
        let err = run(&reg, vec![Part::media(url.clone(), None)], local()).await.unwrap_err();
        assert_eq!(err.status(), Status::InvalidArgument, "{err}");
        assert_eq!(err.message(), format!("content size at {url} over limit: {DEFAULT_DOWNLOAD_MAX_BYTES}"));
        assert!(pm.requests().is_empty());
        server.abort();
    }
}
