//! The crash claim, tested: a writer process indexing documents one at a time is killed with
//! SIGKILL at a random moment, many times over, and after every kill the store still loads and
//! holds every document whose write was acknowledged.
//!
//! The writer is this test binary run again with `DLV_CRASH_WRITER_DIR` set, selecting the
//! `writer_process` test, which prints `ack <n>` after each acknowledged write.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use genkit_ai::Document;
use genkit_ai::embedder::{EmbedResponse, EmbedderOptions, Embedding};
use genkit_ai::indexer::{self, IndexOptions};
use genkit_ai::retriever::{self, RetrieveOptions};
use genkit_core::Registry;
use genkit_dev_local_vectorstore::{DevLocalVectorStore, IndexConfig, index_ref};
use serde_json::json;

const WRITER_ENV: &str = "DLV_CRASH_WRITER_DIR";
const FIRST_ENV: &str = "DLV_CRASH_WRITER_FIRST";
/// Kill rounds; each round acknowledges at least two writes and on average about twelve.
const ROUNDS: usize = 40;

fn registry(dir: &std::path::Path) -> Registry {
    let r = Registry::new();
    let e = genkit_ai::embedder::new(EmbedderOptions::new("fake"), |req, _| async move {
        let embeddings = req
            .input
            .iter()
            .map(|d| {
                let len = d.text().len() as f32;
                Embedding { embedding: (0..64).map(|i| len / (i as f32 + 1.0) - 0.37).collect(), metadata: None }
            })
            .collect();
        Ok(EmbedResponse { embeddings })
    });
    r.register_action(e.as_action()).unwrap();
    r.register_plugin(Arc::new(DevLocalVectorStore::new(vec![IndexConfig::new("crash", "fake").dir(dir)]))).unwrap();
    r
}

/// Documents of about 1 KB with 64-dimensional vectors, so the store file grows to hundreds of
/// kilobytes and a write (serialise, write, sync) is long enough for kills to land inside it.
fn doc_text(n: usize) -> String {
    format!("document number {n} {}", "lorem ipsum ".repeat(80))
}

/// The writer (only when run by `sigkill_at_random_points_loses_no_acknowledged_write`):
/// indexes documents `first, first + 1, …` one per write, printing `ack <n>` once each write
/// has returned.
#[test]
fn writer_process() {
    let Ok(dir) = std::env::var(WRITER_ENV) else { return };
    let first: usize = std::env::var(FIRST_ENV).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = registry(std::path::Path::new(&dir));
        let mut out = std::io::stdout().lock();
        // Bounded, in case the parent dies before killing it.
        for n in first..first + 10_000 {
            let opts = IndexOptions::new(index_ref("crash")).documents(vec![Document::from_text(doc_text(n))]);
            indexer::index(&r, opts).await.unwrap();
            writeln!(out, "ack {n}").unwrap();
            out.flush().unwrap();
        }
    });
}

/// xorshift64: a seeded source of kill points, printed so a failing run can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_write() {
    let dir = std::env::temp_dir().join(format!("dlv-test-sigkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seed = std::env::var("DLV_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    eprintln!("kill points seeded with DLV_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked = Vec::new();
    let mut next = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer_process", "--nocapture", "--test-threads=1"])
            .env(WRITER_ENV, &dir)
            .env(FIRST_ENV, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let 2 to 21 writes be acknowledged, then kill after a random pause of up to one and a
        // half times the writer's own time per write (measured on those writes, only to spread
        // the kill points), so the kill lands anywhere in the following write (embedding,
        // reading the store, serialising, writing the temporary file, syncing, renaming) or
        // between writes.
        let wait_for = 2 + rng.next() % 20;
        let mut seen = 0;
        let mut first_ack = None;
        while seen < wait_for {
            let line = lines.next().expect("the writer exited before it was killed").unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked.push(n.parse::<usize>().unwrap());
                seen += 1;
                first_ack.get_or_insert_with(Instant::now);
            }
        }
        let per_write = first_ack.map_or(Duration::ZERO, |t| t.elapsed() / (seen as u32 - 1).max(1));
        let pause_us = per_write.as_micros() as u64 * 3 / 2;
        std::thread::sleep(Duration::from_micros(rng.next() % pause_us.max(1)));
        child.kill().unwrap();
        // Writes acknowledged between the last line read and the kill are still in the pipe.
        for line in lines {
            if let Some(n) = line.unwrap().strip_prefix("ack ") {
                acked.push(n.parse::<usize>().unwrap());
            }
        }
        child.wait().unwrap();
        // The write in flight at the kill may or may not have landed; either way the next writer
        // starts after it (a document stored twice would only be skipped as a duplicate).
        next = acked.last().map_or(0, |n| n + 2);

        // The store loads (through the plugin, as a restarted app would) and holds every
        // acknowledged document.
        let r = registry(&dir);
        let opts = RetrieveOptions::new(index_ref("crash")).query("q").options(json!({"k": 1_000_000}));
        let docs = rt
            .block_on(retriever::retrieve(&r, opts))
            .unwrap_or_else(|e| panic!("round {round}: the store no longer loads after SIGKILL: {e}"));
        let stored: std::collections::HashSet<String> = docs.iter().map(|d| d.text()).collect();
        for n in &acked {
            assert!(
                stored.contains(&doc_text(*n)),
                "round {round}: acknowledged document {n} is missing after SIGKILL"
            );
        }
    }
    eprintln!("{} acknowledged writes over {ROUNDS} kills", acked.len());
    assert!(acked.len() >= ROUNDS);
    let _ = std::fs::remove_dir_all(&dir);
}
