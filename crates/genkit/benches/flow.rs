//! A flow with one traced `run` step, through the `Genkit` facade.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit::Genkit;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let g = rt.block_on(Genkit::builder().build()).unwrap();
    let g2 = g.clone();
    let flow = g.define_flow("oneStep", move |n: u64, _cx| {
        let g = g2.clone();
        async move { g.run("double", async move { Ok(n * 2) }).await }
    });
    c.bench_function("flow with one run step", |b| {
        b.to_async(&rt).iter(|| async { black_box(flow.run(black_box(21)).await.unwrap()) });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
