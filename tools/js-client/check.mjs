// Calls flows served by the Rust `genkit-server` with the official Genkit JS client
// (`genkit/beta/client`): runFlow, streamFlow (chunks, output, errors, init, durable stream
// resume, abort). Usage: node check.mjs <base-url> <conformance-cases-json>
// Prints one line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { runFlow, streamFlow } from 'genkit/beta/client';

const [base, casesJson] = process.argv.slice(2);
if (!base) {
  console.error('usage: node check.mjs <base-url> [cases-json]');
  process.exit(2);
}

// When a streamFlow call fails, the client rejects both `output` and the internal `ready`
// promise of its chunk Channel; if nobody is awaiting the channel at that moment (the stream
// was not iterated, or the error frame came with the last chunk), Node reports that second
// promise as unhandled. The error itself reaches `output` (asserted below), so ignore exactly
// those (and the abort of the abort check); anything else fails the run.
process.on('unhandledRejection', (e) => {
  if (e?.stack?.includes('__flowRunEnvelope') || e?.name === 'AbortError') return;
  console.error('unhandled rejection:', e);
  process.exit(1);
});

async function check(name, fn) {
  await fn();
  console.log(`ok ${name}`);
}

async function collect(response) {
  const chunks = [];
  for await (const c of response.stream) chunks.push(c);
  return { chunks, output: await response.output };
}

await check('runFlow result', async () => {
  assert.equal(await runFlow({ url: `${base}/echo`, input: 'hello' }), 'hello');
  assert.equal(
    await runFlow({ url: `${base}/greet`, input: { name: 'Ada', age: 36 } }),
    'Hello Ada (36)'
  );
});

await check('runFlow errors', async () => {
  await assert.rejects(runFlow({ url: `${base}/fail`, input: 1 }), (e) => {
    assert.equal(
      e.message,
      'Server returned: 404: {"status":"NOT_FOUND","message":"nothing here","details":{"why":"test"}}'
    );
    return true;
  });
  await assert.rejects(runFlow({ url: `${base}/greet`, input: { name: 7 } }), /Server returned: 400: .*INVALID_ARGUMENT/);
});

await check('runFlow headers reach the context provider', async () => {
  await assert.rejects(runFlow({ url: `${base}/whoami`, input: 1 }), (e) => {
    assert.equal(e.message, 'Server returned: 401: {"status":"UNAUTHENTICATED","message":"Unauthenticated"}');
    return true;
  });
  await assert.rejects(
    runFlow({ url: `${base}/whoami`, input: 1, headers: { Authorization: 'nope' } }),
    /Server returned: 403: .*Permission Denied/
  );
  const out = await runFlow({ url: `${base}/whoami`, input: 1, headers: { Authorization: 'secret' } });
  assert.deepEqual(out, { context: { auth: { apiKey: 'secret' } }, nested: { auth: { apiKey: 'secret' } } });
});

await check('runFlow and streamFlow with init (bidi flow)', async () => {
  assert.equal(await runFlow({ url: `${base}/bidi`, input: 'a', init: 'setup' }), 'setup:a');
  const { chunks, output } = await collect(streamFlow({ url: `${base}/bidi`, input: 'b', init: 's' }));
  assert.deepEqual(chunks, ['b']);
  assert.equal(output, 's:b');
});

await check('streamFlow chunks then output', async () => {
  const { chunks, output } = await collect(streamFlow({ url: `${base}/streamy`, input: 5 }));
  assert.deepEqual(chunks, [0, 1, 2, 3, 4].map((count) => ({ count })));
  assert.equal(output, 'done 5, streamed: 5 times');
});

await check('streamFlow error frame', async () => {
  const res = streamFlow({ url: `${base}/fail`, input: 1 });
  const outputRejects = assert.rejects(res.output, /NOT_FOUND: nothing here/);
  const chunks = [];
  await assert.rejects(
    (async () => {
      for await (const c of res.stream) chunks.push(c);
    })(),
    (e) => {
      assert.equal(e.message, 'NOT_FOUND: nothing here\n[object Object]');
      return true;
    }
  );
  assert.deepEqual(chunks, ['before']);
  await outputRejects;
});

await check('durable stream: stream id, resume with replay, unknown id', async () => {
  const first = streamFlow({ url: `${base}/durable`, input: 3 });
  const { chunks, output } = await collect(first);
  const streamId = await first.streamId;
  assert.match(streamId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(chunks, [{ count: 0 }, { count: 1 }, { count: 2 }]);
  assert.equal(output, 'done 3, streamed: 3 times');
  const again = await collect(streamFlow({ url: `${base}/durable`, input: 3, streamId }));
  assert.deepEqual(again, { chunks, output });
  await assert.rejects(
    streamFlow({ url: `${base}/durable`, input: 3, streamId: 'no-such-stream' }).output,
    /NOT_FOUND: Stream not found\./
  );
});

await check('abort mid-stream', async () => {
  const controller = new AbortController();
  const res = streamFlow({ url: `${base}/hang`, input: 'first', abortSignal: controller.signal });
  res.output.catch(() => {});
  for await (const c of res.stream) {
    assert.equal(c, 'first');
    controller.abort();
    break;
  }
});

// Genkit's flow-server conformance cases, run the way its tests/src/flow_server_test.ts does.
const cases = casesJson ? JSON.parse(casesJson) : [];
for (const test of cases) {
  await check(`conformance: ${test.path}`, async () => {
    const response = streamFlow({ url: `${base}/${test.path}`, input: test.post.data });
    let chunkCount = 0;
    for await (const chunk of response.stream) {
      const expected = test.response.message.replace('{count}', chunkCount.toString());
      assert.equal(JSON.stringify(chunk), expected);
      chunkCount++;
    }
    assert.equal(chunkCount, test.post.data);
    const want = test.response.result.replace(/\{count\}/g, chunkCount.toString());
    assert.equal(await response.output, want);
  });
}
console.log('all checks passed');
