// The one place that picks a backend from the configuration.
import type { Config } from '../config.js';
import { checked, type Database } from '../store/database.js';
import { openLibsql } from './libsql/index.js';
import { openPostgres } from './postgres/index.js';

export function openDatabase(config: Config, onPoolError?: (e: Error) => void): Database {
  const db = config.backend === 'postgres' ? openPostgres(config, onPoolError) : openLibsql(config);
  return checked(db);
}
