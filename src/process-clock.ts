// The extension process's `performance`: the two members it and the OpenTelemetry SDK read
// (now() and timeOrigin), without node:perf_hooks.
//
// Node's global `performance` loads node:perf_hooks the first time anything touches it, and with
// it performance entries, observers, histograms, timerify and event-loop delay: 0.27-0.29 MiB of
// resident memory that an idle extension would carry all its life (idle RSS 49.11-49.13 MiB
// against 48.85-48.86 without, three same-run readings, test/bench/idle-breakdown.ts, Node 22.20).
// Everything in the three bundles reads only performance.now() and performance.timeOrigin
// (test/integration/process-clock.test.ts checks the built bundles for any other member), so main.ts,
// the extension's entry point, imports install-process-clock.ts before anything else, and the
// global is this clock before any code reads it. Tests that import modules directly keep Node's
// own `performance`: each process has one clock, and every module reads the same one.
//
// now(): milliseconds since the process started (process.uptime()'s origin, within a few ms of
// Node's own timeOrigin), monotonic, with process.hrtime()'s resolution. timeOrigin: that start
// as Unix epoch milliseconds, so that timeOrigin + now() is the wall clock: spans are placed on it
// through timeOrigin (the tracker's times are now() readings), and the init span starts there.

export interface ProcessClock {
  now(): number;
  readonly timeOrigin: number;
}

export function processClock(): ProcessClock {
  const base = process.hrtime();
  const msAtBase = process.uptime() * 1000;
  const now = (): number => {
    const [seconds, nanoseconds] = process.hrtime(base);
    return msAtBase + seconds * 1000 + nanoseconds / 1e6;
  };
  return Object.freeze({ now, timeOrigin: Date.now() - now() });
}

/** Makes the global `performance` this process's clock (Node's accessor is replaced, never called). */
export function installProcessClock(clock: ProcessClock = processClock()): void {
  Object.defineProperty(globalThis, 'performance', { value: clock, writable: true, configurable: true, enumerable: true });
}
