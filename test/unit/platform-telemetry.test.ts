import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { parseTelemetrySettings } from '../../src/settings/telemetry-settings.ts';
import { createLogger } from '../../src/log.ts';
import { parseTelemetryBatch } from '../../src/telemetry/platform-events.ts';
import { PlatformTelemetry, type InvocationReport } from '../../src/telemetry/platform-telemetry.ts';
import { isOutOfMemoryErrorType, isOutOfMemoryLine, reportShowsOutOfMemory } from '../../src/telemetry/out-of-memory.ts';
import { shapeFact, type PlatformFact } from '../sandbox/telemetry-api.ts';
import { trackerUnderTest } from '../support/tracker-under-test.ts';

const REQUEST = '459921b5-681c-4a96-beb0-81e0aa586026';
const XRAY = 'Root=1-6352a70e-1e2c502e358361800241fd45;Parent=35465b3a9e2f7c6a;Sampled=1';
const iso = (ms: number) => new Date(ms).toISOString();

function batch(...events: { type: string; at?: number; record: unknown }[]): Buffer {
  return Buffer.from(JSON.stringify(events.map((e) => ({ time: iso(e.at ?? Date.now()), type: e.type, record: e.record }))));
}

const runtimeDone = (requestId: string, status: string, extra: Record<string, unknown> = {}, at?: number) => ({
  type: 'platform.runtimeDone', ...(at === undefined ? {} : { at }),
  record: { requestId, status, metrics: { durationMs: 12.5, producedBytes: 8 }, spans: [
    { name: 'responseLatency', start: iso(Date.now()), durationMs: 10.25 }, { name: 'responseDuration', start: iso(Date.now()), durationMs: 0.5 },
  ], ...extra },
});
const report = (requestId: string, status: string, metrics: Record<string, number>, extra: Record<string, unknown> = {}) => ({
  type: 'platform.report', record: { requestId, status, metrics: { durationMs: 12.5, billedDurationMs: 13, memorySizeMB: 128, maxMemoryUsedMB: 60, ...metrics }, ...extra },
});

describe('Telemetry API events', () => {
  test('every schema version the sandbox speaks parses, the newer fields optional', () => {
    const start: PlatformFact = { kind: 'start', requestId: REQUEST, version: '$LATEST', tracing: { spanId: '24cd7d670fa455f0', value: XRAY } };
    for (const schema of ['2022-07-01', '2022-12-13', '2025-01-29'] as const) {
      const [event] = parseTelemetryBatch(batch({ type: 'platform.start', record: shapeFact(start, schema, false) }));
      assert.equal(event?.type, 'start');
      assert.equal(event.type === 'start' && event.traceHeader, schema === '2022-07-01' ? undefined : XRAY, schema);
    }
  });

  test('runtimeDone gives status, error type, duration, produced bytes and the response spans', () => {
    const [event] = parseTelemetryBatch(batch(runtimeDone(REQUEST, 'error', { errorType: 'Runtime.OutOfMemory' })));
    assert.deepEqual(event && { ...event, at: 0 }, {
      type: 'runtimeDone', at: 0, requestId: REQUEST, status: 'error', errorType: 'Runtime.OutOfMemory',
      durationMs: 12.5, producedBytes: 8, responseLatencyMs: 10.25, responseDurationMs: 0.5, traceHeader: undefined,
    });
  });

  test('a batch that is not JSON, entries of unknown types and malformed ones are skipped, never thrown', () => {
    assert.deepEqual(parseTelemetryBatch(Buffer.from('not json')), []);
    const events = parseTelemetryBatch(Buffer.from(JSON.stringify([
      { time: 'yesterday', type: 'platform.start', record: { requestId: 'a' } },
      { time: iso(0), type: 'platform.somethingNew', record: {} },
      { time: iso(0), type: 'platform.start', record: {} },
      { time: iso(0), type: 'platform.start', record: { requestId: 'ok' } },
    ])));
    assert.deepEqual(events.map((e) => e.type === 'start' && e.requestId), ['ok']);
  });
  test('of the function\'s log only the out-of-memory lines are kept, text or JSON, with their request id', () => {
    const t0 = Date.parse('2026-12-06T05:00:00.000Z');
    const ordinary = Array.from({ length: 500 }, (_, i) => ({ type: 'function', at: t0 + i, record: `log line ${i}: nothing ran out` }));
    const events = parseTelemetryBatch(batch(
      ...ordinary,
      { type: 'function', at: t0 + 600, record: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' },
      { type: 'function', at: t0 + 601, record: { requestId: 'json-1', level: 'ERROR', message: 'an ordinary JSON line' } },
      { type: 'function', at: t0 + 602, record: { requestId: 'json-2', errorType: 'Runtime.ExitError', message: 'Runtime exited with error: signal: killed' } },
      { type: 'function', at: t0 + 603, record: 42 },
      { type: 'platform.start', at: t0 + 604, record: { requestId: 'after' } },
    ));
    assert.deepEqual(events, [
      { type: 'outOfMemoryLine', at: t0 + 600, requestId: undefined },
      { type: 'outOfMemoryLine', at: t0 + 602, requestId: 'json-2' },
      { type: 'start', at: t0 + 604, requestId: 'after', traceHeader: undefined },
    ]);
  });
});

describe('dropped telemetry', () => {
  test('warned once a minute at most, by Lambda\'s clock, with the records dropped since the last warning', () => {
    const lines: string[] = [];
    const platform = new PlatformTelemetry({ log: createLogger('warn', (line) => lines.push(line)), runtimeDoneWaitMs: 0 });
    const t0 = Date.parse('2026-12-06T05:00:00.000Z');
    const dropped = (seconds: number, records: number) => ({ type: 'platform.logsDropped', at: t0 + seconds * 1000, record: { reason: 'behind', droppedRecords: records, droppedBytes: records * 100 } });
    platform.ingest(parseTelemetryBatch(batch(dropped(0, 10), dropped(1, 20), dropped(30, 5))));
    platform.ingest(parseTelemetryBatch(batch(dropped(59, 1), dropped(61, 2), dropped(62, 3))));
    const warnings = lines.map((line) => JSON.parse(line) as { code: string; records: number });
    assert.deepEqual(warnings.map((w) => [w.code, w.records]), [['LRAP_TELEMETRY_DROPPED', 10], ['LRAP_TELEMETRY_DROPPED', 28]]);
  });
});

describe('out-of-memory rules', () => {
  test('the exception classes runtimes post, and the lines they write', () => {
    for (const type of ['Runtime.OutOfMemory', 'java.lang.OutOfMemoryError', 'System.OutOfMemoryException', 'MemoryError', 'NoMemoryError']) {
      assert.ok(isOutOfMemoryErrorType(type), type);
    }
    for (const type of ['Runtime.ExitError', 'OrderError', 'MemoryErrorHandler', undefined]) assert.ok(!isOutOfMemoryErrorType(type), String(type));
    assert.ok(isOutOfMemoryLine('FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory'));
    assert.ok(isOutOfMemoryLine('RequestId: x Error: Runtime exited with error: signal: killed'));
    assert.ok(!isOutOfMemoryLine('RequestId: x Error: Runtime exited with error: exit status 3'));
  });

  test('the report alone says out-of-memory only for a failed invocation with its memory full', () => {
    assert.ok(reportShowsOutOfMemory('error', 128, 128));
    assert.ok(reportShowsOutOfMemory('timeout', 128, 128));
    assert.ok(!reportShowsOutOfMemory('success', 128, 128));
    assert.ok(!reportShowsOutOfMemory('error', 100, 128));
  });
});

describe('platform facts, gathered', () => {
  function platform() {
    const p = new PlatformTelemetry({ log: createLogger('none'), runtimeDoneWaitMs: 100 });
    p.setSubscribed(true);
    const reports: InvocationReport[] = [];
    p.onReport((r) => reports.push(r));
    return { p, reports };
  }

  test('every signal of one out-of-memory makes one report with one piece of evidence, Lambda\'s own word first', () => {
    const { p, reports } = platform();
    const t0 = Date.now();
    p.ingest(parseTelemetryBatch(batch(
      { type: 'platform.start', at: t0, record: { requestId: 'a' } },
      { type: 'function', at: t0 + 1, record: 'RequestId: a Error: Runtime exited with error: signal: killed' },
      runtimeDone('a', 'error', { errorType: 'Runtime.OutOfMemory' }, t0 + 2),
      report('a', 'error', { maxMemoryUsedMB: 128 }, { errorType: 'Runtime.OutOfMemory' }),
    )));
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.outOfMemory, 'runtime-done');
  });

  test('a text log line is tied to the one invocation running at its time, never to a later one', () => {
    const { p, reports } = platform();
    const t0 = Date.now();
    p.ingest(parseTelemetryBatch(batch(
      { type: 'platform.start', at: t0, record: { requestId: 'a' } },
      { type: 'function', at: t0 + 1, record: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' },
      runtimeDone('a', 'error', { errorType: 'Runtime.ExitError' }, t0 + 2),
      report('a', 'error', {}),
      { type: 'platform.start', at: t0 + 10, record: { requestId: 'b' } },
      runtimeDone('b', 'error', { errorType: 'Runtime.ExitError' }, t0 + 12),
      report('b', 'error', {}),
    )));
    assert.deepEqual(reports.map((r) => [r.requestId, r.outOfMemory]), [['a', 'function-log'], ['b', undefined]]);
  });

  test('on Managed Instances (no runtimeDone) the report tells the tracker what runtimeDone would have', () => {
    const { p } = platform();
    const seen: string[] = [];
    p.setObserver({ onRuntimeDone: (facts) => seen.push(`${facts.requestId} ${facts.runtimeDone?.status} ${facts.runtimeDone?.responseLatencyMs}`) });
    p.ingest(parseTelemetryBatch(batch({
      type: 'platform.report',
      record: { requestId: 'a', status: 'success', metrics: { durationMs: 1.1 }, spans: [{ name: 'responseLatency', start: iso(0), durationMs: 0.8 }] },
    })));
    assert.deepEqual(seen, ['a success 0.8']);
  });
});

function setUp(live = true) {
  const platform = new PlatformTelemetry({ log: createLogger('none'), runtimeDoneWaitMs: 100 });
  platform.setSubscribed(live);
  const { tracker, exporter } = trackerUnderTest({ platform });
  platform.setObserver(tracker);
  const start = (requestId: string) => tracker.onInvocationEvent({ requestId, body: Buffer.from('{}'), totalBytes: 2, receivedAt: performance.now(), headers: { 'lambda-runtime-trace-id': XRAY } });
  const end = (requestId: string) => tracker.onInvocationResult({
    requestId, kind: 'response', upstreamStatus: 202, upstreamBody: undefined, requestHeaders: [], bodyBytes: 0, addedMs: undefined, trailers: [], failure: undefined,
  });
  const spans = () => exporter.getFinishedSpans().filter((s) => s.attributes['faas.invocation.id'] !== undefined);
  return { tracker, platform, start, end, spans, exporter };
}

describe('spans and platform facts', () => {
  test('a posted span waits for its runtimeDone and ends at the post\'s time with its figures', async () => {
    const { platform, start, end, spans, tracker } = setUp();
    start('a');
    end('a');
    const endedAt = Date.now();
    assert.equal(spans().length, 0, 'waiting for runtimeDone');
    const settled = tracker.whenSpanEnded('a', performance.now() + 5000);
    platform.ingest(parseTelemetryBatch(batch(runtimeDone('a', 'success'))));
    await settled;
    const [span] = spans();
    assert.equal(span?.attributes['lambda_trace_proxy.platform.response_latency_us'], 10250);
    assert.ok(Math.abs(span!.endTime[0] * 1000 + span!.endTime[1] / 1e6 - endedAt) < 5, 'ends when the runtime posted');
  });

  test('without runtimeDone the span goes anyway once the bounded wait is over', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { platform, start, end, spans } = setUp();
    start('a');
    end('a');
    assert.equal(spans().length, 0);
    t.mock.timers.tick(platform.runtimeDoneWaitMs);
    assert.equal(spans().length, 1);
    assert.equal(spans()[0]?.attributes['lambda_trace_proxy.platform.status'], undefined);
  });

  test('after three runtimeDone that never came, spans stop waiting', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { platform, start, end, spans } = setUp();
    for (const id of ['a', 'b', 'c']) {
      start(id);
      end(id);
      t.mock.timers.tick(platform.runtimeDoneWaitMs);
    }
    assert.equal(platform.live, false);
    start('d');
    end('d');
    assert.equal(spans().length, 4, 'ended at once');
  });

  test('LRAP_PLATFORM_WAIT_MS: 0 means no wait, a bad value keeps 100 ms and says so', () => {
    assert.equal(parseTelemetrySettings({ LRAP_PLATFORM_WAIT_MS: '0' }).runtimeDoneWaitMs, 0);
    const bad = parseTelemetrySettings({ LRAP_PLATFORM_WAIT_MS: '5s' });
    assert.deepEqual([bad.runtimeDoneWaitMs, bad.problems.length], [100, 1]);
    const platform = new PlatformTelemetry({ log: createLogger('none'), runtimeDoneWaitMs: 0 });
    platform.setSubscribed(true);
    assert.equal(platform.live, false);
  });

  test('when the Telemetry API is not there, nothing waits', () => {
    const { start, end, spans } = setUp(false);
    start('a');
    end('a');
    assert.equal(spans().length, 1);
  });

  test('a runtimeDone that comes while the post is still on its way leaves the span to the post\'s result', () => {
    const { tracker, platform, start, end, spans } = setUp();
    start('a');
    tracker.bodyReader('a', 'response'); // The runtime's post has begun to pass through the proxy.
    platform.ingest(parseTelemetryBatch(batch(runtimeDone('a', 'success'))));
    assert.equal(spans().length, 0, 'not ended by runtimeDone while the post is in flight');
    end('a');
    const [span] = spans();
    assert.equal(span?.status.code, 0);
    assert.equal(span?.attributes['lambda_trace_proxy.platform.response_latency_us'], 10250);
  });

  test('a runtime that posted nothing ends with Lambda\'s status; out-of-memory says so in error.type', () => {
    const { platform, start, spans } = setUp();
    start('a');
    platform.ingest(parseTelemetryBatch(batch(runtimeDone('a', 'error', { errorType: 'Runtime.OutOfMemory' }))));
    const [span] = spans();
    assert.equal(span?.status.code, 2);
    assert.equal(span?.attributes['error.type'], 'Runtime.OutOfMemory');
    assert.equal(span?.attributes['lambda_trace_proxy.out_of_memory'], true);
    assert.equal(span?.events[0]?.attributes?.['exception.type'], 'Runtime.OutOfMemory');
  });

  test('an out-of-memory only the runtime\'s log told (runtimeDone says Runtime.ExitError) names the exception as error.type does', () => {
    const { platform, start, spans } = setUp();
    start('a');
    platform.ingest(parseTelemetryBatch(batch(
      { type: 'function', at: Date.now(), record: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory' },
      runtimeDone('a', 'error', { errorType: 'Runtime.ExitError' }),
    )));
    const [span] = spans();
    assert.equal(span?.attributes['error.type'], 'Runtime.OutOfMemory');
    assert.equal(span?.attributes['lambda_trace_proxy.out_of_memory.evidence'], 'function-log');
    assert.equal(span?.attributes['lambda_trace_proxy.platform.error_type'], 'Runtime.ExitError', 'what Lambda said stays on the span');
    assert.equal(span?.events.length, 1);
    assert.equal(span?.events[0]?.attributes?.['exception.type'], 'Runtime.OutOfMemory');
    assert.match(String(span?.events[0]?.attributes?.['exception.message']), /out of memory.*Runtime\.ExitError/);
  });

  test('an invocation the proxy never saw gets one span from platform.start to runtimeDone; one it saw never gets a second', () => {
    const { platform, start, end, spans } = setUp();
    start('seen');
    end('seen');
    const t0 = Date.now() - 50;
    platform.ingest(parseTelemetryBatch(batch(
      runtimeDone('seen', 'success'),
      { type: 'platform.start', at: t0, record: { requestId: 'unseen', tracing: { type: 'X-Amzn-Trace-Id', value: XRAY } } },
      runtimeDone('unseen', 'success', {}, t0 + 40),
      runtimeDone('seen', 'success'),
    )));
    assert.deepEqual(spans().map((s) => s.attributes['faas.invocation.id']), ['seen', 'unseen']);
    const unseen = spans()[1]!;
    assert.equal(unseen.attributes['lambda_trace_proxy.injected'], false);
    assert.equal(unseen.spanContext().traceId, '6352a70e1e2c502e358361800241fd45');
    assert.equal(unseen.parentSpanContext?.spanId, '35465b3a9e2f7c6a');
    assert.equal(unseen.startTime[0] * 1000 + Math.round(unseen.startTime[1] / 1e6), t0);
  });
});

describe('init phases on the cold start', () => {
  test('the init span is Lambda\'s Init phase, with a SnapStart restore under it, when the Telemetry API told us', () => {
    const { platform, tracker, exporter } = setUp();
    const t0 = Date.now() - 1000;
    platform.ingest(parseTelemetryBatch(batch(
      { type: 'platform.initStart', at: t0, record: { initializationType: 'snap-start', phase: 'init' } },
      { type: 'platform.initRuntimeDone', at: t0 + 300, record: { initializationType: 'snap-start', phase: 'init', status: 'success' } },
      { type: 'platform.initReport', at: t0 + 300, record: { initializationType: 'snap-start', phase: 'init', status: 'success', metrics: { durationMs: 300.5 } } },
      { type: 'platform.restoreStart', at: t0 + 500, record: {} },
      { type: 'platform.restoreRuntimeDone', at: t0 + 620, record: { status: 'success' } },
      { type: 'platform.restoreReport', at: t0 + 620, record: { status: 'success', metrics: { durationMs: 120.25 } } },
    )));
    tracker.onInvocationEvent({ requestId: 'a', body: Buffer.from('{}'), totalBytes: 2, receivedAt: performance.now(), headers: {} });
    platform.ingest(parseTelemetryBatch(batch(runtimeDone('a', 'success'))));
    const spans = exporter.getFinishedSpans();
    const init = spans.find((s) => s.name === 'fn init')!;
    const restore = spans.find((s) => s.name === 'fn restore')!;
    const invocation = spans.find((s) => s.attributes['faas.invocation.id'] === 'a')!;
    assert.equal(init.parentSpanContext?.spanId, invocation.spanContext().spanId);
    assert.deepEqual([init.attributes['lambda_trace_proxy.init.type'], init.attributes['lambda_trace_proxy.init.status'], init.attributes['lambda_trace_proxy.init.duration_us']], ['snap-start', 'success', 300500]);
    assert.equal(init.startTime[0] * 1000 + Math.round(init.startTime[1] / 1e6), t0);
    assert.equal(init.endTime[0] * 1000 + Math.round(init.endTime[1] / 1e6), t0 + 300);
    assert.equal(restore.parentSpanContext?.spanId, init.spanContext().spanId);
    assert.deepEqual([restore.attributes['lambda_trace_proxy.restore.status'], restore.attributes['lambda_trace_proxy.restore.duration_us']], ['success', 120250]);
    assert.equal(restore.endTime[0] * 1000 + Math.round(restore.endTime[1] / 1e6), t0 + 620);
  });
});

describe('telemetry settings', () => {
  test('OTEL_METRICS_EXPORTER=none turns metrics off; an unknown exporter warns; no Telemetry API, no metrics', () => {
    assert.equal(parseTelemetrySettings({}).metrics, true);
    assert.equal(parseTelemetrySettings({ OTEL_METRICS_EXPORTER: 'none' }).metrics, false);
    const prometheus = parseTelemetrySettings({ OTEL_METRICS_EXPORTER: 'prometheus' });
    assert.equal(prometheus.metrics, false);
    assert.equal(prometheus.problems.length, 1);
    assert.deepEqual(parseTelemetrySettings({ LRAP_TELEMETRY_API: 'false' }), { telemetryApi: false, metrics: false, metricsExport: undefined, temporality: 'cumulative', runtimeDoneWaitMs: 100, problems: [] });
    assert.equal(parseTelemetrySettings({ LRAP_TELEMETRY_API: 'maybe' }).telemetryApi, true);
  });
});
