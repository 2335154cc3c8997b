// SettingsStore on libSQL. Twin: src/backends/postgres/settings.ts.
import { now } from '../../store/clock.js';
import type { SettingRow, SettingsStore } from '../../store/settings.js';
import type { JsonObject } from '../../store/types.js';
import { readJson, readTs, ts } from './codec.js';

import type { LibsqlPool } from './pool.js';

const UPSERT = `INSERT INTO settings (user_id, key, value, updated_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

interface Row {
  key: string;
  value: string;
  updated_at: string;
}

const toRow = (r: Row): SettingRow => ({ key: r.key, value: readJson('value', r.value), updatedAt: readTs('updated_at', r.updated_at) });

export function libsqlSettings(pool: LibsqlPool): SettingsStore {
  return {
    getSetting: (userId, key) =>
      pool.read((c) => {
        const r = c.get<{ value: string }>('SELECT value FROM settings WHERE user_id = ? AND key = ?', [userId, key]);
        return r ? readJson('value', r.value) : undefined;
      }),

    getSettingFull: (userId, key) =>
      pool.read((c) => {
        const r = c.get<Row>('SELECT key, value, updated_at FROM settings WHERE user_id = ? AND key = ?', [userId, key]);
        return r ? toRow(r) : null;
      }),

    async setSetting(userId, key, value) {
      await pool.write((c) => c.run(UPSERT, [userId, key, JSON.stringify(value), ts(now())]));
    },

    deleteSetting: (userId, key) => pool.write((c) => c.run('DELETE FROM settings WHERE user_id = ? AND key = ?', [userId, key]).changes > 0),

    listSettings: (userId) =>
      pool.read((c) => c.all<Row>('SELECT key, value, updated_at FROM settings WHERE user_id = ? ORDER BY key', [userId]).map(toRow)),

    getAllSettings: (userId) =>
      // fromEntries defines own properties, so a key such as "__proto__"
      // stays a plain key instead of replacing the object's prototype.
      pool.read((c): JsonObject =>
        Object.fromEntries(
          c.all<Row>('SELECT key, value FROM settings WHERE user_id = ? ORDER BY key', [userId]).map((r) => [r.key, readJson('value', r.value)]),
        ),
      ),

    async setAllSettings(userId, settings) {
      const entries = Object.entries(settings);
      if (entries.length === 0) return;
      await pool.write((c) => {
        const t = ts(now());
        for (const [key, value] of entries) c.run(UPSERT, [userId, key, JSON.stringify(value), t]);
      });
    },

    hasSettings: (userId) => pool.read((c) => c.get('SELECT 1 AS x FROM settings WHERE user_id = ? LIMIT 1', [userId]) !== undefined),
  };
}
