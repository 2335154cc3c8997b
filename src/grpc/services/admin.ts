// Admin over gRPC: what this daemon is and what it talks to; on an embedded
// replica, its sync with the primary.
import { Admin } from '../../gen/agentstore/v1/admin_pb.js';
import type { Database } from '../../store/database.js';
import type { ServiceImpl } from '../bridge.js';
import { optTs, ts } from '../convert.js';

export interface AdminDeps {
  db: Database;
  version: string;
  services: string[];
  databaseOk: () => boolean;
}

export const adminService = ({ db, version, services, databaseOk }: AdminDeps): ServiceImpl<typeof Admin.method> => ({
  getStatus: () => {
    const info = db.info();
    const r = info.replica;
    return {
      version,
      backend: info.backend,
      schemaVersion: BigInt(info.schemaVersion),
      latestSchemaVersion: BigInt(info.latestSchemaVersion),
      databaseOk: databaseOk(),
      capabilities: {
        vectorSearch: info.vectorSearch,
        vectorSearchMethod: info.vectorSearchMethod,
        embeddingDimension: info.embeddingDimension,
        services,
      },
      replica: r
        ? {
            primaryUrl: r.primaryUrl,
            syncIntervalSeconds: BigInt(r.syncIntervalSeconds),
            lastSyncTime: optTs(r.lastSyncAt),
            lastSyncFrames: BigInt(r.lastSyncFrames),
            framesPulled: BigInt(r.framesPulled),
            frameNo: BigInt(r.frameNo ?? 0),
            lastSyncError: r.lastSyncError ?? '',
            lastSyncErrorTime: optTs(r.lastSyncErrorAt),
            writable: r.writable,
          }
        : undefined,
    };
  },
  sync: async () => {
    const r = await db.sync();
    return { framesPulled: BigInt(r.framesPulled), frameNo: BigInt(r.frameNo ?? 0), syncedAt: ts(r.syncedAt) };
  },
});
