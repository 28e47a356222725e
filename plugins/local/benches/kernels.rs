//! The chat model's hot path: 8-bit matrix products (activations quantized, then multiplied
//! by Q8_0 weights) at the shapes of one SmolLM2-135M token, one row (generation) and several
//! (a prompt chunk, or batched concurrent generations).
//!
//! ```text
//! cargo bench -p genkit-local --bench kernels
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use genkit_local::bench::Product;

fn products(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("q8 product ({})", genkit_local::chat_kernel()));
    // (name, rows, cols): attention in (q, k, v), feed-forward in (gate, up), out, logits.
    let shapes = [
        ("qkv 960x576", 960, 576),
        ("gate+up 3072x576", 3072, 576),
        ("down 576x1536", 576, 1536),
        ("logits 49152x576", 49152, 576),
    ];
    for (name, rows, cols) in shapes {
        for n in [1usize, 4] {
            let mut p = Product::new(rows, cols, n);
            g.throughput(Throughput::Elements((rows * cols * n) as u64));
            g.bench_function(format!("{name} x{n}"), |b| b.iter(|| p.run()));
        }
    }
    g.finish();
}

criterion_group!(benches, products);
criterion_main!(benches);
