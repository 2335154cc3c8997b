// The documented limits that the hostile-input fuzz (test/grpc/fuzz.ts)
// drove past: sizes that PostgreSQL index entries cannot hold, path segments
// that would be resolved elsewhere, metadata a unique index is keyed by,
// JSON text. Each holds exactly at the limit and is refused one past it,
// the same on both backends.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { MAX_CHUNK_WORD_BYTES, MAX_JSON_DEPTH, MAX_NAME_BYTES, MAX_PATH_BYTES } from '../../src/store/limits.js';
import { DEFAULT_SEARCH_CONFIG } from '../../src/store/workspace.js';
import { indexTerms } from '../../src/store/workspace-search.js';
import { newSandboxJob } from './jobs.js';
import { makeRoutine } from './routines.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError } from './util.js';

/**
 * A unique string of exactly `bytes` UTF-8 bytes, mostly distinct CJK
 * characters (three bytes each) that do not compress, so an index entry
 * really holds that many bytes.
 */
function wide(bytes: number): string {
  let s = randomUUID();
  for (let i = 0; Buffer.byteLength(s) + 3 <= bytes; i++) s += String.fromCodePoint(0x4e00 + ((i * 7919) % 20000));
  return s.padEnd(s.length + bytes - Buffer.byteLength(s), 'x');
}

/**
 * Words of three squared katakana each ("㌀" is "アパート" after NFKC), all
 * distinct: about 32 bytes of indexed word per four characters of text.
 */
function expandingWords(count: number): string[] {
  const squared = Array.from({ length: 0x58 }, (_, i) => String.fromCharCode(0x3300 + i));
  const out: string[] = [];
  for (const a of squared) for (const b of squared) for (const c of squared) if (out.length < count) out.push(a + b + c);
  return out;
}

const wordBytes = (text: string) => indexTerms(text).terms.reduce((n, t) => n + Buffer.byteLength(t), 0);

export function limitsSuite(ctx: SuiteContext): void {
  describe('documented limits', () => {
    it('names are limited in UTF-8 bytes: two 512-byte names form a key on every store, 513 bytes are refused', async () => {
      const db = ctx.db();
      const [u, key, channel, name] = [wide(MAX_NAME_BYTES), wide(MAX_NAME_BYTES), wide(MAX_NAME_BYTES), wide(MAX_NAME_BYTES)];
      assert.equal(Buffer.byteLength(u), MAX_NAME_BYTES);
      await db.setSetting(u, key, 'v');
      assert.equal(await db.getSetting(u, key), 'v');
      const c = await db.createConversation(channel, u);
      const assistant = await db.getOrCreateAssistantConversation(u, channel);
      assert.equal(await db.getOrCreateAssistantConversation(u, channel), assistant);
      assert.deepEqual((await db.listConversationsWithPreview(u, channel, 10)).map((s) => s.id).sort(), [c, assistant].sort());
      const r = await db.createRoutine(makeRoutine({ userId: u, name }));
      assert.equal((await db.getRoutineByName(u, name))?.id, r.id);
      await db.recordToolFailure(name, 'boom');
      assert.ok((await db.getBrokenTools(1)).some((t) => t.name === name));

      const over = wide(MAX_NAME_BYTES + 1);
      await assertStoreError(db.setSetting(over, key, 1), 'invalid_argument', /^user_id: longer than 512 bytes/);
      await assertStoreError(db.setSetting(u, over, 1), 'invalid_argument', /^key: longer than 512 bytes/);
      await assertStoreError(db.createConversation(over, u), 'invalid_argument', /^channel:/);
      await assertStoreError(db.getOrCreateAssistantConversation(u, over), 'invalid_argument', /^channel:/);
      await assertStoreError(db.createRoutine(makeRoutine({ userId: u, name: over })), 'invalid_argument', /^name:/);
      await assertStoreError(db.recordToolFailure(over, 'boom'), 'invalid_argument', /^tool_name:/);
      // 512 ASCII characters still fit; 171 three-byte characters (513 bytes) do not.
      await db.setSetting(u, 'k'.repeat(512), 1);
      await assertStoreError(db.setSetting(u, '字'.repeat(171), 1), 'invalid_argument', /^key:/);
      assert.deepEqual(Object.keys(await db.getAllSettings(u)).sort(), [key, 'k'.repeat(512)].sort());
    });

    it('a workspace path holds 2048 bytes next to a 512-byte user and an agent id; 2049 bytes are refused', async () => {
      const db = ctx.db();
      const u = wide(MAX_NAME_BYTES);
      const agent = randomUUID();
      const path = `${wide(MAX_PATH_BYTES - 5)}/a.md`;
      assert.equal(Buffer.byteLength(path), MAX_PATH_BYTES);
      const d = await db.getOrCreateDocumentByPath(u, agent, path);
      assert.equal((await db.getOrCreateDocumentByPath(u, agent, path)).id, d.id);
      assert.deepEqual(await db.listAllPaths(u, agent), [path]);
      assert.deepEqual((await db.listDirectory(u, agent, path.slice(0, -5))).map((e) => e.path), [path]);
      const over = `${path}x`;
      await assertStoreError(db.getOrCreateDocumentByPath(u, agent, over), 'invalid_argument', /^path: longer than 2048 bytes/);
      await assertStoreError(db.getDocumentByPath(u, agent, over), 'invalid_argument', /^path:/);
      await assertStoreError(db.listDirectory(u, agent, over), 'invalid_argument', /^directory:/);
      assert.deepEqual(await db.listAllPaths(u, agent), [path]);
    });

    it('"." and ".." segments are refused in paths and directories (paths are literal); dots inside a segment are fine', async () => {
      const db = ctx.db();
      const u = `user-${randomUUID()}`;
      for (const bad of ['.', '..', './a.md', 'a/./b.md', 'a/../b.md', '../etc/passwd', 'a/..', 'a/.']) {
        await assertStoreError(db.getOrCreateDocumentByPath(u, null, bad), 'invalid_argument', /^path: must not contain "\." or "\.\." segments/);
        await assertStoreError(db.getDocumentByPath(u, null, bad), 'invalid_argument', /^path:/);
        await assertStoreError(db.deleteDocumentByPath(u, null, bad), 'invalid_argument', /^path:/);
        await assertStoreError(db.listDirectory(u, null, bad), 'invalid_argument', /^directory:/);
        await assertStoreError(db.listDirectory(u, null, `${bad}/`), 'invalid_argument', /^directory:/);
      }
      const fine = ['.hidden', 'a/..b', '.../x.md', 'v1.2/notes.md', 'a/b..'];
      for (const p of fine) await db.getOrCreateDocumentByPath(u, null, p);
      assert.deepEqual(await db.listAllPaths(u, null), [...fine].sort());
    });

    it('a chunk whose distinct words exceed the full-text index is refused; one just within is searchable to its last word', async () => {
      const db = ctx.db();
      const u = `user-${randomUUID()}`;
      const d = await db.getOrCreateDocumentByPath(u, null, 'katakana.md');
      const within = expandingWords(29_000);
      const text = within.join(' ');
      assert.ok(wordBytes(text) > 0.9 * MAX_CHUNK_WORD_BYTES && wordBytes(text) <= MAX_CHUNK_WORD_BYTES, String(wordBytes(text)));
      await db.insertChunk(d.id, 0, text, null);
      const fts = { ...DEFAULT_SEARCH_CONFIG, useVector: false };
      for (const w of [within[0]!, within[15_000]!, within.at(-1)!]) {
        assert.equal((await db.hybridSearch(u, null, w, null, fts)).length, 1, `finds ${w}`);
      }
      // Within 128 Ki characters, but over 1 MiB of words: PostgreSQL would keep it and lose the last words.
      const over = expandingWords(32_768).join(' ');
      assert.ok(over.length <= 128 * 1024 && wordBytes(over) > MAX_CHUNK_WORD_BYTES);
      await assertStoreError(db.insertChunk(d.id, 1, over, null), 'invalid_argument', /^content: its distinct words take \d+ bytes/);
      assert.deepEqual((await db.getChunksWithoutEmbeddings(u, null, 10)).map((c) => c.chunkIndex), [0]);
    });

    it('metadata.routine_id set by updateConversationMetadataField must be a UUID (stored lowercase) or null', async () => {
      const db = ctx.db();
      const u = `user-${randomUUID()}`;
      const id = await db.createConversation('gateway', u);
      for (const bad of ['not-a-uuid', 'x'.repeat(3000), 42, { id: randomUUID() }, [randomUUID()], true]) {
        await assertStoreError(db.updateConversationMetadataField(id, 'routine_id', bad), 'invalid_argument', /^value: must be a UUID/);
      }
      assert.deepEqual(await db.getConversationMetadata(id), {});
      const routineId = randomUUID();
      await db.updateConversationMetadataField(id, 'routine_id', routineId.toUpperCase());
      assert.deepEqual(await db.getConversationMetadata(id), { routine_id: routineId });
      // …so the routine's own lookup finds this conversation.
      assert.equal(await db.getOrCreateRoutineConversation(routineId, 'R', u), id);
      await db.updateConversationMetadataField(id, 'routine_id', null);
      assert.deepEqual(await db.getConversationMetadata(id), { routine_id: null });
    });

    it('credential grants are JSON text within the JSON limits (depth, finite numbers, no NUL)', async () => {
      const db = ctx.db();
      const deep = '['.repeat(MAX_JSON_DEPTH + 2) + ']'.repeat(MAX_JSON_DEPTH + 2);
      for (const bad of ['not json', deep, '[1e999]', '["\\u0000"]', '["\\ud800"]', 'x'.repeat(1024 * 1024 + 1)]) {
        const job = newSandboxJob({ credentialGrantsJson: bad });
        await assertStoreError(db.saveSandboxJob(job), 'invalid_argument', /^job\.credential_grants_json:/);
        assert.equal(await db.getSandboxJob(job.id), null);
      }
      const ok = newSandboxJob({ credentialGrantsJson: '[{"secret_name":"gh","env_var":"GH_TOKEN"}]' });
      await db.saveSandboxJob(ok);
      assert.equal((await db.getSandboxJob(ok.id))?.credentialGrantsJson, ok.credentialGrantsJson);
    });
  });
}
