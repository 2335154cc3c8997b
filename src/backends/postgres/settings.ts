// SettingsStore on PostgreSQL. Twin: src/backends/libsql/settings.ts.
import { now } from '../../store/clock.js';
import type { SettingRow, SettingsStore } from '../../store/settings.js';
import type { JsonObject, JsonValue } from '../../store/types.js';
import { sql, type PgPool } from './pool.js';

const GET = sql('SELECT value FROM settings WHERE user_id = $1 AND key = $2');
const GET_FULL = sql('SELECT key, value, updated_at FROM settings WHERE user_id = $1 AND key = $2');
const UPSERT = sql(`INSERT INTO settings (user_id, key, value, updated_at) VALUES ($1, $2, $3::jsonb, $4)
  ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`);
// Bulk upsert in one statement (atomic): parallel arrays of keys and JSON texts.
const UPSERT_MANY = sql(`INSERT INTO settings (user_id, key, value, updated_at)
  SELECT $1, k, v::jsonb, $4 FROM unnest($2::text[], $3::text[]) AS e (k, v)
  ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`);
const DELETE = sql('DELETE FROM settings WHERE user_id = $1 AND key = $2');
const LIST = sql('SELECT key, value, updated_at FROM settings WHERE user_id = $1 ORDER BY key');
const HAS = sql('SELECT 1 AS x FROM settings WHERE user_id = $1 LIMIT 1');

interface Row {
  key: string;
  value: JsonValue;
  updated_at: Date;
}

const toRow = (r: Row): SettingRow => ({ key: r.key, value: r.value, updatedAt: r.updated_at });

export function pgSettings(pool: PgPool): SettingsStore {
  return {
    async getSetting(userId, key) {
      const r = await pool.one<{ value: JsonValue }>(GET, [userId, key]);
      return r ? r.value : undefined;
    },

    async getSettingFull(userId, key) {
      const r = await pool.one<Row>(GET_FULL, [userId, key]);
      return r ? toRow(r) : null;
    },

    async setSetting(userId, key, value) {
      await pool.exec(UPSERT, [userId, key, JSON.stringify(value), now().toISOString()]);
    },

    deleteSetting: async (userId, key) => (await pool.exec(DELETE, [userId, key])) > 0,

    listSettings: async (userId) => (await pool.rows<Row>(LIST, [userId])).map(toRow),

    // fromEntries defines own properties, so a key such as "__proto__"
    // stays a plain key instead of replacing the object's prototype.
    getAllSettings: async (userId): Promise<JsonObject> => Object.fromEntries((await pool.rows<Row>(LIST, [userId])).map((r) => [r.key, r.value])),

    async setAllSettings(userId, settings) {
      const keys = Object.keys(settings);
      if (keys.length === 0) return;
      const values = keys.map((k) => JSON.stringify(settings[k]));
      await pool.exec(UPSERT_MANY, [userId, keys as unknown as string, values as unknown as string, now().toISOString()]);
    },

    hasSettings: async (userId) => (await pool.one(HAS, [userId])) !== undefined,
  };
}
