// Progress of a long copy on stderr: a bar redrawn in place when stderr is a
// terminal, otherwise a plain line every few seconds (logs, CI, pipes).
import { performance } from 'node:perf_hooks';

export interface Progress {
  /** A new phase ("checking", "copying", "verifying") over `total` rows. */
  phase(name: string, total: number): void;
  advance(table: string, rows: number): void;
  /** Ends the phase's line. */
  done(): void;
}

export const silentProgress: Progress = { phase() {}, advance() {}, done() {} };

const REDRAW_MS = 100;
const LINE_MS = 5000;
const BAR = 30;

export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let name = '';
  let total = 0;
  let doneRows = 0;
  let table = '';
  let started = 0;
  let last = 0;

  const line = (): string => {
    const pct = total > 0 ? Math.min(1, doneRows / total) : 1;
    const secs = (performance.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(doneRows / secs) : 0;
    const counts = `${doneRows.toLocaleString('en-US')}/${total.toLocaleString('en-US')} rows, ${rate.toLocaleString('en-US')} rows/s`;
    if (!tty) return `copy: ${name} ${table} ${Math.floor(pct * 100)}% (${counts})\n`;
    const filled = Math.round(pct * BAR);
    return `\r\x1b[K${name.padEnd(9)} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${Math.floor(pct * 100)
      .toString()
      .padStart(3)}% ${table} (${counts})`;
  };
  const draw = (force: boolean) => {
    const t = performance.now();
    if (!force && t - last < (tty ? REDRAW_MS : LINE_MS)) return;
    last = t;
    stream.write(line());
  };

  return {
    phase(n, rows) {
      name = n;
      total = rows;
      doneRows = 0;
      table = '';
      started = last = performance.now();
      if (tty) draw(true);
    },
    advance(t, rows) {
      table = t;
      doneRows += rows;
      draw(false);
    },
    done() {
      table = '';
      draw(true);
      if (tty) stream.write('\n');
    },
  };
}
