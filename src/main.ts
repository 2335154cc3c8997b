#!/usr/bin/env node
// agentstore CLI: `serve` (default), `migrate`, `status`, `copy`, `help`.
// Exit codes: 0 success, 1 runtime failure (database, migration), 2 bad usage
// or bad setting. Failures print one line that says what to fix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { openDatabase } from './backends/open.js';
import { projectRoot } from './backends/migrations.js';
import { ConfigError, exposureProblem, loadConfig, redactUrl, SETTING_NAMES, type Config } from './config.js';
import { runCopyCommand } from './copy/cli.js';
import { Authenticator } from './grpc/auth.js';
import { startServer, type Security } from './grpc/server.js';
import { serverCredentials } from './grpc/tls.js';
import { housekeepingTasks, startHousekeeping } from './housekeeping.js';
import type { Database } from './store/database.js';
import { StoreError } from './store/errors.js';

const VERSION = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

const USAGE = `agentstore ${VERSION} — gRPC storage daemon for AI-agent state

usage: agentstore [serve|migrate|status|help] [--flag value ...]
       agentstore copy --from <libsql file | postgres URL> --to <libsql file | postgres URL> [--merge]

  serve     apply pending migrations, then serve gRPC (default)
  migrate   apply pending migrations and exit
  status    print the backend and schema version as JSON and exit
  copy      copy every store between two databases (agentstore copy --help)

settings (environment variable / flag):
${SETTING_NAMES.map((s) => `  ${s.env.padEnd(30)} ${s.flag}`).join('\n')}
`;

function describeDatabase(c: Config): Record<string, unknown> {
  return c.backend === 'postgres'
    ? { backend: 'postgres', url: c.databaseUrl ? redactUrl(c.databaseUrl) : null, poolSize: c.poolSize }
    : { backend: 'libsql', path: c.libsqlPath, ...(c.libsqlUrl ? { replicaOf: c.libsqlUrl } : {}) };
}

/** One line for a failure at boot, naming the setting where we can. */
function bootFailure(c: Config, e: unknown): string {
  if (e instanceof StoreError && e.setting) return `${e.setting}: ${e.message}`;
  if (e instanceof StoreError && e.kind === 'unavailable') {
    return c.backend === 'postgres'
      ? `DATABASE_URL: cannot reach PostgreSQL at ${redactUrl(c.databaseUrl ?? '')} (${causeText(e)})`
      : `LIBSQL_PATH: cannot open ${c.libsqlPath} (${causeText(e)})`;
  }
  if (e instanceof StoreError) return e.message;
  const code = (e as { code?: unknown }).code;
  if (c.backend === 'postgres' && typeof code === 'string' && /^(28|3D)/.test(code)) {
    return `DATABASE_URL: PostgreSQL refused the connection (${(e as Error).message})`;
  }
  // Anything else that goes wrong opening libSQL is about the file or its
  // directory (SQLite codes, file-system codes, or the driver's uncoded
  // ConnectionFailed).
  if (c.backend === 'libsql') {
    return `LIBSQL_PATH: cannot use ${c.libsqlPath} (${e instanceof Error ? e.message : String(e)})`;
  }
  return e instanceof Error ? e.message : String(e);
}

function causeText(e: Error): string {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message || (cause as { code?: string }).code || 'unknown error' : e.message;
}

async function main(argv: string[]): Promise<number> {
  // copy names its two databases itself; the daemon's settings do not apply.
  if (argv[0] === 'copy') return runCopyCommand(argv.slice(1));
  let config: Config;
  let rest: string[];
  try {
    ({ config, rest } = loadConfig(process.env, argv));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`agentstore: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const command = rest[0] ?? 'serve';
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (rest.length > 1 || !['serve', 'migrate', 'status'].includes(command)) {
    process.stderr.write(`agentstore: unknown command or flag "${rest.join(' ')}" (see agentstore help)\n`);
    return 2;
  }
  let security: Security | undefined;
  if (command === 'serve') {
    try {
      const problem = exposureProblem(config);
      if (problem) throw new ConfigError(problem);
      security = { auth: new Authenticator(config.tokensFile), credentials: serverCredentials(config) };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      process.stderr.write(`agentstore: ${e.message}\n`);
      return 2;
    }
  }

  const log: Logger = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination({ sync: false, minLength: 4096 }));
  const flush = () => new Promise<void>((resolve) => log.flush(() => resolve()));
  // The buffer spares a write per RPC under load; when traffic is light it
  // must not hold lines back (a quiet daemon would show nothing at all).
  setInterval(() => log.flush(), 1000).unref();
  // grpc-js writes its own errors to stderr; they belong in the JSON log, so
  // that a boot failure stays one line on stderr.
  grpc.setLogger({ error: (...args: unknown[]) => log.warn({ source: 'grpc-js' }, args.map(String).join(' ')) });

  let db: Database | undefined;
  try {
    db = openDatabase(config, (e) => log.warn({ err: { message: e.message } }, 'idle database connection lost'));
    // `status` only looks; every other command brings the schema up to date.
    if (command === 'status') await db.readSchemaVersion();
    else await db.runMigrations();
  } catch (e) {
    process.stderr.write(`agentstore: ${bootFailure(config, e).replace(/\s*\n\s*/g, ' ')}\n`);
    // Set now: a close that never settles must not turn this into exit 0.
    process.exitCode = 1;
    // Nor may a driver call still waiting on the network keep the process up.
    setTimeout(() => process.exit(1), 1000).unref();
    await db?.close().catch(() => undefined);
    return 1;
  }

  if (command === 'migrate' || command === 'status') {
    const info = db.info();
    if (command === 'status') process.stdout.write(JSON.stringify({ version: VERSION, ...describeDatabase(config), ...info }) + '\n');
    else log.info({ ...describeDatabase(config), schemaVersion: info.schemaVersion }, 'migrations applied');
    await db.close();
    await flush();
    return 0;
  }

  let running;
  const { auth } = security!;
  try {
    running = await startServer(config, db, log, VERSION, security!);
  } catch (e) {
    process.stderr.write(`agentstore: AGENTSTORE_LISTEN: cannot listen on ${config.listen} (${e instanceof Error ? e.message : String(e)})\n`);
    process.exitCode = 1;
    await db.close().catch(() => undefined);
    return 1;
  }
  const transport = config.tlsCert === null ? 'plaintext' : config.tlsClientCa === null ? 'tls' : 'mtls';
  log.info(
    { version: VERSION, listen: config.listen, port: running.port, ...describeDatabase(config), schemaVersion: db.info().schemaVersion, auth: auth.enabled ? 'tokens' : 'off', transport },
    'agentstore serving',
  );
  if (!auth.enabled) log.warn({ listen: config.listen }, 'authentication is off (no AGENTSTORE_TOKENS_FILE): every caller reaches every user\'s data');
  else {
    log.info({ tokens: auth.size }, 'authentication is on: every RPC needs "authorization: Bearer <token>"');
    // Rotating tokens without a restart: edit the file, then SIGHUP.
    process.on('SIGHUP', () => {
      try {
        auth.reload();
        log.info({ tokens: auth.size }, 'tokens file reloaded');
      } catch (e) {
        log.warn({ err: { message: e instanceof Error ? e.message : String(e) } }, 'tokens file not reloaded: the tokens loaded before stay in force');
      }
    });
  }
  const housekeeping = startHousekeeping(housekeepingTasks(config, db), log);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: draining in-flight calls');
      void running
        .shutdown()
        .then(() => housekeeping.stop())
        .then(() => db.close())
        .then(() => {
          log.info('database closed; bye');
          resolve();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`agentstore: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
