// Environment variables and command-line flags → one validated Config.
// Every setting has an environment name and a flag of the same meaning
// (`--listen` ↔ AGENTSTORE_LISTEN); a flag wins over the environment. A bad
// value stops the daemon at boot with one line that names the setting.
import { validate as validCron } from 'node-cron';

export type Backend = 'libsql' | 'postgres';

export interface Config {
  backend: Backend;
  databaseUrl: string | null;
  poolSize: number;
  acquireTimeoutMs: number;
  libsqlPath: string;
  libsqlUrl: string | null;
  libsqlAuthToken: string | null;
  /** Seconds between background syncs of an embedded replica; 0 = only on demand. */
  libsqlSyncIntervalSeconds: number;
  libsqlBusyTimeoutMs: number;
  libsqlSynchronous: 'FULL' | 'NORMAL' | 'OFF';
  embeddingDimension: number;
  /** libSQL vector search: chunks pre-selected from in-memory 1-bit codes and rescored exactly; 0 = exact scan. */
  libsqlVectorCandidates: number;
  /** PostgreSQL with pgvector: keep an HNSW index of the embeddings ("hnsw") or scan exactly ("off"). */
  pgvectorIndex: 'hnsw' | 'off';
  /** hnsw.ef_search floor of a vector search through that index (raised to the candidates wanted). */
  pgvectorEfSearch: number;
  listen: string;
  logLevel: string;
  maxMessageBytes: number;
  shutdownGraceMs: number;
  healthIntervalMs: number;
  /** node-cron schedule (UTC) of the libSQL WAL checkpoint; null = off. */
  walCheckpointSchedule: string | null;
  /** JSON file of token hashes (README "Authentication and isolation"); null = authentication off. */
  tokensFile: string | null;
  /** PEM files: the server's certificate chain and key; with a client CA, clients must present a certificate it signed. */
  tlsCert: string | null;
  tlsKey: string | null;
  tlsClientCa: string | null;
  /** Serve a non-loopback address without tokens and TLS. */
  insecure: boolean;
}

export class ConfigError extends Error {}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  flag: string;
  parse: (raw: string, name: string) => Config[K];
  fallback: Config[K];
}

const int = (min: number, max: number) => (raw: string, name: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: expected an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
};

const oneOf = <T extends string>(...values: T[]) => (raw: string, name: string): T => {
  const v = raw.trim().toLowerCase();
  const hit = values.find((x) => x.toLowerCase() === v);
  if (!hit) throw new ConfigError(`${name}: expected one of ${values.join(', ')}, got "${raw}"`);
  return hit;
};

const str = (raw: string) => raw;
const bool = (raw: string, name: string): boolean => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['', 'false', '0', 'no'].includes(v)) return false;
  throw new ConfigError(`${name}: expected true or false, got "${raw}"`);
};
const optStr = (raw: string) => (raw === '' ? null : raw);

const listen = (raw: string, name: string): string => {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`${name}: expected host:port, got "${raw}"`);
  return raw.trim();
};

/** A node-cron expression (5 fields, or 6 with seconds first), or "off". */
const schedule = (raw: string, name: string): string | null => {
  const v = raw.trim();
  if (v === '' || v.toLowerCase() === 'off') return null;
  let ok = false;
  try {
    ok = validCron(v);
  } catch {
    ok = false;
  }
  if (!ok) throw new ConfigError(`${name}: expected a cron expression such as "0 */5 * * * *", or "off", got "${raw}"`);
  return v;
};

const SETTINGS = [
  { key: 'backend', env: 'DATABASE_BACKEND', flag: '--backend', parse: oneOf<Backend>('libsql', 'postgres'), fallback: 'libsql' },
  { key: 'databaseUrl', env: 'DATABASE_URL', flag: '--database-url', parse: optStr, fallback: null },
  { key: 'poolSize', env: 'DATABASE_POOL_SIZE', flag: '--pool-size', parse: int(1, 1000), fallback: 10 },
  { key: 'acquireTimeoutMs', env: 'DATABASE_ACQUIRE_TIMEOUT_MS', flag: '--acquire-timeout-ms', parse: int(1, 600_000), fallback: 5000 },
  { key: 'libsqlPath', env: 'LIBSQL_PATH', flag: '--libsql-path', parse: str, fallback: './data/agentstore.db' },
  { key: 'libsqlUrl', env: 'LIBSQL_URL', flag: '--libsql-url', parse: optStr, fallback: null },
  { key: 'libsqlAuthToken', env: 'LIBSQL_AUTH_TOKEN', flag: '--libsql-auth-token', parse: optStr, fallback: null },
  { key: 'libsqlSyncIntervalSeconds', env: 'LIBSQL_SYNC_INTERVAL', flag: '--libsql-sync-interval', parse: int(0, 86_400), fallback: 5 },
  { key: 'libsqlBusyTimeoutMs', env: 'LIBSQL_BUSY_TIMEOUT_MS', flag: '--libsql-busy-timeout-ms', parse: int(0, 600_000), fallback: 5000 },
  { key: 'libsqlSynchronous', env: 'LIBSQL_SYNCHRONOUS', flag: '--libsql-synchronous', parse: oneOf('FULL', 'NORMAL', 'OFF'), fallback: 'NORMAL' },
  { key: 'embeddingDimension', env: 'EMBEDDING_DIMENSION', flag: '--embedding-dimension', parse: int(1, 16_000), fallback: 1536 },
  { key: 'libsqlVectorCandidates', env: 'LIBSQL_VECTOR_CANDIDATES', flag: '--libsql-vector-candidates', parse: int(0, 10_000_000), fallback: 1000 },
  { key: 'pgvectorIndex', env: 'PGVECTOR_INDEX', flag: '--pgvector-index', parse: oneOf('hnsw', 'off'), fallback: 'hnsw' },
  // pgvector caps hnsw.ef_search at 1000.
  { key: 'pgvectorEfSearch', env: 'PGVECTOR_EF_SEARCH', flag: '--pgvector-ef-search', parse: int(1, 1000), fallback: 100 },
  { key: 'listen', env: 'AGENTSTORE_LISTEN', flag: '--listen', parse: listen, fallback: '127.0.0.1:50051' },
  { key: 'logLevel', env: 'AGENTSTORE_LOG_LEVEL', flag: '--log-level', parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), fallback: 'info' },
  { key: 'maxMessageBytes', env: 'AGENTSTORE_MAX_MESSAGE_BYTES', flag: '--max-message-bytes', parse: int(1024, 256 * 1024 * 1024), fallback: 16 * 1024 * 1024 },
  { key: 'shutdownGraceMs', env: 'AGENTSTORE_SHUTDOWN_GRACE_MS', flag: '--shutdown-grace-ms', parse: int(0, 600_000), fallback: 10_000 },
  { key: 'healthIntervalMs', env: 'AGENTSTORE_HEALTH_INTERVAL_MS', flag: '--health-interval-ms', parse: int(100, 600_000), fallback: 2000 },
  // Housekeeping (src/housekeeping.ts): every 5 minutes by default.
  { key: 'walCheckpointSchedule', env: 'AGENTSTORE_WAL_CHECKPOINT_SCHEDULE', flag: '--wal-checkpoint-schedule', parse: schedule, fallback: '0 */5 * * * *' },
  { key: 'tokensFile', env: 'AGENTSTORE_TOKENS_FILE', flag: '--tokens-file', parse: optStr, fallback: null },
  { key: 'tlsCert', env: 'AGENTSTORE_TLS_CERT', flag: '--tls-cert', parse: optStr, fallback: null },
  { key: 'tlsKey', env: 'AGENTSTORE_TLS_KEY', flag: '--tls-key', parse: optStr, fallback: null },
  { key: 'tlsClientCa', env: 'AGENTSTORE_TLS_CLIENT_CA', flag: '--tls-client-ca', parse: optStr, fallback: null },
  { key: 'insecure', env: 'AGENTSTORE_INSECURE', flag: '--insecure', parse: bool, fallback: false },
] satisfies Setting<keyof Config>[] as Setting<keyof Config>[];

/** Flags that may stand alone (`--insecure` means `--insecure=true`). */
const SWITCHES = new Set(['--insecure']);

export const SETTING_NAMES = SETTINGS.map((s) => ({ env: s.env, flag: s.flag }));

/** Splits `--flag value` / `--flag=value` pairs off argv; returns the rest. */
function readFlags(argv: string[]): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  const known = new Set(SETTINGS.map((s) => s.flag));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!known.has(name)) {
      rest.push(a);
      continue;
    }
    if (eq > 0) flags.set(name, a.slice(eq + 1));
    else if (SWITCHES.has(name)) flags.set(name, 'true');
    else {
      const v = argv[++i];
      if (v === undefined) throw new ConfigError(`${name}: missing value`);
      flags.set(name, v);
    }
  }
  return { flags, rest };
}

export function loadConfig(env: NodeJS.ProcessEnv, argv: string[] = []): { config: Config; rest: string[] } {
  const { flags, rest } = readFlags(argv);
  const config = {} as Record<keyof Config, unknown>;
  for (const s of SETTINGS) {
    const fromFlag = flags.get(s.flag);
    const raw = fromFlag ?? env[s.env];
    config[s.key] = raw === undefined ? s.fallback : s.parse(raw, fromFlag !== undefined ? s.flag : s.env);
  }
  const c = config as unknown as Config;
  if (c.backend === 'postgres' && !c.databaseUrl) throw new ConfigError('DATABASE_URL: required when DATABASE_BACKEND=postgres');
  if (c.databaseUrl && !isPostgresUrl(c.databaseUrl)) throw new ConfigError('DATABASE_URL: expected a postgres:// or postgresql:// URL');
  if (c.libsqlUrl) checkReplicaSettings(c, c.libsqlUrl);
  if ((c.tlsCert === null) !== (c.tlsKey === null)) {
    throw new ConfigError(c.tlsCert === null ? 'AGENTSTORE_TLS_CERT: required with AGENTSTORE_TLS_KEY' : 'AGENTSTORE_TLS_KEY: required with AGENTSTORE_TLS_CERT');
  }
  if (c.tlsClientCa !== null && c.tlsCert === null) throw new ConfigError('AGENTSTORE_TLS_CERT: required with AGENTSTORE_TLS_CLIENT_CA (client certificates need TLS)');
  return { config: c, rest };
}

/**
 * LIBSQL_URL names the primary of an embedded replica: a libsql://, https://
 * or http:// URL with nothing secret in it (the token has its own setting, and
 * a token in the URL would end up in logs and in the request path).
 */
function checkReplicaSettings(c: Config, url: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || !['libsql:', 'https:', 'http:'].includes(u.protocol) || !u.hostname) {
    throw new ConfigError('LIBSQL_URL: expected a libsql://, https:// or http:// URL of the primary database');
  }
  if (u.username || u.password || u.search || u.hash) {
    throw new ConfigError('LIBSQL_URL: must not carry credentials or a query; put the token in LIBSQL_AUTH_TOKEN');
  }
  if (c.backend !== 'libsql') throw new ConfigError('LIBSQL_URL: only used with DATABASE_BACKEND=libsql');
  if (c.libsqlPath === ':memory:') throw new ConfigError('LIBSQL_PATH: an embedded replica needs a file, not :memory:');
  // A local sqld without authentication needs no token; anything else does.
  if (!c.libsqlAuthToken && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new ConfigError('LIBSQL_AUTH_TOKEN: required when LIBSQL_URL points at a remote database');
  }
}

/** Whether a host name or address (IPv6 in brackets or not) is this machine's loopback. */
function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether a listen address is reachable only from this machine. */
export function isLoopback(listen: string): boolean {
  return isLoopbackHost(listen.slice(0, listen.lastIndexOf(':')));
}

/**
 * Why the daemon must not serve this configuration, or null: an address
 * other machines can reach needs tokens (who may call) and TLS (so tokens
 * and data do not cross the network in the clear), unless --insecure.
 */
export function exposureProblem(c: Config): string | null {
  if (isLoopback(c.listen) || c.insecure || (c.tokensFile !== null && c.tlsCert !== null)) return null;
  const missing = [c.tokensFile === null ? 'AGENTSTORE_TOKENS_FILE' : '', c.tlsCert === null ? 'AGENTSTORE_TLS_CERT/AGENTSTORE_TLS_KEY' : ''].filter(Boolean).join(' and ');
  return `AGENTSTORE_LISTEN: ${c.listen} is reachable from other machines; set ${missing}, or pass --insecure to serve it anyway`;
}

/** Whether `s` is a PostgreSQL connection URL (postgres:// or postgresql://). */
export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/** A URL with its password replaced, safe to log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
