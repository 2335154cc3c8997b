// The `agentstore copy` command: arguments, the run, the report.
// Exit codes: 0 copied and verified, 1 refused / failed / verification
// found a difference, 2 bad usage. Passwords in URLs are never printed.
import { isPostgresUrl, redactUrl } from '../config.js';
import { copyDatabase, DEFAULT_BATCH_ROWS, describeError, type CopyResult } from './copy.js';
import { stderrProgress } from './progress.js';
import { CopyError } from './values.js';

const COPY_USAGE = `usage: agentstore copy --from <libsql file | postgres URL> --to <libsql file | postgres URL> [--merge] [--batch-size N]

  Copies every table of every store, migrating the target first, then
  verifies row counts and per-table checksums. Safe to run again: an
  interrupted copy resumes. A target holding other rows is refused unless
  --merge is given (source rows replace target rows with the same key; the
  target's other rows stay). See README "Moving between backends".
`;

interface Args {
  from: string;
  to: string;
  merge: boolean;
  batchSize: number;
}

class UsageError extends Error {}

/** Anything shown back to the user goes through here: a URL loses its password. */
const shown = (s: string) => (isPostgresUrl(s) ? redactUrl(s) : s);

function parseArgs(argv: string[]): Args | 'help' {
  const a: Partial<Args> = { merge: false, batchSize: DEFAULT_BATCH_ROWS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name}: missing value`);
      return v;
    };
    if (name === '--help' || name === '-h') return 'help';
    else if (name === '--from') a.from = value();
    else if (name === '--to') a.to = value();
    else if (name === '--merge' && eq < 0) a.merge = true;
    else if (name === '--batch-size') {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 100_000) throw new UsageError(`--batch-size: expected an integer between 1 and 100000, got "${v}"`);
      a.batchSize = n;
    } else throw new UsageError(`unknown argument "${eq > 0 ? `${name}=${shown(arg.slice(eq + 1))}` : shown(arg)}"`);
  }
  if (!a.from) throw new UsageError('--from: required');
  if (!a.to) throw new UsageError('--to: required');
  return a as Args;
}

const num = (n: number) => n.toLocaleString('en-US');

export function formatReport(r: CopyResult): string {
  const lines = [`copy ${r.source} → ${r.target}`, `${'table'.padEnd(22)} ${'source rows'.padStart(12)} ${'target rows'.padStart(12)}  checksum`];
  for (const t of r.tables) {
    const sum = t.sourceChecksum === t.targetChecksum ? t.sourceChecksum.slice(0, 16) : `${t.sourceChecksum.slice(0, 16)} ≠ ${t.targetChecksum.slice(0, 16)}`;
    lines.push(`${t.table.padEnd(22)} ${num(t.sourceRows).padStart(12)} ${num(t.targetRows).padStart(12)}  ${sum}  ${t.ok ? 'ok' : 'DIFFERS'}`);
    if (!t.ok) {
      const counts = [t.missing && `${num(t.missing)} missing from the target`, t.different && `${num(t.different)} with other content`, t.extra && `${num(t.extra)} only in the target`];
      lines.push(`    ${counts.filter(Boolean).join(', ')}`);
      for (const s of t.samples) lines.push(`    ${s}`);
    }
  }
  const d = r.embeddingDimension;
  lines.push(`embedding dimension: ${d.source ?? 'none recorded'} in the source, ${d.target ?? 'none recorded'} in the target`);
  const rate = r.seconds.copy > 0 ? Math.round(r.copiedRows / r.seconds.copy) : r.copiedRows;
  lines.push(
    `copied ${num(r.copiedRows)} rows (${num(r.writtenRows)} new or changed in the target) in ${r.seconds.copy.toFixed(1)} s (${num(rate)} rows/s); ` +
      `checked the target in ${r.seconds.check.toFixed(1)} s, verified in ${r.seconds.verify.toFixed(1)} s`,
  );
  const bad = r.tables.filter((t) => !t.ok).length;
  const problems = [bad > 0 && `${bad} of ${r.tables.length} tables differ`, d.source !== null && d.source !== d.target && 'the embedding dimensions differ'];
  lines.push(r.ok ? `verified: all ${r.tables.length} tables match` : `verification FAILED: ${problems.filter(Boolean).join('; ')}`);
  return lines.join('\n') + '\n';
}

export async function runCopyCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`agentstore copy: ${e.message}\n\n${COPY_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(COPY_USAGE);
    return 0;
  }
  try {
    const result = await copyDatabase({ ...args, progress: stderrProgress() });
    process.stdout.write(formatReport(result));
    return result.ok ? 0 : 1;
  } catch (e) {
    const message = e instanceof CopyError ? e.message : describeError(e);
    process.stderr.write(`agentstore copy: ${message}\n`);
    return 1;
  }
}
