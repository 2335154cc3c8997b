// The libSQL vector branch's pre-selection: 1-bit codes of the embeddings
// of each (user, agent) scope that has been searched, kept in memory.
//
// Why: an exact scan reads every embedding of the user through SQLite on
// the event loop (1.5 KB each at 384 dimensions): 267 ms at 100k chunks.
// Here an embedding x is held as its sign bits s (dimension / 8 bytes) and
// the factor ‖x‖₁ / ‖x‖₂, and the cosine of a query q is estimated as
// (Σ qᵢ sᵢ) · ‖x‖₁ / ‖x‖₂ (up to a constant): 48 table lookups per chunk at
// 384 dimensions, 3.6 ms for 100k chunks. The best `candidates` estimates
// are then rescored exactly from the table (./workspace.ts), so the result
// is exact whenever the true top k are among them, and always when the
// scope holds no more chunks than that.
//
// Consistency: the daemon updates the codes with its own writes, right after
// each commit (LibsqlPool.write's `committed`), in commit order. Every
// embedding change by anyone bumps the `embedding_changes` counter
// (schema-libsql/V5__libsql_vector.sql); a counter the daemon did not reach
// itself means another writer (another process on the file, or other
// daemons' writes arriving on an embedded replica) changed embeddings, and
// the codes are reloaded. A scope is loaded holding the writer slot, so no
// write of this daemon slips between the load's reads.
import type { Conn, LibsqlPool } from './pool.js';
import { inTurn } from './turns.js';

/** Chunks scored per batch (each batch in a shared turn of the event loop, ./turns.ts). */
const SCORE_STEP = 4096;
/** Documents read per statement while loading a scope. */
const LOAD_BATCH_DOCS = 64;
/** Histogram bins used to find the score of the c-th best estimate. */
const BINS = 4096;

const COUNTER = "SELECT CAST(value AS INTEGER) AS n FROM workspace_meta WHERE key = 'embedding_changes'";
const counter = (c: Conn): number => c.get<{ n: number }>(COUNTER)?.n ?? 0;

/** The driver returns blobs as ArrayBuffer; accept byte views too (copied when unaligned). */
export function floatsOf(e: ArrayBuffer | Uint8Array): Float32Array {
  if (e instanceof ArrayBuffer) return new Float32Array(e);
  return e.byteOffset % 4 === 0 ? new Float32Array(e.buffer, e.byteOffset, e.byteLength / 4) : new Float32Array(Uint8Array.from(e).buffer);
}

/** The 1-bit codes of one scope's embeddings. Slots are never moved while a search may read them. */
class ScopeIndex {
  /** 32-bit words per code. */
  private readonly words: number;
  private capacity = 0;
  /** Slots used, deleted ones included. */
  private used = 0;
  private deleted = 0;
  private rowids = new Float64Array(0);
  private codes = new Uint32Array(0);
  /** ‖x‖₁ / ‖x‖₂ per slot; NaN marks a deleted slot (it scores NaN). */
  private scales = new Float32Array(0);
  private readonly slotOf = new Map<number, number>();

  constructor(private readonly dimension: number) {
    this.words = Math.ceil(dimension / 32);
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** Adds the chunk, or replaces its code in place. */
  set(rowid: number, e: Float32Array): void {
    let slot = this.slotOf.get(rowid);
    if (slot === undefined) {
      if (this.used === this.capacity) this.reallocate();
      slot = this.used++;
      this.slotOf.set(rowid, slot);
      this.rowids[slot] = rowid;
    }
    let l1 = 0;
    let l2 = 0;
    for (let w = 0; w < this.words; w++) {
      let bits = 0;
      for (let i = w * 32; i < Math.min(this.dimension, w * 32 + 32); i++) {
        const x = e[i]!;
        if (x > 0) bits |= 1 << (i & 31);
        l1 += Math.abs(x);
        l2 += x * x;
      }
      this.codes[slot * this.words + w] = bits;
    }
    // A zero vector (never accepted by the API) is never a candidate, like a deleted slot.
    this.scales[slot] = l2 > 0 ? l1 / Math.sqrt(l2) : Number.NaN;
  }

  remove(rowid: number): void {
    const slot = this.slotOf.get(rowid);
    if (slot === undefined) return;
    this.slotOf.delete(rowid);
    this.scales[slot] = Number.NaN;
    this.deleted++;
    if (this.deleted > 1024 && 2 * this.deleted > this.used) this.reallocate();
  }

  /**
   * New arrays (a search in flight keeps reading the old ones, unchanged),
   * without the deleted slots, with room to grow.
   */
  private reallocate(): void {
    const live = this.used - this.deleted;
    const capacity = Math.max(1024, 2 * live);
    const rowids = new Float64Array(capacity);
    const codes = new Uint32Array(capacity * this.words);
    const scales = new Float32Array(capacity);
    let n = 0;
    for (let s = 0; s < this.used; s++) {
      if (this.slotOf.get(this.rowids[s]!) !== s) continue;
      rowids[n] = this.rowids[s]!;
      scales[n] = this.scales[s]!;
      codes.set(this.codes.subarray(s * this.words, (s + 1) * this.words), n * this.words);
      this.slotOf.set(rowids[n]!, n);
      n++;
    }
    this.rowids = rowids;
    this.codes = codes;
    this.scales = scales;
    this.capacity = capacity;
    this.used = n;
    this.deleted = 0;
  }

  /** Rowids of the `c` chunks with the best estimated cosine similarity to `q`, batch by batch in shared turns of the event loop. */
  async nearest(q: Float32Array, c: number): Promise<number[]> {
    // What the scan reads: appends land past `used`, a reallocation makes new arrays.
    const { rowids, codes, scales, used, words } = this;
    // table[(byte << 8) | b]: Σ ±q over the 8 dimensions of that code byte, + where b has the bit.
    const table = new Float32Array(words * 4 * 256);
    for (let byte = 0; byte < words * 4; byte++) {
      const t = byte << 8;
      let all = 0;
      for (let k = 0; k < 8; k++) all -= q[byte * 8 + k] ?? 0;
      table[t] = all;
      for (let b = 1; b < 256; b++) {
        const low = 31 - Math.clz32(b & -b);
        table[t | b] = table[t | (b & (b - 1))]! + 2 * (q[byte * 8 + low] ?? 0);
      }
    }
    const scores = new Float32Array(used);
    for (let from = 0; from < used; from += SCORE_STEP) {
      const to = Math.min(used, from + SCORE_STEP);
      await inTurn(() => {
        for (let n = from; n < to; n++) {
          let s = 0;
          const o = n * words;
          for (let w = 0; w < words; w++) {
            const x = codes[o + w]!;
            const t = w << 10;
            s += table[t | (x & 255)]! + table[t | 256 | ((x >>> 8) & 255)]! + table[t | 512 | ((x >>> 16) & 255)]! + table[t | 768 | (x >>> 24)]!;
          }
          scores[n] = s * scales[n]!;
        }
      });
    }
    return Array.from(bestSlots(scores, c), (s) => rowids[s]!);
  }
}

/** Slots of the `c` highest scores (NaN: a deleted slot), in two passes over a histogram, without sorting every score. */
function bestSlots(scores: Float32Array, c: number): Int32Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let live = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
    if (s === s) live++;
  }
  const width = (hi - lo) / BINS || 1;
  const bin = (s: number) => Math.min(BINS - 1, Math.floor((s - lo) / width));
  // The bin holding the c-th best: every slot in it or above is kept, then the best c of those.
  let cut = 0;
  if (live > c) {
    const counts = new Uint32Array(BINS);
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (s === s) counts[bin(s)]++;
    }
    cut = BINS - 1;
    for (let above = counts[cut]!; above < c; above += counts[cut]!) cut--;
  }
  const kept: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s === s && bin(s) >= cut) kept.push(i);
  }
  return Int32Array.from(kept.sort((a, b) => scores[b]! - scores[a]!).slice(0, c));
}

/** What one write did to embeddings, recorded inside its transaction and applied after its commit. */
export interface EmbeddingChanges {
  /** The counter before and after the write's statements; null when no scope was loaded. */
  before: number | null;
  after: number | null;
  set: { scope: string; rowid: number; embedding: Float32Array }[];
  removed: number[];
}

export const scopeKey = (userId: string, agentKey: string): string => `${userId}\u0000${agentKey}`;

/** The loaded scopes of one database, and the counter value they reflect. */
export class VectorIndexes {
  private readonly scopes = new Map<string, ScopeIndex>();
  private readonly loading = new Map<string, Promise<ScopeIndex>>();
  private counter = -1;

  constructor(
    private readonly pool: LibsqlPool,
    private readonly dimension: number,
  ) {}

  /** Whether writes must record their changes (some scope is loaded). */
  get active(): boolean {
    return this.scopes.size > 0;
  }

  /** The scope's codes, loaded first, or reloaded when another writer changed embeddings. */
  async scope(userId: string, agentKey: string): Promise<ScopeIndex> {
    const key = scopeKey(userId, agentKey);
    // A lower count than ours is an embedded replica's file not yet caught
    // up with this daemon's own writes: the codes are ahead, not stale.
    const now = await this.pool.read(counter);
    if (now > this.counter) this.scopes.clear();
    const loaded = this.scopes.get(key);
    if (loaded) return loaded;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(userId, agentKey, key).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private load(userId: string, agentKey: string, key: string): Promise<ScopeIndex> {
    return this.pool.withWriter(async (c) => {
      const n = counter(c);
      if (n !== this.counter) this.scopes.clear();
      this.counter = n;
      const index = new ScopeIndex(this.dimension);
      const docs = c.all<{ id: string }>("SELECT id FROM memory_documents WHERE user_id = ? AND COALESCE(agent_id, '') = ?", [userId, agentKey]);
      for (let i = 0; i < docs.length; i += LOAD_BATCH_DOCS) {
        await inTurn(() => {
          const rows = c.all<{ r: number; e: ArrayBuffer | Uint8Array }>(
            'SELECT _rowid AS r, embedding AS e FROM memory_chunks WHERE document_id IN (SELECT value FROM json_each(?)) AND embedding IS NOT NULL',
            [JSON.stringify(docs.slice(i, i + LOAD_BATCH_DOCS).map((d) => d.id))],
          );
          for (const r of rows) index.set(r.r, floatsOf(r.e));
        });
      }
      this.scopes.set(key, index);
      return index;
    });
  }

  /** Starts recording a write's changes: call first inside the write transaction. */
  begin(c: Conn): EmbeddingChanges {
    return { before: this.active ? counter(c) : null, after: null, set: [], removed: [] };
  }

  /** Call last inside the write transaction. */
  end(c: Conn, changes: EmbeddingChanges): EmbeddingChanges {
    if (changes.before !== null) changes.after = counter(c);
    return changes;
  }

  /** Applies a committed write's changes (LibsqlPool.write's `committed`). */
  committed(changes: EmbeddingChanges): void {
    if (changes.before === null || changes.after === null || !this.active) return;
    if (changes.before !== this.counter) {
      // Someone else changed embeddings before this write: reload on the next search.
      this.scopes.clear();
      return;
    }
    for (const rowid of changes.removed) for (const s of this.scopes.values()) s.remove(rowid);
    for (const x of changes.set) this.scopes.get(x.scope)?.set(x.rowid, x.embedding);
    this.counter = changes.after;
  }
}
