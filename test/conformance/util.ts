// Assertions shared by the conformance suites.
import assert from 'node:assert/strict';
import { StoreError, type StoreErrorKind } from '../../src/store/errors.js';

/** Asserts that `p` rejects with a StoreError of `kind` whose message matches. */
export async function assertStoreError(p: Promise<unknown>, kind: StoreErrorKind, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${String(e)}`);
    assert.equal(e.kind, kind, `expected ${kind}, got ${e.kind}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic pseudo-random numbers in [-0.5, 0.5) (mulberry32), for test vectors. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
