//! The overhead of an agent turn over a plain `generate` with the echo model: a fresh
//! client-managed run of one turn, and the same with a server-managed in-memory store
//! (snapshot saved per turn), against one `generate` call with the same message.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit::experimental::agent::{AgentInit, AgentInput, AgentOptions};
use genkit::experimental::session::{InMemorySessionStore, SessionStore};
use genkit::{GenerateOptions, Genkit, Message, PromptConfig};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let g = rt.block_on(Genkit::builder().no_reflection().build()).unwrap();
    g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    let client = g.define_agent(PromptConfig::new("client").model("echo"), AgentOptions::default());
    let store: Arc<dyn SessionStore> = Arc::new(InMemorySessionStore::new());
    let server = g.define_agent(PromptConfig::new("server").model("echo"), AgentOptions::default().store(store));
    let input = || AgentInput { message: Some(Message::user("hi")), ..AgentInput::default() };
    let init = AgentInit::default();

    let mut group = c.benchmark_group("agent turn");
    group.bench_function("plain generate", |b| {
        b.to_async(&rt).iter(|| async {
            let opts = GenerateOptions::new().model("echo").messages(vec![Message::user("hi")]);
            black_box(g.generate(opts).await.unwrap())
        });
    });
    group.bench_function("agent turn (client-managed)", |b| {
        b.to_async(&rt).iter(|| async { black_box(client.run(&init, vec![input()]).await.unwrap()) });
    });
    group.bench_function("agent turn (in-memory store)", |b| {
        b.to_async(&rt).iter(|| async { black_box(server.run(&init, vec![input()]).await.unwrap()) });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
