// Who is calling. Callers present `authorization: Bearer <token>` metadata;
// the tokens file (AGENTSTORE_TOKENS_FILE, README "Authentication and
// isolation") holds only the SHA-256 of each token, with a name and either
// `service: true` (every user's data) or the one `user_id` it is bound to.
// A presented token is hashed and the hash looked up in a Map: what is
// compared is SHA-256 digests, never token text, so the lookup's timing
// tells nothing about how much of a guessed token is right (to steer a
// digest's prefix one would need preimages). Without a tokens file
// authentication is off and every caller is anonymous (loopback only, see
// main.ts). Tokens never reach a log line, a status or an error message.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { status, type Metadata } from '@grpc/grpc-js';
import { ConfigError } from '../config.js';

export interface Caller {
  /** The token's name from the tokens file (never the token); null when authentication is off. */
  readonly name: string | null;
  /** The one user a user-scoped token acts for; null for a service token or when authentication is off. */
  readonly userId: string | null;
}

/** Every caller when authentication is off. */
export const ANONYMOUS: Caller = Object.freeze({ name: null, userId: null });

/** A call refused for who is calling: UNAUTHENTICATED or PERMISSION_DENIED, with a message for the client (and the audit line). */
export class AccessError extends Error {
  constructor(
    readonly code: status.UNAUTHENTICATED | status.PERMISSION_DENIED,
    message: string,
  ) {
    super(message);
    this.name = 'AccessError';
  }
}

const SETTING = 'AGENTSTORE_TOKENS_FILE';
const bad = (why: string) => new ConfigError(`${SETTING}: ${why}`);

/** Reads and checks a tokens file: hex SHA-256 → the caller it names. Errors name the entry, never show a hash. */
export function parseTokens(text: string): Map<string, Caller> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const list = (doc as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) throw bad('expected {"tokens": [...]}');
  if (list.length === 0) throw bad('lists no tokens');
  const out = new Map<string, Caller>();
  const names = new Set<string>();
  list.forEach((t: unknown, i) => {
    const at = `tokens[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad(`${at}: expected an object`);
    const { name, sha256, service, user_id: userId, ...rest } = t as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw bad(`${at}: unknown field ${JSON.stringify(extra[0])}`);
    if (typeof name !== 'string' || name.length === 0 || name.length > 128 || /[\0-\x1f]/.test(name)) {
      throw bad(`${at}.name: expected 1–128 printable characters`);
    }
    if (names.has(name)) throw bad(`${at}.name: "${name}" is used twice`);
    names.add(name);
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) throw bad(`${at}.sha256: expected 64 hex digits (the SHA-256 of the token)`);
    const key = sha256.toLowerCase();
    if (out.has(key)) throw bad(`${at}.sha256: the same token is listed twice`);
    const isService = service === true;
    if (service !== undefined && typeof service !== 'boolean') throw bad(`${at}.service: expected true or false`);
    if (userId !== undefined && (typeof userId !== 'string' || userId.length === 0 || userId.length > 512 || userId.includes('\0'))) {
      throw bad(`${at}.user_id: expected 1–512 characters`);
    }
    if (isService === (userId !== undefined)) throw bad(`${at}: give either "service": true or a "user_id"`);
    out.set(key, Object.freeze({ name, userId: isService ? null : (userId as string) }));
  });
  return out;
}

function readTokens(file: string): Map<string, Caller> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw bad(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseTokens(text);
}

const unauthenticated = (why: string) => new AccessError(status.UNAUTHENTICATED, why);

export class Authenticator {
  private tokens: Map<string, Caller> | null;

  /** `file`: the tokens file, or null for authentication off. Throws ConfigError for a bad file. */
  constructor(private readonly file: string | null) {
    this.tokens = file === null ? null : readTokens(file);
  }

  get enabled(): boolean {
    return this.tokens !== null;
  }

  /** How many tokens are loaded (0 when authentication is off). */
  get size(): number {
    return this.tokens?.size ?? 0;
  }

  /** Reads the file again; on a ConfigError the tokens loaded before stay in force. */
  reload(): void {
    if (this.file !== null) this.tokens = readTokens(this.file);
  }

  /** The caller the metadata's bearer token names; AccessError(UNAUTHENTICATED) when it names none. */
  authenticate(metadata: Metadata): Caller {
    const tokens = this.tokens;
    if (tokens === null) return ANONYMOUS;
    const values = metadata.get('authorization');
    if (values.length === 0) throw unauthenticated('authorization: missing (send "authorization: Bearer <token>" metadata)');
    const value = values[0];
    if (values.length > 1 || typeof value !== 'string') throw unauthenticated('authorization: expected one "Bearer <token>" value');
    if (value.length < 8 || value.slice(0, 7).toLowerCase() !== 'bearer ') throw unauthenticated('authorization: expected "Bearer <token>"');
    const caller = tokens.get(createHash('sha256').update(value.slice(7).trim()).digest('hex'));
    if (caller === undefined) throw unauthenticated('authorization: unknown token');
    return caller;
  }
}
