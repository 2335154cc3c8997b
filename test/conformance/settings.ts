// SettingsStore conformance (STORES.md §2.6, §7 "Settings").
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SuiteContext } from './suite.js';
import { assertStoreError } from './util.js';

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

    it('a stored JSON null is distinguishable from a missing row', async () => {
      const db = ctx.db();
      const u = user();
      await db.setSetting(u, 'k', null);
      assert.equal(await db.getSetting(u, 'k'), null);
      assert.equal(await db.getSetting(u, 'other'), undefined);
      const full = await db.getSettingFull(u, 'k');
      assert.equal(full?.value, null);
      assert.equal(await db.getSettingFull(u, 'other'), null);
    });

    it('rejects bad arguments naming the field', async () => {
      const db = ctx.db();
      await assertStoreError(db.setSetting('', 'k', 1), 'invalid_argument', /user_id/);
      await assertStoreError(db.setSetting('u', '', 1), 'invalid_argument', /key/);
      await assertStoreError(db.setSetting('u', 'k', Number.NaN), 'invalid_argument', /value/);
    });
  });
}
