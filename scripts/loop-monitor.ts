// Preloaded into a benchmarked daemon (`node --import ./dist/scripts/loop-monitor.js …`)
// to watch its event loop from the inside without touching its code. SIGUSR2
// prints the delays seen so far and starts a new window (the benchmark sends
// it once the daemon is up, so boot does not count); SIGTERM and exit print
// the window that ends there. One line on stderr each:
//   loop-monitor {"window":"…","maxMs":…,"p99Ms":…,"meanMs":…}
import { writeSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
let reported = false;

function report(window: string): void {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const line = { window, maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), meanMs: ms(histogram.mean), samples: histogram.count };
  writeSync(2, `loop-monitor ${JSON.stringify(line)}\n`);
}

process.on('SIGUSR2', () => {
  report('until-reset');
  histogram.reset();
});
process.once('SIGTERM', () => {
  report('run');
  reported = true;
});
process.once('exit', () => {
  if (!reported) report('run');
});
