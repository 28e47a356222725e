// Drives real agents of the Rust agent runtime, served by `genkit-server`, with the official
// Genkit JS client (`remoteAgent` from `genkit/beta/client`): `/assistant` is a prompt agent
// on the echo model, `/worker` a custom agent whose turns run until aborted; both keep their
// state in a session store. Checks send, stream, resume by snapshot id, loadChat, getSnapshot,
// detach + wait, detach + abort.
// Usage: node real-agent-check.mjs <base-url>
// Prints one line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { remoteAgent } from 'genkit/beta/client';

const [base] = process.argv.slice(2);
if (!base) {
  console.error('usage: node real-agent-check.mjs <base-url>');
  process.exit(2);
}

async function check(name, fn) {
  await fn();
  console.log(`ok ${name}`);
}

const agent = remoteAgent({ url: `${base}/assistant` });
const chat = agent.chat();
let first;

await check('send', async () => {
  const r = await chat.send('hi');
  assert.equal(r.text, 'Echo: hi; config: {}');
  assert.equal(r.finishReason, 'stop');
  assert.equal(typeof r.snapshotId, 'string');
  assert.equal(typeof r.sessionId, 'string');
  assert.equal(r.messages.length, 2);
  first = r.snapshotId;
});

await check('sendStream', async () => {
  const turn = chat.sendStream('again');
  let chunks = 0;
  let turnEnd;
  for await (const c of turn.stream) {
    if (c.text) chunks++;
    if (c.raw.turnEnd) turnEnd = c.raw.turnEnd;
  }
  const r = await turn.response;
  assert.ok(chunks > 0, 'the model chunks were streamed');
  assert.equal(turnEnd.finishReason, 'stop');
  assert.equal(turnEnd.snapshotId, r.snapshotId);
  assert.equal(r.text, 'Echo: hi\nEcho: hi; config: {}\nagain; config: {}');
  assert.equal(chat.messages.length, 4);
});

await check('resume by snapshot id', async () => {
  const branch = agent.chat({ snapshotId: first });
  const r = await branch.send('branch');
  assert.equal(r.text, 'Echo: hi\nEcho: hi; config: {}\nbranch; config: {}');
  assert.notEqual(r.snapshotId, first);
});

await check('loadChat', async () => {
  const bySnapshot = await agent.loadChat({ snapshotId: first });
  assert.equal(bySnapshot.messages.length, 2);
  const bySession = await agent.loadChat({ sessionId: chat.sessionId });
  assert.ok(bySession.messages.length >= 4);
});

await check('getSnapshot', async () => {
  const snap = await agent.getSnapshot(first);
  assert.equal(snap.snapshotId, first);
  assert.equal(snap.status, 'completed');
  assert.equal(snap.state.messages.length, 2);
  await assert.rejects(agent.getSnapshot('missing'), (e) => /NOT_FOUND|not found/i.test(String(e.message ?? e)));
});

await check('detach and wait', async () => {
  const task = await chat.detach('bg');
  assert.equal(typeof task.snapshotId, 'string');
  const done = await task.wait({ intervalMs: 20 });
  assert.equal(done.status, 'completed');
});

await check('abort a detached turn', async () => {
  const worker = remoteAgent({ url: `${base}/worker` });
  const task = await worker.chat().detach('work');
  assert.equal(await task.abort(), 'pending');
  const last = await task.wait({ intervalMs: 20 });
  assert.equal(last.status, 'aborted');
  assert.equal(await worker.abort(task.snapshotId), 'aborted');
});

console.log('all agent checks passed');
