//! What a chat adds to `generate` (experimental chat API): opening a chat on a thread with a
//! 10-message history and sending one message (preamble tagging, history assembly, the `send`
//! span, saving the session to the in-memory store), beside one `generate` call with the same
//! messages, both on the echo test model.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit::experimental::chat::{InMemorySessionDataStore, SessionOptions};
use genkit::{GenerateOptions, Genkit, Message};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let g = rt.block_on(Genkit::builder().no_prompt_dir().build()).unwrap();
    g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    let history: Vec<Message> =
        (0..5).flat_map(|i| [Message::user(format!("question {i}")), Message::model(format!("answer {i}"))]).collect();
    let session = g.create_session(SessionOptions::new().store(InMemorySessionDataStore::new())).unwrap();

    c.bench_function("generate (system + 10 messages + prompt, echo model)", |b| {
        b.to_async(&rt).iter(|| async {
            let opts =
                GenerateOptions::new().model("echo").system("Be brief.").messages(history.clone()).prompt("next");
            black_box(g.generate(opts).await.unwrap())
        });
    });
    c.bench_function("chat open + send (10-message thread, in-memory store, echo model)", |b| {
        b.to_async(&rt).iter(|| async {
            // Back to the same 10 messages, so every iteration does the same work.
            session.live().set_messages(history.clone());
            let chat = session.chat(GenerateOptions::new().model("echo").system("Be brief.")).await.unwrap();
            black_box(chat.send("next").await.unwrap())
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
