// The flusher with a fake collector and mocked timers: no wall-clock time is measured.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { CollectorHealth, LifecycleClock } from '../../src/export/collector-health.ts';
import { ExportQueue } from '../../src/export/export-queue.ts';
import { SpanFlusher } from '../../src/export/span-flusher.ts';
import { RetryableExportError } from '../../src/export/otlp-http-transport.ts';
import { createLogger } from '../../src/log.ts';

const SPAN = { spanContext: () => ({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), traceFlags: 1 }), resource: {} } as unknown as ReadableSpan;

/** Answers each export after `delayMs` of (mocked) time, with what `answer` says. */
class FakeExporter implements SpanExporter {
  delayMs = 60;
  answer: () => ExportResult = () => ({ code: ExportResultCode.SUCCESS });
  exports = 0;
  export(_spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.exports++;
    setTimeout(() => done(this.answer()), this.delayMs);
  }
  shutdown(): Promise<void> { return Promise.resolve(); }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
async function run<T>(work: Promise<T>): Promise<T> {
  let done = false;
  let value: T | undefined;
  void work.then((v) => { done = true; value = v; }, () => { done = true; });
  for (let i = 0; i < 100_000 && !done; i++) {
    await settle();
    if (!done) mock.timers.tick(1);
  }
  return value as T;
}

function build(mode: 'end' | 'adaptive' = 'end', alsoExport?: (deadline: number) => Promise<unknown>) {
  const exporter = new FakeExporter();
  const clock = new LifecycleClock(() => Date.now());
  const health = new CollectorHealth({ initialMs: 400, floorMs: 100, capMs: 2000 });
  const queue = new ExportQueue({ exporter, health, clock, maxQueueSize: 100, log: createLogger('none'), random: () => 0.5 });
  const flusher = new SpanFlusher({ queue, health, clock, mode: { kind: mode }, log: createLogger('none'), alsoExport });
  return { exporter, health, queue, flusher };
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000 }));
afterEach(() => mock.timers.reset());

test('a flush cut short by the invocation deadline leaves a healthy collector healthy, and the next invocation is flushed', async () => {
  const { health, queue, flusher, exporter } = build();
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  assert.equal((await run(flusher.invocationEnded('a', Date.now() + 1000))).outcome, 'flushed');
  assert.equal(health.state, 'healthy');

  flusher.invocationStarted();
  queue.onEnd(SPAN);
  const cut = await run(flusher.invocationEnded('b', Date.now() + 10));
  assert.deepEqual([cut.decision, cut.outcome], ['flush', 'timed-out']);
  assert.equal(health.state, 'healthy', 'not suspect, not failing');

  flusher.invocationStarted();
  queue.onEnd(SPAN);
  const next = await run(flusher.invocationEnded('c', Date.now() + 1000));
  assert.deepEqual([next.decision, next.outcome], ['flush', 'flushed']);
  assert.equal(queue.queued, 0);
  assert.equal(exporter.exports, 3);
});

test('a flush that outlives the learned budget makes the collector suspect; the next invocation is released; a success ends it', async () => {
  const { health, queue, flusher, exporter } = build();
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  await run(flusher.invocationEnded('a', Date.now() + 10_000));
  exporter.delayMs = 5_000;
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  const slow = await run(flusher.invocationEnded('b', Date.now() + 10_000));
  assert.equal(slow.outcome, 'timed-out');
  assert.ok(slow.holdMs <= 120 + 2, `held ${slow.holdMs} ms for a 60 ms collector`);
  assert.equal(health.state, 'suspect');
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  assert.equal((await run(flusher.invocationEnded('c', Date.now() + 10_000))).decision, 'release');
  await run(queue.awaitInFlight());
  assert.equal(health.state, 'healthy');
});

test('spans of a failed export stay queued and are retried in the background until the collector takes them', async () => {
  const { health, queue, flusher, exporter } = build();
  exporter.answer = () => ({ code: ExportResultCode.FAILED, error: new RetryableExportError('refused') });
  exporter.delayMs = 1;
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  const first = await run(flusher.invocationEnded('a', Date.now() + 10_000));
  assert.equal(first.outcome, 'failed');
  assert.equal(health.state, 'failing');
  assert.equal(queue.queued, 1, 'not dropped');
  exporter.answer = () => ({ code: ExportResultCode.SUCCESS });
  // The retry timer (1 s backoff) fires by itself.
  for (let i = 0; i < 1500 && queue.queued > 0; i++) { mock.timers.tick(1); await settle(); }
  await run(queue.awaitInFlight());
  assert.equal(queue.queued, 0);
  assert.equal(health.state, 'healthy');
  assert.equal(queue.counts.exported, 1);
});

test('the hold is reported once, on the next invocation span', async () => {
  const { queue, flusher } = build();
  flusher.invocationStarted();
  queue.onEnd(SPAN);
  const report = await run(flusher.invocationEnded('a', Date.now() + 10_000));
  assert.equal(flusher.takeUnreportedHold(), report);
  assert.equal(flusher.takeUnreportedHold(), undefined);
});

test('metrics leave with a span flush, by the end of the same hold; not when the end is released', async () => {
  const deadlines: number[] = [];
  const { queue, flusher } = build('adaptive', async (deadline) => { deadlines.push(deadline); });
  for (let n = 0; n < 12; n++) {
    flusher.invocationStarted();
    const exportsAtEnd = flusher.exportsAtEnd();
    queue.onEnd(SPAN);
    const before = Date.now();
    const report = await run(flusher.invocationEnded(`r${n}`, Date.now() + 10_000));
    assert.equal(exportsAtEnd, report.decision === 'flush', `invocation ${n}: exportsAtEnd said ${exportsAtEnd}, the end decided ${report.decision}`);
    if (report.decision === 'flush') assert.ok(deadlines.at(-1)! <= before + 400, 'within the hold budget');
    mock.timers.tick(40);
  }
  // The early invocations flushed (with their metrics) until ten had come close together; then the ends were released.
  assert.equal(deadlines.length, 9);
});
