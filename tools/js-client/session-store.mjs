// Genkit JS's FileSessionStore on a directory the Rust FileSessionStore also uses
// (crates/genkit-ai, test `js_and_rust_share_a_directory`): reads what Rust wrote, writes a
// snapshot of its own and updates one of Rust's in place, then prints what it read.
//   node session-store.mjs DIR
import { FileSessionStore } from 'genkit/beta';

const [dir] = process.argv.slice(2);
const store = new FileSessionStore(dir);
const bySession = await store.getSnapshot({ sessionId: 'rust-s' });
const byId = await store.getSnapshot({ snapshotId: 'rust-1' });
await store.saveSnapshot('js-1', () => ({
  snapshotId: 'js-1',
  sessionId: 'js-s',
  createdAt: '2026-01-01T00:00:00.000Z',
  status: 'completed',
  state: {
    sessionId: 'js-s',
    messages: [{ role: 'user', content: [{ text: 'from js: é ü "quoted" \\ / \n\t \u001b end' }] }],
    custom: { n: 1.5, list: [], empty: {}, nested: { ok: true, nothing: null } },
  },
}));
await store.saveSnapshot('rust-1', (current) => ({ ...current, status: 'aborted' }));
console.log(JSON.stringify({ bySession: bySession?.snapshotId ?? null, byId: byId?.state?.custom ?? null }));
