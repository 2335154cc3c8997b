// SettingsStore over gRPC: decode → store → encode.
import { SettingsStore } from '../../gen/agentstore/v1/settings_pb.js';
import type { SettingRow } from '../../store/settings.js';
import type { ServiceImpl } from '../bridge.js';
import type { StoresFor } from '../stores.js';
import { jsonFromValue, requiredObject, ts, valueFromJson } from '../convert.js';

const row = (s: SettingRow) => ({ key: s.key, value: valueFromJson(s.value), updatedAt: ts(s.updatedAt) });

export const settingsService = (stores: StoresFor): ServiceImpl<typeof SettingsStore.method> => {
  return {
    getSetting: async (r, ctx) => {
      const v = await stores(ctx).getSetting(r.userId, r.key);
      return v === undefined ? { found: false } : { found: true, value: valueFromJson(v) };
    },
    getSettingFull: async (r, ctx) => {
      const s = await stores(ctx).getSettingFull(r.userId, r.key);
      return { setting: s ? row(s) : undefined };
    },
    setSetting: async (r, ctx) => {
      await stores(ctx).setSetting(r.userId, r.key, jsonFromValue('value', r.value));
      return {};
    },
    deleteSetting: async (r, ctx) => ({ deleted: await stores(ctx).deleteSetting(r.userId, r.key) }),
    listSettings: async (r, ctx) => ({ settings: (await stores(ctx).listSettings(r.userId)).map(row) }),
    getAllSettings: async (r, ctx) => ({ settings: await stores(ctx).getAllSettings(r.userId) }),
    setAllSettings: async (r, ctx) => {
      await stores(ctx).setAllSettings(r.userId, requiredObject('settings', r.settings));
      return {};
    },
    hasSettings: async (r, ctx) => ({ hasSettings: await stores(ctx).hasSettings(r.userId) }),
  };
};
