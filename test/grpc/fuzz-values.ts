// Seeded inputs for the fuzz test: a small PRNG, hostile strings, numbers,
// timestamps and JSON, requests built from a protobuf-es message descriptor,
// and byte-level mutations of encoded requests.
//
// One generator builds every request. At each field it either picks a
// plausible value (chosen by the field's name: an id from the pool of rows
// that exist, a user from the seeded users, a cron schedule for `schedule`…)
// or, with probability `hostileRate`, a hostile one of the field's wire type.
// Rate 0 gives valid requests, a small rate valid requests with a few bad
// fields, rate 1 requests made of nothing but random fields. With
// `longStrings`, nearly every string is as long as a documented limit (or one
// past it) in one script of wide characters, so keys made of several strings
// reach their size limits together.
import { create, ScalarType, type DescEnum, type DescField, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { NullValue, TimestampSchema, ValueSchema, type Timestamp, type Value } from '@bufbuild/protobuf/wkt';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

// ---- PRNG --------------------------------------------------------------

/** sfc32, seeded through splitmix32 from (seed, stream): request i of a run uses stream i. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const mix = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** [0, n) */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  uuid(): string {
    const h = Array.from(this.bytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---- hostile scalars ---------------------------------------------------

const PIECES = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\ud83d\ude00',
  'é',
  'ﬁ',
  '\u202e',
  '\ufeff',
  '\uffff',
  '\r\n',
  '\t',
  '.',
  '..',
  './a',
  'a/./b',
  'a/../b',
  '../../etc/passwd',
  '/',
  '//',
  'a//b',
  '/abs',
  'trail/',
  'C:\\win\\x',
  '%00',
  '%2e%2e/',
  "'; DROP TABLE settings; --",
  '" OR 1=1 --',
  "x' UNION SELECT password FROM users --",
  '\\',
  '$1',
  '?',
  '%',
  '_',
  '*',
  'NULL',
  'null',
  '{"a":1}',
  '[1,2',
  '🦀',
  '㍿', // NFKC: four CJK characters
  'ﷺ', // NFKC: 18 characters, four words
  'Ǆ',
  '\u0085',
  '\u2028',
  'İ',
  'ß',
  '${jndi:ldap://x}',
  '<script>',
  '0',
  '-0',
  '1e5',
  '0.005',
  '-12.50',
  '00.1',
  '1.',
  '.5',
  'NaN',
  'Infinity',
  '+1',
  ' 1',
  '9'.repeat(41),
  '* * * * *',
  '0 0 30 2 *',
  '@reboot',
  'Europe/Berlin',
  'Mars/Olympus',
  'default',
];

/** Lengths around the documented limits. */
const BOUNDARY_LENGTHS = [255, 256, 511, 512, 513, 1023, 1024, 1025, 2048, 4096, 4097, 8192];
const LARGE_LENGTHS = [64 * 1024, 64 * 1024 + 1, 128 * 1024 + 1, 1024 * 1024 + 1];
const HUGE_LENGTHS = [4 * 1024 * 1024 + 1, 9 * 1024 * 1024];
const REPEATED = ['x', 'é', '🦀', '/', 'a/', '\u0000', '\ud800'];

function randomChar(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return String.fromCharCode(rng.range(0, 31));
    case 1:
      return String.fromCharCode(rng.range(0xd800, 0xdfff)); // a lone surrogate
    case 2:
      return String.fromCodePoint(rng.range(0x10000, 0x10ffff));
    case 3:
      return String.fromCharCode(rng.range(0x80, 0xffff));
    default:
      return String.fromCharCode(rng.range(32, 126));
  }
}

function hostileString(rng: Rng): string {
  const r = rng.float();
  if (r < 0.0002) return rng.pick(REPEATED).repeat(rng.pick(HUGE_LENGTHS));
  if (r < 0.01) return rng.pick(REPEATED).repeat(rng.pick(LARGE_LENGTHS));
  // Repeats compress well; random text of the same length does not (an
  // index entry's size limit meets only the latter).
  if (r < 0.06) return rng.pick(REPEATED).repeat(rng.pick(BOUNDARY_LENGTHS));
  if (r < 0.1) return randomText(rng, rng.pick(BOUNDARY_LENGTHS));
  if (r < 0.3) return rng.pick(PIECES);
  if (r < 0.4) {
    const u = rng.uuid();
    return rng.pick([u, u.toUpperCase(), u + 'x', u.slice(1), u.replace(/-/g, ''), `${u}\u0000`, ` ${u}`, u.replace('4', 'g')]);
  }
  if (r < 0.6) return Array.from({ length: rng.range(2, 4) }, () => (rng.chance(0.5) ? rng.pick(PIECES) : randomText(rng))).join(rng.pick(['', '/', ' ', '.']));
  return randomText(rng);
}

function randomText(rng: Rng, length = rng.range(0, 40)): string {
  return Array.from({ length }, () => randomChar(rng)).join('').slice(0, length);
}

/** A size for longString: UTF-8 bytes or UTF-16 units. */
type Size = { bytes: number } | { chars: number };

/** Code point ranges of one script: 3-byte CJK (most often), 2-byte Cyrillic, 4-byte emoji, ASCII. */
const SCRIPTS: [number, number][] = [
  [0x4e00, 0x9fff],
  [0x4e00, 0x9fff],
  [0x0400, 0x04ff],
  [0x1f300, 0x1f5ff],
  [0x21, 0x7e],
];

/** How a request in "long" mode fills its strings: one size and one script for all. */
export interface LongStrings {
  size: Size;
  script: [number, number];
}

export const longStrings = (rng: Rng): LongStrings => ({ size: rng.pick(LONG_SIZES), script: rng.pick(SCRIPTS) });

/** Storable text just within `size`, random (so it does not compress). */
function longString(rng: Rng, { size, script: [lo, hi] }: LongStrings): string {
  let s = '';
  for (let bytes = 0; ; ) {
    const c = String.fromCodePoint(rng.range(lo, hi));
    bytes += Buffer.byteLength(c);
    if ('bytes' in size ? bytes > size.bytes : s.length + c.length > size.chars) return s;
    s += c;
  }
}

/** Sizes around the documented limits of names (512) and paths (2048 bytes), and one over. */
const LONG_SIZES: Size[] = [{ bytes: 512 }, { bytes: 513 }, { chars: 512 }, { chars: 513 }, { bytes: 2048 }, { bytes: 2049 }, { chars: 4096 }];

const INT64S = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 1000n, 1001n];
const INT32S = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 1000, 1001, 20, 21];
const UINT32S = [0, 1, 2 ** 32 - 1, 2 ** 31, 2 ** 31 - 1, 1000, 1001, 20, 21, 1_000_001];
const DOUBLES = [NaN, Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE, -1, 1e21, 0.1, 2 ** 53 + 2, -1e-300];
const FLOATS = [NaN, Infinity, -Infinity, -0, 0, 3.4028234663852886e38, 1.401298464324817e-45, -1, 0.5, 1e30, -3.4e38];

function hostileInt64(rng: Rng): bigint {
  if (rng.chance(0.7)) return rng.pick(INT64S);
  return BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
}

function hostileScalar(rng: Rng, t: ScalarType): unknown {
  switch (t) {
    case ScalarType.STRING:
      return hostileString(rng);
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
      return rng.chance(0.7) ? rng.pick(DOUBLES) : (rng.float() - 0.5) * 10 ** rng.range(-300, 300);
    case ScalarType.FLOAT:
      return rng.chance(0.7) ? rng.pick(FLOATS) : Math.fround((rng.float() - 0.5) * 10 ** rng.range(-30, 30));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return hostileInt64(rng);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return BigInt.asUintN(64, hostileInt64(rng));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.chance(0.7) ? rng.pick(UINT32S) : rng.u32();
    case ScalarType.BYTES:
      return rng.bytes(rng.range(0, 32));
    default:
      return rng.chance(0.7) ? rng.pick(INT32S) : rng.u32() | 0;
  }
}

function hostileEnum(rng: Rng, e: DescEnum): number {
  if (rng.chance(0.5)) return rng.pick(e.values).number;
  return rng.pick([0, -1, e.values.length, e.values.length + 1, 2 ** 31 - 1, -(2 ** 31), rng.u32() | 0]);
}

const SECONDS = [0n, -1n, -62135596800n, -62135596801n, 253402300799n, 253402300800n, 8640000000000n, 8640000000001n, 2n ** 63n - 1n, -(2n ** 63n)];
const NANOS = [0, 999_999_999, 1_000_000_000, -1, 2 ** 31 - 1, -(2 ** 31), 123_456_789];

function hostileTimestamp(rng: Rng): Timestamp {
  const seconds = rng.chance(0.6) ? rng.pick(SECONDS) : BigInt(Math.floor(Date.now() / 1000) + rng.range(-1e9, 1e9));
  return create(TimestampSchema, { seconds, nanos: rng.chance(0.5) ? rng.pick(NANOS) : rng.int(1e9) });
}

// ---- JSON --------------------------------------------------------------

/** A JSON-ish value: plain JS, so numbers may be NaN or infinite. */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function hostileJson(rng: Rng, depth: number): Json {
  // Now and then a chain deeper than the documented limit (32) or than
  // protobuf decoding allows (100 message levels).
  if (depth === 0 && rng.chance(0.05)) {
    let v: Json = rng.pick([null, 1, 'leaf']);
    for (let i = rng.pick([31, 32, 33, 40, 60]); i > 0; i--) v = rng.chance(0.5) ? [v] : { k: v };
    return v;
  }
  const r = rng.float();
  if (depth > 4 || r < 0.15) return null;
  if (r < 0.25) return rng.chance(0.5);
  if (r < 0.45) return hostileScalar(rng, ScalarType.DOUBLE) as number;
  if (r < 0.7) return hostileString(rng);
  if (r < 0.85) return Array.from({ length: rng.range(0, 4) }, () => hostileJson(rng, depth + 1));
  return hostileObject(rng, depth + 1);
}

function hostileObject(rng: Rng, depth: number): { [k: string]: Json } {
  const o: { [k: string]: Json } = {};
  const n = rng.chance(0.02) ? 1001 : rng.range(0, 4);
  for (let i = 0; i < n; i++) o[n > 4 ? `k${i}` : hostileString(rng)] = hostileJson(rng, depth + 1);
  return o;
}

function plausibleJson(rng: Rng, depth = 0): Json {
  const r = rng.float();
  if (depth > 2 || r < 0.2) return rng.pick([null, true, false, 0, 1.5, -3, 'text', 'ünïcödé ✓', '']);
  if (r < 0.5) return Array.from({ length: rng.range(0, 3) }, () => plausibleJson(rng, depth + 1));
  const o: { [k: string]: Json } = {};
  for (let i = rng.range(0, 3); i > 0; i--) o[rng.pick(['a', 'b', 'thread_type', 'note', 'n', 'ключ'])] = plausibleJson(rng, depth + 1);
  return o;
}

/** google.protobuf.Value of a JSON value; with `unset` > 0 some nodes carry no kind. */
function toValue(j: Json, rng: Rng, unset: number): Value {
  if (rng.chance(unset)) return create(ValueSchema, {});
  if (j === null) return create(ValueSchema, { kind: { case: 'nullValue', value: NullValue.NULL_VALUE } });
  switch (typeof j) {
    case 'boolean':
      return create(ValueSchema, { kind: { case: 'boolValue', value: j } });
    case 'number':
      return create(ValueSchema, { kind: { case: 'numberValue', value: j } });
    case 'string':
      return create(ValueSchema, { kind: { case: 'stringValue', value: j } });
  }
  if (Array.isArray(j)) return create(ValueSchema, { kind: { case: 'listValue', value: { values: j.map((x) => toValue(x, rng, unset)) } } });
  const fields: Record<string, Value> = {};
  for (const [k, x] of Object.entries(j)) fields[k] = toValue(x, rng, unset);
  return create(ValueSchema, { kind: { case: 'structValue', value: { fields } } });
}

// ---- requests from descriptors -----------------------------------------

/** Ids of rows that exist (or that plausible requests may create), by kind. */
export interface Pools {
  users: string[];
  agents: string[];
  conversations: string[];
  jobs: string[];
  sandboxJobs: string[];
  routines: string[];
  runs: string[];
  actions: string[];
  documents: string[];
  chunks: string[];
  snapshots: string[];
  dimension: number;
}

export interface GenContext {
  rng: Rng;
  pools: Pools;
  /** Short service name ("JobStore"): an `id` field's kind depends on it. */
  service: string;
  hostileRate: number;
  /** Fill (nearly) every string this way: all at a limit at once. */
  longStrings?: LongStrings;
}

const NAMES = ['gateway', 'web', 'cli', 'user', 'assistant', 'tool', 'system', 'agent.name', 'theme', 'alpha', 'beta', 'shell', 'openai', 'worker', 'progress'];
const TEXTS = ['hello', 'remember the milk', 'multi\nline text', 'ünïcödé ✓ 🧠', 'fix the build', 'deploy alpha', 'a b c'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];
const CRONS = ['*/5 * * * *', '0 30 7 * * MON-FRI', '@daily', '0 0 12 * * ?', '*/10 * * * * *', '0 0 1 1 *'];
const DECIMALS = ['0', '0.005', '12.50', '1', '100.25', '0.000000001'];
const GRANTS = ['[]', '[{"secret_name":"gh","env_var":"GH_TOKEN"}]'];
const PATHS = ['notes/a.md', 'notes/b.md', 'daily/2024-01-01.md', 'README.md', 'projects/alpha/plan.md', 'projects/beta/x'];
const DIRECTORIES = ['', 'notes', 'projects', 'projects/alpha/', 'daily'];
const TRIGGER_KINDS = ['cron', 'event', 'system_event', 'manual'];

const NAME_FIELDS = new Set([
  'channel',
  'role',
  'threadId',
  'key',
  'mode',
  'eventType',
  'provider',
  'model',
  'purpose',
  'category',
  'toolName',
  'owner',
  'name',
  'source',
  'budgetToken',
  'requesterId',
]);
const DECIMAL_FIELDS = new Set(['budget', 'bidAmount', 'estimatedCost', 'actualCost', 'cost', 'estimatedValue', 'actualValue']);
const LIST_OF_NAMES = new Set(['toolNames', 'toolPermissions', 'contextPaths', 'sanitizationWarnings']);

/** Small, in-range numbers by field name. */
const NUMBER_RANGES: Record<string, [number, number]> = {
  limit: [0, 20],
  threshold: [0, 3],
  afterEventId: [0, 50],
  chunkIndex: [0, 5],
  sequence: [0, 20],
  maxTokens: [1, 8192],
  maxToolRounds: [1, 20],
  maxIterations: [1, 20],
  maxConcurrent: [1, 4],
  rrfK: [1, 100],
  preFusionLimit: [1, 50],
  repairAttempts: [0, 3],
  consecutiveFailures: [0, 3],
};

/** The pool an id field draws from: by field name, and for a bare `id` by message and service. */
function idPool(ctx: GenContext, message: string, field: string): string[] {
  const p = ctx.pools;
  switch (field) {
    case 'conversationId':
      return p.conversations;
    case 'routineId':
    case 'routineIds':
      return p.routines;
    case 'runId':
      return p.runs;
    case 'documentId':
      return p.documents;
    case 'chunkId':
      return p.chunks;
    case 'agentId':
      return p.agents;
    case 'jobId':
      if (ctx.service === 'SandboxStore' || message === 'SandboxJobRecord') return p.sandboxJobs;
      return ctx.service === 'RoutineStore' ? [...p.jobs, ...p.sandboxJobs] : p.jobs;
  }
  switch (message) {
    case 'ActionRecord':
      return p.actions;
    case 'SandboxJobRecord':
      return p.sandboxJobs;
    case 'Routine':
      return p.routines;
    case 'RoutineRun':
      return p.runs;
  }
  switch (ctx.service) {
    case 'ConversationStore':
      return p.conversations;
    case 'JobStore':
      return [...p.jobs, ...p.snapshots];
    case 'SandboxStore':
      return p.sandboxJobs;
    case 'RoutineStore':
      return [...p.routines, ...p.runs];
    case 'WorkspaceStore':
      return p.documents;
  }
  return [];
}

/** Fields that hold UUIDs (userId, threadId and requesterId are names). */
const isId = (field: string) => (field === 'id' || field.endsWith('Id') || field === 'routineIds') && !['userId', 'threadId', 'requesterId'].includes(field);

function plausibleString(ctx: GenContext, message: string, field: string): string {
  const { rng } = ctx;
  if (field === 'userId' || field === 'user') return rng.pick(ctx.pools.users);
  if (isId(field)) {
    const pool = idPool(ctx, message, field);
    return pool.length > 0 && rng.chance(0.9) ? rng.pick(pool) : rng.uuid();
  }
  if (NAME_FIELDS.has(field)) return rng.pick(NAMES);
  if (DECIMAL_FIELDS.has(field)) return rng.pick(DECIMALS);
  switch (field) {
    case 'userTimezone':
    case 'timezone':
      return rng.pick(ZONES);
    case 'schedule':
      return rng.pick(CRONS);
    case 'credentialGrantsJson':
      return rng.pick(GRANTS);
    case 'triggerType':
      return rng.pick(TRIGGER_KINDS);
    case 'path':
      return rng.pick(PATHS);
    case 'directory':
      return rng.pick(DIRECTORIES);
  }
  return rng.pick(TEXTS);
}

function plausibleNumber(ctx: GenContext, field: string, t: ScalarType): number | bigint {
  const { rng } = ctx;
  if (t === ScalarType.FLOAT || t === ScalarType.DOUBLE) return Math.fround(rng.float());
  const [lo, hi] = NUMBER_RANGES[field] ?? [0, 1000];
  const n = rng.range(lo, hi);
  return t === ScalarType.INT64 || t === ScalarType.UINT64 || t === ScalarType.SINT64 || t === ScalarType.FIXED64 || t === ScalarType.SFIXED64 ? BigInt(n) : n;
}

function plausibleTimestamp(rng: Rng): Timestamp {
  const ms = Date.now() + rng.range(-2 * 86_400_000, 86_400_000);
  return create(TimestampSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
}

function embedding(ctx: GenContext, hostile: boolean): number[] {
  const { rng } = ctx;
  const d = ctx.pools.dimension;
  if (!hostile) return Array.from({ length: d }, (_, i) => (i === 0 ? 1 : Math.fround(rng.float() * 2 - 1)));
  const n = rng.pick([0, 1, d - 1, d, d, d + 1, rng.range(0, 40), 1536, 100_000]);
  return Array.from({ length: n }, () => (rng.chance(0.8) ? Math.fround(rng.float() * 2 - 1) : (hostileScalar(rng, ScalarType.FLOAT) as number)));
}

function scalarValue(ctx: GenContext, message: string, field: string, t: ScalarType, hostile: boolean): unknown {
  if (hostile) return hostileScalar(ctx.rng, t);
  if (t === ScalarType.STRING && ctx.longStrings && !isId(field) && ctx.rng.chance(0.9)) return longString(ctx.rng, ctx.longStrings);
  if (t === ScalarType.STRING) return plausibleString(ctx, message, field);
  if (t === ScalarType.BOOL) return ctx.rng.chance(0.5);
  if (t === ScalarType.BYTES) return new Uint8Array();
  return plausibleNumber(ctx, field, t);
}

function enumValue(ctx: GenContext, e: DescEnum, hostile: boolean): number {
  if (hostile) return hostileEnum(ctx.rng, e);
  const named = e.values.filter((v) => v.number !== 0);
  return ctx.rng.pick(named.length > 0 ? named : e.values).number;
}

function messageValue(ctx: GenContext, desc: DescMessage, hostile: boolean, depth: number): unknown {
  const { rng } = ctx;
  switch (desc.typeName) {
    case 'google.protobuf.Timestamp':
      return hostile ? hostileTimestamp(rng) : plausibleTimestamp(rng);
    case 'google.protobuf.Value':
      return hostile ? toValue(hostileJson(rng, 0), rng, 0.05) : toValue(plausibleJson(rng), rng, 0);
    case 'google.protobuf.Struct':
      return hostile ? hostileObject(rng, 0) : (plausibleJson(rng, 2) ?? {});
  }
  return generate(ctx, desc, depth + 1);
}

function fieldValue(ctx: GenContext, parent: DescMessage, f: DescField, depth: number): unknown {
  const { rng } = ctx;
  const hostile = rng.chance(ctx.hostileRate);
  const field = f.localName;
  switch (f.fieldKind) {
    case 'scalar':
      return scalarValue(ctx, parent.name, field, f.scalar, hostile);
    case 'enum':
      return enumValue(ctx, f.enum, hostile);
    case 'message':
      return messageValue(ctx, f.message, hostile, depth);
    case 'list': {
      if (field === 'embedding') return embedding(ctx, hostile);
      // Lists just over (and at) the batch limits, sometimes.
      const n = hostile && rng.chance(0.1) ? rng.pick([1000, 1001]) : rng.range(0, 3);
      const item = (): unknown => {
        if (f.listKind === 'scalar') {
          if (!hostile && f.scalar === ScalarType.STRING && LIST_OF_NAMES.has(field)) return rng.pick(NAMES);
          return scalarValue(ctx, parent.name, field, f.scalar, hostile && rng.chance(0.5));
        }
        if (f.listKind === 'enum') return enumValue(ctx, f.enum, hostile);
        return messageValue(ctx, f.message, hostile && rng.chance(0.5), depth);
      };
      return Array.from({ length: n }, item);
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      const n = hostile && rng.chance(0.1) ? 1001 : rng.range(0, 3);
      for (let i = 0; i < n; i++) {
        const k = hostile ? (n > 3 ? `k${i}` : hostileString(rng)) : rng.pick(NAMES);
        out[k] = f.mapKind === 'scalar' ? scalarValue(ctx, parent.name, field, f.scalar, hostile) : undefined;
      }
      return out;
    }
  }
}

/** An init object for `desc`; hostile fields may also be left unset. */
function generate(ctx: GenContext, desc: DescMessage, depth = 0): Record<string, unknown> {
  const { rng } = ctx;
  const out: Record<string, unknown> = {};
  if (depth > 6) return out;
  for (const member of desc.members) {
    if (member.kind === 'oneof') {
      if (rng.chance(ctx.hostileRate * 0.3)) continue;
      const f = rng.pick(member.fields);
      out[member.localName] = { case: f.localName, value: fieldValue(ctx, desc, f, depth) };
      continue;
    }
    // Message fields are often required (a timestamp, the job itself): a
    // valid request leaves them out only rarely.
    const skip = member.fieldKind === 'message' ? 0.05 : member.proto.proto3Optional ? 0.3 : 0;
    if (rng.chance(skip + (0.5 - skip) * ctx.hostileRate)) continue;
    out[member.localName] = fieldValue(ctx, desc, member, depth);
  }
  return out;
}

export function buildMessage(ctx: GenContext, desc: DescMessage): MessageShape<DescMessage> {
  return create(desc, generate(ctx, desc));
}

// ---- byte mutations ------------------------------------------------------

function hugeVarint(rng: Rng): Uint8Array {
  // 10 bytes is the longest valid varint; 11 is malformed.
  const n = rng.pick([10, 11, 12]);
  const b = new Uint8Array(n).fill(0xff);
  if (n === 10) b[9] = 0x01;
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One random damaging edit of an encoded message. */
function mutateOnce(rng: Rng, b: Uint8Array, fieldNumbers: number[]): Uint8Array {
  const at = rng.int(b.length + 1);
  const fieldNo = rng.chance(0.7) && fieldNumbers.length > 0 ? rng.pick(fieldNumbers) : rng.range(1, 2 ** 29 - 1);
  switch (rng.int(9)) {
    case 0: {
      if (b.length === 0) return b;
      const out = b.slice();
      out[rng.int(b.length)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1:
      return b.slice(0, rng.int(b.length + 1));
    case 2:
      return concat(b.slice(0, at), rng.bytes(rng.range(1, 8)), b.slice(at));
    case 3: {
      if (b.length === 0) return b;
      const out = b.slice();
      const i = rng.int(b.length);
      out[i] = (out[i]! & ~7) | rng.int(8); // another (or an invalid) wire type
      return out;
    }
    case 4:
      // A known field with a huge or malformed varint, as a value or as a length.
      return concat(b, new BinaryWriter().tag(fieldNo, rng.pick([WireType.Varint, WireType.LengthDelimited])).finish(), hugeVarint(rng));
    case 5: {
      // A field of the wrong wire type, or a length beyond the end, or a group never closed.
      const w = new BinaryWriter();
      const kind = rng.int(4);
      if (kind === 0) w.tag(fieldNo, WireType.Varint).uint64(BigInt.asUintN(64, hostileInt64(rng)));
      else if (kind === 1) w.tag(fieldNo, WireType.LengthDelimited).uint32(rng.range(1, 2 ** 31));
      else if (kind === 2) w.tag(fieldNo, WireType.StartGroup);
      else w.tag(fieldNo, rng.pick([WireType.Bit32, WireType.Bit64])).fixed32(rng.u32());
      return concat(b.slice(0, at), w.finish(), b.slice(at));
    }
    case 6: {
      // Invalid UTF-8 in a length-delimited field (CESU surrogate, overlong NUL, stray bytes).
      const bad = rng.pick([
        [0xed, 0xa0, 0x80],
        [0xc0, 0x80],
        [0xff, 0xfe],
        [0x00],
        [0xf4, 0x90, 0x80, 0x80],
        [0xe2, 0x82],
      ]);
      return concat(b, new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).bytes(new Uint8Array(bad)).finish());
    }
    case 7: {
      const from = rng.int(b.length + 1);
      const piece = b.slice(from, from + rng.range(1, 64));
      return concat(b.slice(0, at), piece, piece, b.slice(at));
    }
    default:
      return rng.chance(0.5) ? new Uint8Array() : rng.bytes(rng.range(1, 64));
  }
}

export function mutate(rng: Rng, bytes: Uint8Array, desc: DescMessage): Uint8Array {
  const numbers = desc.fields.map((f) => f.number);
  let b = bytes;
  for (let n = rng.range(1, 3); n > 0; n--) b = mutateOnce(rng, b, numbers);
  return b;
}

/** Every string (and object key) reachable in a decoded message, for the leak detector. */
export function collectStrings(x: unknown, out: Set<string>, depth = 0): Set<string> {
  if (depth > 200) return out;
  if (typeof x === 'string') out.add(x);
  else if (Array.isArray(x)) for (const y of x) collectStrings(y, out, depth + 1);
  else if (typeof x === 'object' && x !== null && !(x instanceof Uint8Array)) {
    for (const [k, y] of Object.entries(x)) {
      out.add(k);
      collectStrings(y, out, depth + 1);
    }
  }
  return out;
}
