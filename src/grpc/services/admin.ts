// Admin over gRPC: what this daemon is and what it talks to.
import { Admin } from '../../gen/agentstore/v1/admin_pb.js';
import type { Database } from '../../store/database.js';
import type { ServiceImpl } from '../bridge.js';

export interface AdminDeps {
  db: Database;
  version: string;
  services: string[];
  databaseOk: () => boolean;
}

export const adminService = ({ db, version, services, databaseOk }: AdminDeps): ServiceImpl<typeof Admin.method> => ({
  getStatus: () => {
    const info = db.info();
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
    };
  },
});
