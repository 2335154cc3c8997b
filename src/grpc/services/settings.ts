// SettingsStore over gRPC: decode → store → encode.
import { SettingsStore } from '../../gen/agentstore/v1/settings_pb.js';
import type { Database } from '../../store/database.js';
import type { SettingRow } from '../../store/settings.js';
import type { ServiceImpl } from '../bridge.js';
import { jsonFromValue, requiredObject, ts, valueFromJson } from '../convert.js';

const row = (s: SettingRow) => ({ key: s.key, value: valueFromJson(s.value), updatedAt: ts(s.updatedAt) });

export const settingsService = (db: Database): ServiceImpl<typeof SettingsStore.method> => ({
  getSetting: async (r) => {
    const v = await db.getSetting(r.userId, r.key);
    return v === undefined ? { found: false } : { found: true, value: valueFromJson(v) };
  },
  getSettingFull: async (r) => {
    const s = await db.getSettingFull(r.userId, r.key);
    return { setting: s ? row(s) : undefined };
  },
  setSetting: async (r) => {
    await db.setSetting(r.userId, r.key, jsonFromValue('value', r.value));
    return {};
  },
  deleteSetting: async (r) => ({ deleted: await db.deleteSetting(r.userId, r.key) }),
  listSettings: async (r) => ({ settings: (await db.listSettings(r.userId)).map(row) }),
  getAllSettings: async (r) => ({ settings: await db.getAllSettings(r.userId) }),
  setAllSettings: async (r) => {
    await db.setAllSettings(r.userId, requiredObject('settings', r.settings));
    return {};
  },
  hasSettings: async (r) => ({ hasSettings: await db.hasSettings(r.userId) }),
});
