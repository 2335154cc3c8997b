// Preloaded into a benchmarked daemon (`node --import ./dist/scripts/loop-monitor.js …`)
// to watch it from the inside without touching its code. Every SIGUSR2 ends a
// window and starts the next: it prints one line on stderr with the window's
// number, its longest event-loop delay and the CPU time the process used in
// it; SIGTERM prints the last window. The load generator sends SIGUSR2 at the
// start and end of each measured cell, so the benchmark can tell boot,
// warm-up and idle gaps from the cells.
//   loop-monitor {"seq":N,"maxMs":…,"p99Ms":…,"cpuMs":…}
import { writeFileSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';

// With BENCH_PROFILE_FILE set, everything from the first SIGUSR2 to SIGTERM
// is also recorded as a V8 CPU profile in that file (boot left out).
const profileFile = process.env.BENCH_PROFILE_FILE;
const session = profileFile ? new Session() : null;
session?.connect();
let profiling = false;

function startProfile(): void {
  if (!session || profiling) return;
  profiling = true;
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
}

function stopProfile(): void {
  if (!session || !profiling) return;
  session.post('Profiler.stop', (err, r) => {
    if (!err && profileFile) writeFileSync(profileFile, JSON.stringify(r.profile));
  });
}

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
let seq = 0;
let cpu = process.cpuUsage();
let done = false;

function report(): void {
  const used = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const line = { seq: seq++, maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), cpuMs: (used.user + used.system) / 1000 };
  writeSync(2, `loop-monitor ${JSON.stringify(line)}\n`);
  histogram.reset();
}

process.on('SIGUSR2', () => {
  report();
  startProfile();
});
process.once('SIGTERM', () => {
  report();
  stopProfile();
  done = true;
});
process.once('exit', () => {
  if (!done) report();
});
