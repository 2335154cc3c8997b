// SettingsStore conformance (STORES.md §2.6, §7 "Settings").
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../src/store/types.js';
import type { SuiteContext } from './suite.js';
import { assertStoreError, sleep } from './util.js';

/** Binary (UTF-8 byte) order, as both backends must sort keys. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export function settingsSuite(ctx: SuiteContext): void {
  describe('SettingsStore', () => {
    const user = () => `user-${randomUUID()}`;

    it('get of a missing key is undefined; set, get and overwrite', async () => {
      const db = ctx.db();
      const u = user();
      assert.equal(await db.getSetting(u, 'agent.name'), undefined);
      await db.setSetting(u, 'agent.name', 'Ada');
      assert.equal(await db.getSetting(u, 'agent.name'), 'Ada');
      await db.setSetting(u, 'agent.name', { first: 'Ada', n: [1, 2.5, true, null] });
      assert.deepEqual(await db.getSetting(u, 'agent.name'), { first: 'Ada', n: [1, 2.5, true, null] });
    });

    it('every kind of JSON value round-trips exactly', async () => {
      const db = ctx.db();
      const u = user();
      const values: JsonValue[] = [
        false,
        true,
        0,
        -12.5,
        0.1,
        1e21,
        2 ** 53,
        -(2 ** 31),
        0.30000000000000004,
        123456789.12345678,
        1e300,
        5e-324,
        -1.5e-10,
        '',
        'héllo 👋 "quoted" \\ \n\t',
        [],
        {},
        [1, 'two', [3], { four: 4 }],
        { mcp_servers: [{ name: 'fs', args: ['--root', '/tmp'], env: {} }], 'a.b': { 'c.d': null } },
      ];
      for (const [i, value] of values.entries()) await db.setSetting(u, `k${i}`, value);
      for (const [i, value] of values.entries()) assert.deepEqual(await db.getSetting(u, `k${i}`), value, `value ${i}`);
      const all = await db.getAllSettings(u);
      assert.deepEqual(all, Object.fromEntries(values.map((v, i) => [`k${i}`, v])));
    });

    it('a stored JSON null is distinguishable from a missing row', async () => {
      const db = ctx.db();
      const u = user();
      await db.setSetting(u, 'k', null);
      assert.equal(await db.getSetting(u, 'k'), null);
      assert.equal(await db.getSetting(u, 'other'), undefined);
      const full = await db.getSettingFull(u, 'k');
      assert.equal(full?.value, null);
      assert.equal(await db.getSettingFull(u, 'other'), null);
      assert.deepEqual(await db.getAllSettings(u), { k: null });
      assert.equal(await db.hasSettings(u), true);
    });

    it('getSettingFull carries the key and an updated_at that advances on overwrite', async () => {
      const db = ctx.db();
      const u = user();
      const t0 = Date.now();
      await db.setSetting(u, 'agent.name', 'Ada');
      const first = await db.getSettingFull(u, 'agent.name');
      assert.ok(first);
      assert.equal(first.key, 'agent.name');
      assert.equal(first.value, 'Ada');
      assert.ok(first.updatedAt instanceof Date);
      assert.ok(first.updatedAt.getTime() >= t0 - 1000 && first.updatedAt.getTime() <= Date.now() + 1000);
      await sleep(3);
      await db.setSetting(u, 'agent.name', 'Grace');
      const second = await db.getSettingFull(u, 'agent.name');
      assert.equal(second?.value, 'Grace');
      assert.ok(second!.updatedAt > first.updatedAt);
    });

    it('settings are per user', async () => {
      const db = ctx.db();
      const a = user();
      const b = user();
      await db.setSetting(a, 'k', 'a');
      await db.setSetting(b, 'k', 'b');
      assert.equal(await db.getSetting(a, 'k'), 'a');
      assert.equal(await db.getSetting(b, 'k'), 'b');
      assert.equal(await db.deleteSetting(a, 'k'), true);
      assert.equal(await db.getSetting(b, 'k'), 'b');
      assert.equal(await db.getSetting(a.toUpperCase(), 'k'), undefined);
      assert.equal(await db.getSetting(a, 'K'), undefined, 'keys are case-sensitive');
    });

    it('listSettings orders keys in binary order', async () => {
      const db = ctx.db();
      const u = user();
      const keys = ['b', 'B', 'a', '_x', 'Z', 'a.b', 'a_b', 'aB', 'ab', 'A', '-x', 'é', 'e', 'z', '~', '10', '9', 'ä', '😀', '\uffef'];
      for (const k of keys) await db.setSetting(u, k, k);
      const listed = await db.listSettings(u);
      const expected = [...keys].sort(byteOrder);
      assert.deepEqual(
        listed.map((r) => r.key),
        expected,
      );
      for (const r of listed) {
        assert.equal(r.value, r.key);
        assert.ok(r.updatedAt instanceof Date);
      }
      assert.deepEqual(await db.listSettings(user()), []);
    });

    it('deleteSetting: true, then false', async () => {
      const db = ctx.db();
      const u = user();
      await db.setSetting(u, 'k', 1);
      await db.setSetting(u, 'keep', 2);
      assert.equal(await db.deleteSetting(u, 'k'), true);
      assert.equal(await db.deleteSetting(u, 'k'), false);
      assert.equal(await db.deleteSetting(u, 'never'), false);
      assert.equal(await db.getSetting(u, 'k'), undefined);
      assert.deepEqual(await db.getAllSettings(u), { keep: 2 });
    });

    it('getAllSettings: an empty object for a user with none; prototype names are plain keys', async () => {
      const db = ctx.db();
      assert.deepEqual(await db.getAllSettings(user()), {});
      const u = user();
      await db.setAllSettings(u, JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "toString": "s"}') as Record<string, JsonValue>);
      const all = await db.getAllSettings(u);
      assert.deepEqual(Object.keys(all).sort(), ['__proto__', 'constructor', 'toString']);
      assert.deepEqual(Object.getOwnPropertyDescriptor(all, '__proto__')?.value, { polluted: true });
      assert.equal(Object.getPrototypeOf(all), Object.prototype);
      assert.deepEqual(await db.getSetting(u, '__proto__'), { polluted: true });
      assert.deepEqual(
        (await db.listSettings(u)).map((r) => r.key),
        ['__proto__', 'constructor', 'toString'],
      );
    });

    it('setAllSettings upserts every entry with one updated_at and leaves other keys alone', async () => {
      const db = ctx.db();
      const u = user();
      await db.setSetting(u, 'keep', 'old');
      await db.setSetting(u, 'a', 'old');
      const kept = await db.getSettingFull(u, 'keep');
      await sleep(3);
      await db.setAllSettings(u, { a: 'new', b: { x: 1 }, c: null, 'd.e': [1] });
      assert.deepEqual(await db.getAllSettings(u), { keep: 'old', a: 'new', b: { x: 1 }, c: null, 'd.e': [1] });
      const rows = await db.listSettings(u);
      const written = rows.filter((r) => r.key !== 'keep');
      assert.equal(new Set(written.map((r) => r.updatedAt.getTime())).size, 1, 'one updated_at for the batch');
      assert.ok(written[0]!.updatedAt > kept!.updatedAt);
      assert.deepEqual(await db.getSettingFull(u, 'keep'), kept, 'an absent key is untouched');
      await db.setAllSettings(u, {});
      assert.equal((await db.listSettings(u)).length, 5);
      await db.setAllSettings(user(), {});
    });

    it('setAllSettings is atomic: a batch with one bad entry changes nothing', async () => {
      const db = ctx.db();
      const u = user();
      await db.setSetting(u, 'a', 'old');
      const before = await db.listSettings(u);
      await assertStoreError(db.setAllSettings(u, { a: 'new', b: 2, c: Number.NaN }), 'invalid_argument', /settings\.c/);
      await assertStoreError(db.setAllSettings(u, { a: 'new', '': 1 }), 'invalid_argument', /settings key/);
      await assertStoreError(db.setAllSettings(u, { a: 'new', b: { deep: 'nul\u0000' } }), 'invalid_argument', /settings\.b/);
      await assertStoreError(db.setAllSettings(u, { a: 'new', ['k'.repeat(513)]: 1 }), 'invalid_argument', /settings key/);
      assert.deepEqual(await db.listSettings(u), before);
    });

    it('setAllSettings with many entries', async () => {
      const db = ctx.db();
      const u = user();
      const batch = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key.${String(i).padStart(4, '0')}`, { i }]));
      await db.setAllSettings(u, batch);
      const rows = await db.listSettings(u);
      assert.equal(rows.length, 1000);
      assert.deepEqual(rows[999], { key: 'key.0999', value: { i: 999 }, updatedAt: rows[0]!.updatedAt });
      await assertStoreError(db.setAllSettings(user(), { ...batch, extra: 1 }), 'invalid_argument', /settings/);
    });

    it('hasSettings follows the rows', async () => {
      const db = ctx.db();
      const u = user();
      assert.equal(await db.hasSettings(u), false);
      await db.setSetting(u, 'k', false);
      assert.equal(await db.hasSettings(u), true);
      await db.deleteSetting(u, 'k');
      assert.equal(await db.hasSettings(u), false);
      await db.setAllSettings(u, { x: 0 });
      assert.equal(await db.hasSettings(u), true);
    });

    it('concurrent writers to one key leave exactly one of their values', async () => {
      const db = ctx.db();
      const u = user();
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? db.setSetting(u, 'k', i) : db.setAllSettings(u, { k: i, [`own${i}`]: i }))));
      const v = await db.getSetting(u, 'k');
      assert.ok(typeof v === 'number' && v >= 0 && v < 50);
      assert.equal((await db.listSettings(u)).length, 26);
    });

    it('rejects bad arguments naming the field, and writes nothing', async () => {
      const db = ctx.db();
      const u = user();
      const LONG = 'x'.repeat(513);
      for (const bad of ['', 'a\u0000b', LONG, 'half\ud800']) {
        await assertStoreError(db.getSetting(bad, 'k'), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.getSetting(u, bad), 'invalid_argument', /^key:/);
        await assertStoreError(db.getSettingFull(bad, 'k'), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.getSettingFull(u, bad), 'invalid_argument', /^key:/);
        await assertStoreError(db.setSetting(bad, 'k', 1), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.setSetting(u, bad, 1), 'invalid_argument', /^key:/);
        await assertStoreError(db.deleteSetting(bad, 'k'), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.deleteSetting(u, bad), 'invalid_argument', /^key:/);
        await assertStoreError(db.listSettings(bad), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.getAllSettings(bad), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.setAllSettings(bad, { k: 1 }), 'invalid_argument', /^user_id:/);
        await assertStoreError(db.hasSettings(bad), 'invalid_argument', /^user_id:/);
      }
      let deep: JsonValue = 1;
      for (let i = 0; i < 70; i++) deep = [deep];
      const badValues: unknown[] = [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        undefined,
        () => 1,
        { nested: [Number.NaN] },
        'nul\u0000',
        { ['nul\u0000key']: 1 },
        'lone \udc00 surrogate',
        deep,
        'x'.repeat(1024 * 1024),
        'é'.repeat(600 * 1024), // 600 Ki characters, 1.2 MiB as stored
        10n,
      ];
      for (const bad of badValues) await assertStoreError(db.setSetting(u, 'k', bad as never), 'invalid_argument', /^value:/);
      // Just under the limit is accepted.
      await db.setSetting(u, 'big', 'é'.repeat(512 * 1024 - 2));
      assert.equal(await db.getSetting(u, 'big'), 'é'.repeat(512 * 1024 - 2));
      await db.deleteSetting(u, 'big');
      for (const bad of [null, [], ['a'], 'text', 1]) {
        await assertStoreError(db.setAllSettings(u, bad as never), 'invalid_argument', /^settings:/);
      }
      assert.equal(await db.hasSettings(u), false);
      assert.deepEqual(await db.listSettings(u), []);
    });
  });
}
