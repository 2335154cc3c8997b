// SettingsStore: per-user key → JSON settings (STORES.md §2.6).
import type { ArgChecks } from './checks.js';
import { invalidArgument } from './errors.js';
import type { JsonObject, JsonValue } from './types.js';
import * as v from './validate.js';

export interface SettingRow {
  key: string;
  value: JsonValue;
  updatedAt: Date;
}

export interface SettingsStore {
  /** undefined when no row; a stored JSON null comes back as null. */
  getSetting(userId: string, key: string): Promise<JsonValue | undefined>;
  getSettingFull(userId: string, key: string): Promise<SettingRow | null>;
  setSetting(userId: string, key: string, value: JsonValue): Promise<void>;
  deleteSetting(userId: string, key: string): Promise<boolean>;
  /** Ordered by key, binary order. */
  listSettings(userId: string): Promise<SettingRow[]>;
  getAllSettings(userId: string): Promise<JsonObject>;
  /** Upserts every entry in one transaction; absent keys are left untouched. */
  setAllSettings(userId: string, settings: JsonObject): Promise<void>;
  hasSettings(userId: string): Promise<boolean>;
}

export const settingsChecks: ArgChecks<SettingsStore> = {
  getSetting: (userId, key) => [v.name('user_id', userId), v.name('key', key)],
  getSettingFull: (userId, key) => [v.name('user_id', userId), v.name('key', key)],
  setSetting: (userId, key, value) => {
    v.json('value', value);
    return [v.name('user_id', userId), v.name('key', key), value];
  },
  deleteSetting: (userId, key) => [v.name('user_id', userId), v.name('key', key)],
  listSettings: (userId) => [v.name('user_id', userId)],
  getAllSettings: (userId) => [v.name('user_id', userId)],
  setAllSettings: (userId, settings) => {
    if (!v.isPlainObject(settings)) throw invalidArgument('settings', 'must be a JSON object');
    for (const key of v.list('settings', Object.keys(settings))) {
      v.name('settings key', key);
      v.json(`settings.${key}`, settings[key]);
    }
    return [v.name('user_id', userId), settings];
  },
  hasSettings: (userId) => [v.name('user_id', userId)],
};
