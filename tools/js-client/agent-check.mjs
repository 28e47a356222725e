// Drives agents served by the Rust `genkit-server` with the official Genkit JS client
// (`remoteAgent` from `genkit/beta/client`): send, stream, interrupt + resume, resume by
// snapshot id, loadChat, getSnapshot, detach + wait, abort of a detached turn, client-managed
// state, failed turns and headers.
// Usage: node agent-check.mjs <base-url>   (the server serves /echo, /api/local, /private/echo)
// Prints one line per check; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { remoteAgent } from 'genkit/beta/client';

const [base] = process.argv.slice(2);
if (!base) {
  console.error('usage: node agent-check.mjs <base-url>');
  process.exit(2);
}

async function check(name, fn) {
  await fn();
  console.log(`ok ${name}`);
}

const agent = remoteAgent({ url: `${base}/echo` });
const chat = agent.chat();
let first;

await check('send', async () => {
  const r = await chat.send('hi');
  assert.equal(r.text, 'echo: hi');
  assert.equal(r.finishReason, 'stop');
  assert.deepEqual(r.state, { turns: 1 });
  assert.equal(typeof r.snapshotId, 'string');
  assert.equal(typeof r.sessionId, 'string');
  assert.equal(r.messages.length, 2);
  first = r.snapshotId;
});

await check('sendStream', async () => {
  const turn = chat.sendStream('again');
  const texts = [];
  let custom;
  let turnEnd;
  for await (const c of turn.stream) {
    if (c.text) texts.push(c.accumulatedText);
    if (c.custom !== undefined) custom = c.custom;
    if (c.raw.turnEnd) turnEnd = c.raw.turnEnd;
  }
  const r = await turn.response;
  assert.deepEqual(texts, ['echo: ', 'echo: again']);
  assert.deepEqual(custom, { turns: 2 });
  assert.equal(turnEnd.finishReason, 'stop');
  assert.equal(turnEnd.snapshotId, r.snapshotId);
  assert.equal(r.text, 'echo: again');
  assert.equal(chat.messages.length, 4);
});

await check('interrupt and resume', async () => {
  const r = await chat.send('interrupt');
  assert.equal(r.finishReason, 'interrupted');
  assert.equal(r.interrupts.length, 1);
  assert.equal(r.interrupts[0].name, 'confirm');
  const resumed = await chat.resume({ respond: [r.interrupts[0].respond({ ok: true })] });
  assert.equal(resumed.text, 'resumed: {"ok":true}');
});

await check('resume by snapshot id', async () => {
  const branch = agent.chat({ snapshotId: first });
  const r = await branch.send('branch');
  assert.deepEqual(r.state, { turns: 2 });
  assert.notEqual(r.snapshotId, first);
});

await check('loadChat', async () => {
  const bySnapshot = await agent.loadChat({ snapshotId: first });
  assert.equal(bySnapshot.messages.length, 2);
  assert.deepEqual(bySnapshot.state, { turns: 1 });
  const bySession = await agent.loadChat({ sessionId: chat.sessionId });
  assert.ok(bySession.messages.length >= 2);
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
  const task = await chat.detach('slow');
  assert.equal(await task.abort(), 'pending');
  const last = await task.wait({ intervalMs: 20 });
  assert.equal(last.status, 'aborted');
  assert.equal(await agent.abort(task.snapshotId), 'aborted');
});

await check('client-managed state', async () => {
  const local = remoteAgent({ url: `${base}/api/local` });
  const c = local.chat();
  await c.send('one');
  const r = await c.send('two');
  assert.equal(r.snapshotId, undefined);
  assert.deepEqual(r.state, { turns: 2 });
  assert.equal(c.messages.length, 4);
});

await check('failed turn', async () => {
  const c = remoteAgent({ url: `${base}/api/local` }).chat();
  await c.send('one');
  await assert.rejects(c.send('fail'), (e) => {
    assert.equal(e.name, 'AgentError');
    assert.equal(e.status, 'INVALID_ARGUMENT');
    assert.equal(e.message, 'fixture failure');
    assert.deepEqual(e.state, { turns: 1 });
    return true;
  });
});

await check('headers', async () => {
  const denied = remoteAgent({ url: `${base}/private/echo` });
  await assert.rejects(denied.chat().send('hi'));
  const allowed = remoteAgent({ url: `${base}/private/echo`, headers: { authorization: 'secret' } });
  const r = await allowed.chat().send('hi');
  assert.equal(r.text, 'echo: hi');
  assert.equal((await allowed.getSnapshot(r.snapshotId)).status, 'completed');
});

console.log('all agent checks passed');
