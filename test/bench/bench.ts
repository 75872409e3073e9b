// `make bench`: measures what lambda-trace-proxy costs a function, against a
// direct connection and against the floor (a bare TCP relay), on loopback, and
// writes BENCHMARKS.md and test/bench/latency.svg. Figures, not tests: nothing
// here passes or fails a build. BENCH_QUICK=1 runs a ~1 minute smoke version.
//
// Variants run round by round, in rotating order, each in its own environment
// that lives for the whole phase, so machine noise (2 shared cores) lands on
// all of them alike.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collector } from './collector.ts';
import { runBurst, runCycle, runStreamCycle } from './cycles.ts';
import { describeMachine } from './machine.ts';
import { IDLE_SETTLE_MS, idleFootprint, MemorySampler, startBareServer, startEmptyNode, startMinimalExtension, type Footprint } from './memory.ts';
import { buildPayload, PAYLOAD_SIZES, SHAPES, streamChunks, type Payload, type PayloadSize } from './payloads.ts';
import { freePort, killAllChildren, readFootprint, readMemory } from './processes.ts';
import { EMPTY_NODE, keepOtherSections, renderReport, type ConcurrencyRow, type LatencyRow, type MemoryRow, type Plan, type Results, type StartupRow, type StreamRow } from './report.ts';
import { renderChart, renderMemoryChart } from './chart.ts';
import { RuntimeClient } from './runtime-client.ts';
import { Samples } from './stats.ts';
import { sampleStartup, STARTUP_KINDS } from './startup.ts';
import { BUILT_LAYER, ROOT, stageBuiltLayer, startEnvironment, VARIANTS, type Environment, type EnvironmentOptions, type VariantName } from './variants.ts';

const QUICK = process.env.BENCH_QUICK === '1';

const PLAN: Plan = QUICK
  ? {
    quick: true, rounds: 5,
    cycles: { '1 KB': 200, '64 KB': 200, '1 MB': 40, '6 MB': 10 },
    warmup: { '1 KB': 50, '64 KB': 30, '1 MB': 5, '6 MB': 2 },
    streams: 100, concurrency: 8, burstRounds: 5, burstCyclesEach: 5, burstWarmCycles: 2, startupSamples: 5, exportDownCycles: 3,
  }
  : {
    quick: false, rounds: 20,
    cycles: { '1 KB': 5000, '64 KB': 5000, '1 MB': 1000, '6 MB': 400 },
    warmup: { '1 KB': 500, '64 KB': 300, '1 MB': 30, '6 MB': 6 },
    streams: 2000, concurrency: 8, burstRounds: 10, burstCyclesEach: 100, burstWarmCycles: 100, startupSamples: 20, exportDownCycles: 20,
  };

/** Nothing measured may take this long without finishing a step: the benchmark then gives up and cleans up. */
const STALL_LIMIT_MS = 120_000;
const RUN_LIMIT_MS = (QUICK ? 5 : 20) * 60_000;

const BENCHMARKS_MD = path.join(ROOT, 'BENCHMARKS.md');
const CHART_SVG = path.join(ROOT, 'test/bench/latency.svg');
const MEMORY_SVG = path.join(ROOT, 'test/bench/memory.svg');

async function main(): Promise<void> {
  if (!existsSync(BUILT_LAYER)) throw new Error(`${BUILT_LAYER} is missing: run \`make bench\`, which builds the layer first.`);
  stageBuiltLayer();
  ensureSocat();
  const startedAt = new Date();
  const loadAtStart = os.loadavg()[0]!;
  const collector = await new Collector().listen();
  const watchdog = new Watchdog();
  try {
    const startup = await measureStartup(collector.endpoint, watchdog);
    const latency: LatencyRow[] = [];
    const memory: MemoryRow[] = [];
    for (const size of PAYLOAD_SIZES) {
      const block = await measureSize(size, collector.endpoint, watchdog);
      latency.push(...block.latency);
      memory.push(...block.memory);
    }
    const streaming = await measureStreaming(collector.endpoint, watchdog);
    const concurrency = await measureConcurrency(collector.endpoint, watchdog);
    const exportDown = await measureExportDown(watchdog);
    const results: Results = {
      plan: PLAN, date: startedAt, durationS: (Date.now() - startedAt.getTime()) / 1000,
      command: QUICK ? 'BENCH_QUICK=1 make bench' : 'make bench',
      machine: describeMachine(), load: { start: loadAtStart, end: os.loadavg()[0]! },
      latency, memory, streaming, concurrency, startup, exportDown, spansReceived: collector.requests,
    };
    const report = renderReport(results, path.relative(ROOT, CHART_SVG), path.relative(ROOT, MEMORY_SVG));
    process.stdout.write(`\n${report.terminal}\n`);
    writeFileSync(BENCHMARKS_MD, keepOtherSections(existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : '', report.markdown));
    writeFileSync(CHART_SVG, renderChart(results));
    writeFileSync(MEMORY_SVG, renderMemoryChart(results));
    progress(`wrote ${path.relative(ROOT, BENCHMARKS_MD)}, ${path.relative(ROOT, CHART_SVG)} and ${path.relative(ROOT, MEMORY_SVG)} in ${Math.round(results.durationS)} s`);
  } finally {
    watchdog.stop();
    killAllChildren();
    await collector.close();
  }
}

// ---- start-up ---------------------------------------------------------------

async function measureStartup(collectorEndpoint: string, watchdog: Watchdog): Promise<StartupRow[]> {
  progress(`start-up: ${PLAN.startupSamples} samples of each of ${STARTUP_KINDS.length} kinds`);
  const samples = new Map(STARTUP_KINDS.map((k) => [k, [] as number[]]));
  for (let i = 0; i < PLAN.startupSamples; i++) {
    for (const kind of rotate(STARTUP_KINDS, i)) {
      samples.get(kind)!.push(await sampleStartup(kind, collectorEndpoint));
      watchdog.progress();
      await sleep(20); // let the killed process's exit settle before timing the next spawn
    }
  }
  return STARTUP_KINDS.map((kind) => ({ kind, samples: samples.get(kind)! }));
}

// ---- latency and memory, one payload size at a time --------------------------

async function measureSize(size: PayloadSize, collectorEndpoint: string, watchdog: Watchdog): Promise<{ latency: LatencyRow[]; memory: MemoryRow[] }> {
  const total = PLAN.cycles[size.label]!;
  const perRound = Math.max(1, Math.round(total / PLAN.rounds));
  progress(`latency ${size.label}: ${perRound * PLAN.rounds} cycles per variant and event shape, ${PLAN.rounds} rounds`);
  const envs = await startEnvironments({ collectorEndpoint });
  const empty = await startEmptyNode();
  const bare = await startBareServer();
  const minimal = await startMinimalExtension();
  const clients = envs.map((env) => new RuntimeClient(env.runtimePort));
  let samplers: MemorySampler[] = [];
  try {
    await sleep(IDLE_SETTLE_MS);
    const measured = new Map<string, { pid: number; idle: Footprint; sampled: boolean; peakAnon: number }>();
    // Reading smaps_rollup every 10 ms costs the benchmark process (runtime and Lambda of every
    // variant) time that would land on the cycles it times: the extensions' anonymous memory is
    // sampled during the untimed passes only (the warm-up, and as many cycles again after the
    // timed rounds); the yardsticks do nothing and are read once.
    const watch = async (name: string, pid: number, sampled: boolean) => {
      measured.set(name, { pid, idle: await idleFootprint(pid), sampled, peakAnon: 0 });
    };
    const startSampling = () => {
      samplers = [...measured.values()].filter((m) => m.sampled).map((m) => new MemorySampler(m.pid));
    };
    const stopSampling = () => {
      const sampledPids = [...measured.values()].filter((m) => m.sampled);
      samplers.forEach((sampler, i) => { const m = sampledPids[i]!; m.peakAnon = Math.max(m.peakAnon, sampler.stop().anon); });
      samplers = [];
    };
    await watch(EMPTY_NODE, empty.pid, false);
    await watch('bare node:http server', bare.pid, false);
    await watch('smallest Node extension', minimal.pid, false);
    for (const env of envs) {
      if (env.extensionPid !== undefined) await watch(env.variant, env.extensionPid, true);
    }

    const payloads = SHAPES.map((shape) => buildPayload(shape, size));
    const untimedPass = async () => {
      startSampling();
      for (const [i, env] of envs.entries()) {
        for (const payload of payloads) {
          for (let k = 0; k < PLAN.warmup[size.label]!; k++) await runCycle(env, clients[i]!, payload.event, payload.response);
        }
        watchdog.progress();
      }
      stopSampling();
    };
    await untimedPass();

    const cycles = new Map<string, Samples>();
    const exports = new Map<string, Samples>();
    const key = (p: Payload, v: VariantName) => `${p.shape}/${v}`;
    for (let round = 0; round < PLAN.rounds; round++) {
      for (const payload of payloads) {
        for (const i of rotate(envs.map((_, j) => j), round)) {
          const env = envs[i]!;
          const into = getOrCreate(cycles, key(payload, env.variant));
          for (let k = 0; k < perRound; k++) {
            const t = await runCycle(env, clients[i]!, payload.event, payload.response);
            into.add(t.cycleMs);
            if (t.exportMs !== undefined) getOrCreate(exports, key(payload, env.variant)).add(t.exportMs);
          }
          watchdog.progress();
        }
      }
    }

    await untimedPass();

    const memory: MemoryRow[] = [...measured].map(([process, { pid, idle, sampled, peakAnon }]) => ({
      size, process, idleRss: idle.rss, idleAnon: idle.anon, idleFile: idle.file,
      peakRss: readMemory(pid)?.hwm ?? NaN, peakAnon: sampled ? peakAnon : readFootprint(pid)?.anon ?? NaN, rssAfter: readMemory(pid)?.rss ?? NaN,
    }));
    const latency: LatencyRow[] = payloads.flatMap((payload) => VARIANTS.map((variant) => ({
      size, shape: payload.shape, eventBytes: payload.event.length, responseBytes: payload.response.length, variant,
      cycle: cycles.get(key(payload, variant))!.summary(),
      export: exports.get(key(payload, variant))?.summary(),
    })));
    return { latency, memory };
  } finally {
    for (const s of samplers) s.stop();
    for (const c of clients) c.close();
    await closeAll(envs);
    await empty.close();
    await bare.close();
    await minimal.close();
  }
}

// ---- streaming ----------------------------------------------------------------

async function measureStreaming(collectorEndpoint: string, watchdog: Watchdog): Promise<StreamRow[]> {
  const perRound = Math.max(1, Math.round(PLAN.streams / PLAN.rounds));
  progress(`streaming: ${perRound * PLAN.rounds} streamed responses per variant`);
  const envs = await startEnvironments({ collectorEndpoint });
  const clients = envs.map((env) => new RuntimeClient(env.runtimePort));
  const event = buildPayload('json', PAYLOAD_SIZES[0]!).event;
  const chunks = streamChunks();
  try {
    for (const [i, env] of envs.entries()) {
      for (let k = 0; k < Math.min(50, perRound * 2); k++) await runStreamCycle(env, clients[i]!, event, chunks);
    }
    const firstByte = envs.map(() => new Samples());
    const totals = envs.map(() => new Samples());
    for (let round = 0; round < PLAN.rounds; round++) {
      for (const i of rotate(envs.map((_, j) => j), round)) {
        for (let k = 0; k < perRound; k++) {
          const t = await runStreamCycle(envs[i]!, clients[i]!, event, chunks);
          firstByte[i]!.add(t.firstByteMs);
          totals[i]!.add(t.totalMs);
        }
        watchdog.progress();
      }
    }
    return envs.map((env, i) => ({
      variant: env.variant, chunks: chunks.length, chunkBytes: chunks[0]!.length,
      firstByte: firstByte[i]!.summary(), total: totals[i]!.summary(),
    }));
  } finally {
    for (const c of clients) c.close();
    await closeAll(envs);
  }
}

// ---- concurrency ----------------------------------------------------------------

async function measureConcurrency(collectorEndpoint: string, watchdog: Watchdog): Promise<ConcurrencyRow[]> {
  const payload = buildPayload('apigw', PAYLOAD_SIZES[0]!);
  const n = PLAN.concurrency;
  progress(`concurrency: ${n} invocations in flight, ${PLAN.burstRounds * n * PLAN.burstCyclesEach} cycles per variant`);
  const envs = await startEnvironments({ collectorEndpoint, managedInstances: true, eventSource: () => payload.event });
  const clients = envs.map((env) => Array.from({ length: n }, () => new RuntimeClient(env.runtimePort)));
  try {
    for (const [i] of envs.entries()) await runBurst(clients[i]!, payload.response, 20);
    const cycles = envs.map(() => new Samples());
    const wall = envs.map(() => 0);
    for (let round = 0; round < PLAN.burstRounds; round++) {
      for (const i of rotate(envs.map((_, j) => j), round)) {
        // Steady traffic, as the target means it: while the other variants run, this one sits idle
        // long enough for the extension's quiet release (Managed Instances, quiet-release.ts), and a
        // burst measured right after it would pay for regrowing the heap that steady traffic keeps.
        await runBurst(clients[i]!, payload.response, PLAN.burstWarmCycles);
        const burst = await runBurst(clients[i]!, payload.response, PLAN.burstCyclesEach);
        for (const ms of burst.cycleMs) cycles[i]!.add(ms);
        wall[i]! += burst.wallMs;
        watchdog.progress();
      }
    }
    return envs.map((env, i) => ({
      variant: env.variant, inFlight: n, eventBytes: payload.event.length,
      throughput: cycles[i]!.length / (wall[i]! / 1000), cycle: cycles[i]!.summary(),
    }));
  } finally {
    for (const c of clients.flat()) c.close();
    await closeAll(envs);
  }
}

// ---- export with the collector down ------------------------------------------------

async function measureExportDown(watchdog: Watchdog): Promise<Results['exportDown']> {
  const closedPort = await freePort();
  progress(`export with the collector down (nothing on port ${closedPort}): ${PLAN.exportDownCycles} cycles`);
  const env = await startEnvironment('proxy-on', { collectorEndpoint: `http://127.0.0.1:${closedPort}` });
  const client = new RuntimeClient(env.runtimePort);
  const payload = buildPayload('apigw', PAYLOAD_SIZES[0]!);
  try {
    const cycles = new Samples();
    const exports = new Samples();
    for (let k = 0; k < PLAN.exportDownCycles; k++) {
      const t = await runCycle(env, client, payload.event, payload.response);
      cycles.add(t.cycleMs);
      exports.add(t.exportMs ?? NaN);
      watchdog.progress();
    }
    return { cycle: cycles.summary(), export: exports.summary() };
  } finally {
    client.close();
    await env.close();
  }
}

// ---- plumbing ------------------------------------------------------------------------

async function startEnvironments(options: EnvironmentOptions): Promise<Environment[]> {
  const envs: Environment[] = [];
  try {
    for (const variant of VARIANTS) envs.push(await startEnvironment(variant, options));
  } catch (err) {
    await closeAll(envs);
    throw err;
  }
  return envs;
}

async function closeAll(envs: readonly Environment[]): Promise<void> {
  await Promise.all(envs.map((env) => env.close()));
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function getOrCreate(map: Map<string, Samples>, key: string): Samples {
  let s = map.get(key);
  if (!s) map.set(key, s = new Samples());
  return s;
}

const benchStarted = performance.now();
function progress(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

/** socat is the floor; installed from Debian's packages when missing (the machines run as root). */
function ensureSocat(): void {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0) return;
  progress('socat is missing: apt-get install -y socat');
  let install = spawnSync('apt-get', ['install', '-y', '-q', 'socat'], { stdio: 'inherit' });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
    install = spawnSync('apt-get', ['install', '-y', '-q', 'socat'], { stdio: 'inherit' });
  }
  if (install.status !== 0 || spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('socat is needed for the floor variant and could not be installed: apt-get install -y socat (as root).');
  }
}

/** Ends the run, children included, when a step stalls or the whole run overstays. */
class Watchdog {
  readonly #timer: NodeJS.Timeout;
  #last = performance.now();

  constructor() {
    const started = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      if (now - this.#last > STALL_LIMIT_MS || now - started > RUN_LIMIT_MS) {
        process.stderr.write(`bench: no progress for ${Math.round((now - this.#last) / 1000)} s (or over the run limit): giving up\n`);
        killAllChildren();
        process.exit(2);
      }
    }, 1000);
  }

  progress(): void {
    this.#last = performance.now();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);

