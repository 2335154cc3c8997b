// The copy report: what a failed verification prints (a real copy only
// fails verification through a bug or a concurrent writer, so the report is
// checked on a result built here).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport } from '../../src/copy/cli.js';
import type { CopyResult, TableResult } from '../../src/copy/copy.js';

const table = (over: Partial<TableResult>): TableResult => ({
  table: 'settings',
  sourceRows: 3,
  targetRows: 3,
  sourceChecksum: 'a'.repeat(64),
  targetChecksum: 'a'.repeat(64),
  missing: 0,
  different: 0,
  extra: 0,
  samples: [],
  ok: true,
  ...over,
});

const result = (tables: TableResult[], target: number | null = 8): CopyResult => ({
  source: '/data/a.db',
  target: 'postgres://u:***@db/x',
  tables,
  embeddingDimension: { source: 8, target },
  copiedRows: 6,
  writtenRows: 2,
  seconds: { check: 0.5, copy: 1, verify: 0.2 },
  ok: tables.every((t) => t.ok) && target === 8,
});

describe('copy report', () => {
  it('lists every table, and for one that differs how and where', () => {
    const text = formatReport(
      result([
        table({}),
        table({
          table: 'conversation_messages',
          targetRows: 4,
          targetChecksum: 'b'.repeat(64),
          different: 1,
          extra: 1,
          samples: ['5b0d…: content: differ', '6c1e…: not in the source'],
          ok: false,
        }),
      ]),
    );
    assert.match(text, /^copy \/data\/a\.db → postgres:\/\/u:\*\*\*@db\/x\n/);
    assert.match(text, /\nsettings +3 +3  a{16}  ok\n/);
    assert.match(text, /\nconversation_messages +3 +4  a{16} ≠ b{16}  DIFFERS\n {4}1 with other content, 1 only in the target\n {4}5b0d…: content: differ\n {4}6c1e…: not in the source\n/);
    assert.match(text, /copied 6 rows \(2 new or changed in the target\) in 1\.0 s \(6 rows\/s\); checked the target in 0\.5 s, verified in 0\.2 s/);
    assert.match(text, /\nverification FAILED: 1 of 2 tables differ\n$/);
  });

  it('says so when only the embedding dimension differs', () => {
    const text = formatReport(result([table({})], 16));
    assert.match(text, /embedding dimension: 8 in the source, 16 in the target/);
    assert.match(text, /\nverification FAILED: the embedding dimensions differ\n$/);
  });

  it('ends with the verdict when everything matches', () => {
    assert.match(formatReport(result([table({})])), /\nverified: all 1 tables match\n$/);
  });
});
