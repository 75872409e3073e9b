// What only the platform knows, through the Telemetry API of the sandbox, on the
// spans and metrics the built layer exports: runtimeDone on every span, the
// init phases on the cold start, a span for an invocation the proxy never saw,
// and platform.report as OTLP metrics.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, next, raw, request, respond, RUNTIME, startWithProxy, type ProxiedSandbox } from './harness.ts';
import { OtlpReceiver, type ReceivedMetric } from '../support/otlp-receiver.ts';
import { parseXrayHeader } from '../../src/context/trace-headers.ts';

function extensionBackInNext(env: ProxiedSandbox, after: number) {
  return env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= after, { timeoutMs: 10_000 });
}

/** Lambda delivered this invocation's platform.report to the extension. */
function reportDelivered(env: ProxiedSandbox, fromIndex: number) {
  return env.sandbox.waitForEvent('telemetry-delivered', {
    fromIndex,
    match: (e) => Array.isArray(e.detail['types']) && (e.detail['types'] as string[]).includes('platform.report') && e.detail['ok'] === true,
  });
}

/** One invocation through the proxy: the test is the runtime. */
async function proxiedInvocation(env: ProxiedSandbox, answer: (id: string) => Promise<unknown> = (id) => respond(env.proxy, id, Buffer.from('{"ok":true}'))) {
  const invoked = env.sandbox.invoke('{"order":7}');
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  await answer(id);
  const result = await invoked;
  await extensionBackInNext(env, result.endedAt);
  return { id, result };
}

/** One invocation that never goes through the proxy: the runtime talks to Lambda itself. */
async function bypassedInvocation(env: ProxiedSandbox) {
  const lambda = env.sandbox.address;
  const invoked = env.sandbox.invoke('{"order":8}');
  const got = await request(lambda, { path: `${RUNTIME}/invocation/next` });
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  await request(lambda, { method: 'POST', path: `${RUNTIME}/invocation/${id}/response`, body: Buffer.from('{"direct":true}') });
  return { id, result: await invoked };
}

/** The extension's log lines with this code, as written. */
const logLines = (env: ProxiedSandbox, code: string) => env.sandbox.output('lambda-trace-proxy').stderr.split('\n').filter((l) => l.includes(`"${code}"`));

const sumOf = (metrics: readonly ReceivedMetric[], name: string, match: (attrs: Record<string, unknown>) => boolean = () => true) =>
  metrics.filter((m) => m.name === name).flatMap((m) => m.dataPoints).filter((p) => match(p.attributes))
    .reduce((latest, p) => Math.max(latest, p.value ?? p.count ?? 0), 0);

describe('platform facts on spans', () => {
  let env: ProxiedSandbox;
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await OtlpReceiver.start();
    env = await startWithProxy({ functionName: 'orders', env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
  });
  after(async () => {
    await env.sandbox.shutdown();
    await receiver.close();
  });

  test('the extension subscribes to the Telemetry API for platform events and the function log, with 25 ms buffering', () => {
    const subscribed = env.sandbox.events.find((e) => e.kind === 'telemetry-subscribed');
    assert.ok(subscribed, 'subscribed during Init');
    assert.equal(subscribed.detail['schemaVersion'], '2022-12-13');
    assert.deepEqual(subscribed.detail['types'], ['platform', 'function']);
    assert.equal(subscribed.detail['timeoutMs'], 25);
  });

  test('the span exported before the freeze carries runtimeDone\'s status, response latency and produced bytes, and the init phases', async () => {
    const { id } = await proxiedInvocation(env);
    const span = receiver.spans.find((s) => s.attributes['faas.invocation.id'] === id);
    assert.ok(span, 'exported before the extension asked for its next event');
    assert.equal(span.attributes['lambda_trace_proxy.platform.status'], 'success');
    assert.equal(span.attributes['lambda_trace_proxy.platform.produced_bytes'], 11n);
    // Durations are whole µs on the wire (OTLP intValue, a bigint here): never a double, whatever the value.
    assert.equal(typeof span.attributes['lambda_trace_proxy.platform.response_latency_us'], 'bigint');
    assert.equal(typeof span.attributes['lambda_trace_proxy.platform.response_duration_us'], 'bigint');
    const init = receiver.spans.find((s) => s.name === 'orders init');
    assert.ok(init, 'the cold start has its init span');
    assert.equal(init.parentSpanId, span.spanId);
    assert.equal(init.attributes['lambda_trace_proxy.init.status'], 'success');
    assert.equal(init.attributes['lambda_trace_proxy.init.type'], 'on-demand');
    assert.equal(typeof init.attributes['lambda_trace_proxy.init.duration_us'], 'bigint');
  });

  test('an invocation the runtime did not route through the proxy gets one span, joined to Lambda\'s trace header, marked not injected', async () => {
    const { id, result } = await bypassedInvocation(env);
    // The lifecycle released it at once (runtime-watch.ts): its span, made when runtimeDone
    // arrives, leaves with the next flush: here, after the next invocation.
    await env.sandbox.waitForEvent('telemetry-delivered', {
      match: (e) => Array.isArray(e.detail['types']) && (e.detail['types'] as string[]).includes('platform.runtimeDone'), fromIndex: env.sandbox.events.findIndex((e) => e.kind === 'invoke' && e.detail['requestId'] === id),
    });
    await proxiedInvocation(env);
    const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
    assert.equal(span.attributes['lambda_trace_proxy.injected'], false);
    const lambdaHeader = parseXrayHeader(result.traceId)!;
    assert.equal(span.traceId, lambdaHeader.traceId);
    assert.equal(span.parentSpanId, lambdaHeader.parentSpanId);
    assert.equal(span.attributes['lambda_trace_proxy.platform.status'], 'success');
    const startMs = Number(span.startTimeUnixNano / 1_000_000n);
    assert.ok(Math.abs(startMs - result.startedAt) < 5, `starts at platform.start (${startMs} vs ${result.startedAt})`);
    // The one error line about the bypass tells the user what they get meanwhile: these spans.
    const bypassLines = logLines(env, 'LRAP_RUNTIME_BYPASS');
    assert.equal(bypassLines.length, 1);
    assert.match(bypassLines[0]!, /traced from Lambda's platform events alone \(spans with lambda_trace_proxy\.injected=false/);
    // And it is the only line about it: no OpenTelemetry warning about the faas.instance the wrapper never handed over.
    assert.deepEqual(logLines(env, 'LRAP_OTEL_DIAGNOSTIC'), []);
  });

  test('an invocation the proxy saw never gets a second span, even after its report', async () => {
    const from = env.sandbox.events.length;
    const { id } = await proxiedInvocation(env);
    await reportDelivered(env, from);
    // The next flush point exports whatever a late runtimeDone or report could have made.
    const { id: later } = await proxiedInvocation(env);
    await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === later);
    assert.equal(receiver.spans.filter((s) => s.attributes['faas.invocation.id'] === id).length, 1);
  });

  test('a timed-out invocation\'s span says what Lambda said: timeout', async () => {
    const invoked = env.sandbox.invoke('{"slow":true}', { timeoutMs: 300 });
    const got = await next(env.proxy);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    const result = await invoked;
    assert.equal(result.outcome, 'timeout');
    const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
    assert.equal(span.status.code, 'ERROR');
    assert.equal(span.attributes['lambda_trace_proxy.platform.status'], 'timeout');
    assert.equal(span.attributes['error.type'], 'timeout');
    assert.equal(span.attributes['lambda_trace_proxy.platform.error_type'], 'Sandbox.Timedout');
  });

  // Last in this suite: it reads every span the ones above made (proxied, bypassed, timed out, init).
  test('every duration on every span left as OTLP intValue (whole µs), never as a double', () => {
    const durations: { key: string; value: unknown }[] = [];
    for (const span of receiver.spans) {
      for (const [key, value] of Object.entries(span.attributes)) {
        if (key.startsWith('lambda_trace_proxy.') && key.endsWith('_us')) durations.push({ key, value });
      }
    }
    const keys = new Set(durations.map((d) => d.key));
    for (const key of ['added.next_us', 'added.result_us', 'platform.duration_us', 'platform.response_latency_us', 'init.duration_us']) {
      assert.ok(keys.has(`lambda_trace_proxy.${key}`), `some span carries lambda_trace_proxy.${key} (seen: ${[...keys].join(', ')})`);
    }
    const doubles = durations.filter((d) => typeof d.value !== 'bigint');
    assert.deepEqual(doubles, [], `${durations.length} durations, all intValue`);
  });
});

describe('on Managed Instances (schema 2025-01-29, no runtimeDone)', () => {
  test('spans get the same facts from platform.report', async () => {
    const receiver = await OtlpReceiver.start();
    const env = await startWithProxy({ concurrency: 2, env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'periodic:100' } });
    try {
      assert.equal(env.sandbox.events.find((e) => e.kind === 'telemetry-subscribed')?.detail['schemaVersion'], '2025-01-29');
      const invoked = env.sandbox.invoke('{"order":9}');
      const got = await next(env.proxy);
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      await respond(env.proxy, id, Buffer.from('{"ok":true}'));
      await invoked;
      const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
      assert.equal(span.attributes['lambda_trace_proxy.platform.status'], 'success');
      assert.equal(typeof span.attributes['lambda_trace_proxy.platform.response_latency_us'], 'bigint');
    } finally {
      await env.sandbox.shutdown();
      await receiver.close();
    }
  });
});

describe('platform.report as OTLP metrics', () => {
  for (const protocol of ['http/protobuf', 'http/json'] as const) test(`leave at the next flush and at SHUTDOWN over ${protocol}, named per the FaaS conventions, errors with their error.type`, async () => {
    const receiver = await OtlpReceiver.start();
    const env = await startWithProxy({ functionName: 'orders', memoryMb: 256, env: {
      OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    } });
    try {
      await proxiedInvocation(env);
      const from = env.sandbox.events.length;
      await proxiedInvocation(env, (id) => request(env.proxy, {
        method: 'POST', path: `${RUNTIME}/invocation/${id}/error`, body: Buffer.from('{"errorType":"OrderError","errorMessage":"no stock"}'),
      }));
      await reportDelivered(env, from);
      // A report that came before an invocation ended leaves with that invocation's flush.
      await proxiedInvocation(env);
      const early = receiver.metrics.filter((m) => m.name === 'faas.invocations');
      assert.ok(early.length > 0, 'exported at a flush point before SHUTDOWN');
      assert.equal(early[0]?.resource['faas.name'], 'orders');
    } finally {
      await env.sandbox.shutdown();
    }
    const metrics = receiver.metrics;
    assert.equal(sumOf(metrics, 'faas.invocations'), 3, 'every report counted once, the last one at SHUTDOWN');
    assert.equal(sumOf(metrics, 'faas.coldstarts'), 1);
    assert.equal(sumOf(metrics, 'faas.errors', (a) => a['error.type'] === 'OrderError'), 1);
    assert.equal(sumOf(metrics, 'faas.invoke_duration'), 3);
    assert.equal(sumOf(metrics, 'faas.init_duration'), 1);
    assert.equal(sumOf(metrics, 'lambda_trace_proxy.billed_duration'), 3);
    const mem = metrics.filter((m) => m.name === 'faas.mem_usage').at(-1)!;
    assert.equal(mem.unit, 'By');
    assert.ok(mem.dataPoints[0]!.sum! > 0);
    assert.equal(metrics.find((m) => m.name === 'faas.invoke_duration')?.unit, 's');
    assert.ok(receiver.requests.filter((r) => r.url === '/v1/metrics').every((r) => r.encoding === (protocol === 'http/json' ? 'json' : 'protobuf')));
    await receiver.close();
  });

  // Metrics go out as spans do (otlp-http-transport.ts): one request per export,
  // the failure reported at once, so a failing collector costs a metric export
  // no more than a span export, and SHUTDOWN ends well inside its deadline.
  const failing = [
    ['refusing connections', async () => ({ endpoint: `http://127.0.0.1:${await freePort()}`, receiver: undefined })],
    ['answering 503', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'status', status: 503 }); return { endpoint: r.endpoint, receiver: r }; }],
    ['never answering', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'hang' }); return { endpoint: r.endpoint, receiver: r }; }],
  ] as const;
  for (const [fault, arrange] of failing) test(`a collector ${fault} at SHUTDOWN gets one request per metric export, and the extension exits cleanly before its deadline`, async () => {
    const { endpoint, receiver } = await arrange();
    const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, LRAP_LOG_LEVEL: 'debug', LRAP_FLUSH: 'shutdown' } });
    try {
      // The first invocation's report comes with the second: metrics to export at SHUTDOWN.
      await proxiedInvocation(env);
      await proxiedInvocation(env);
      const report = await env.sandbox.shutdown();
      assert.equal(report.extensions[0]?.exitCode, 0, 'exited by itself');
      assert.equal(report.extensions[0]?.killed, false, 'not killed at the deadline');
      const failures = logLines(env, 'LRAP_METRICS_EXPORT_FAILED').length;
      const timeouts = logLines(env, 'LRAP_METRICS_FLUSH_TIMEOUT').length;
      const final = JSON.parse(logLines(env, 'LRAP_SHUTDOWN_FLUSH')[0]!) as Record<string, number>;
      const requests = receiver?.requests.filter((r) => r.url === '/v1/metrics').length ?? 0;
      console.log(`${fault}: SHUTDOWN took ${report.extensions[0]?.exitedAfterMs ?? '?'} ms (deadline 2000 ms); metric exports failed ${failures}, timed out ${timeouts}, /v1/metrics requests ${requests}; spans ${JSON.stringify(final)}`);
      assert.equal(final['exported'], 0, 'no span exported, and the final flush says so');
      if (fault === 'never answering') {
        // Held to the flush budget, as the span export is.
        assert.equal(failures + timeouts >= 1, true, 'the metric export was given up on');
      } else {
        // The failure is known at once: nothing waits out the budget, and nothing is retried inside the export.
        assert.equal(timeouts, 0, 'no metric export ran into the flush budget');
        assert.ok(failures >= 1, 'the failed metric export is logged');
        if (receiver) assert.equal(requests, failures, 'one request per metric export, no retries inside it');
      }
    } finally {
      await env.sandbox.shutdown().catch(() => undefined);
      await receiver?.close();
    }
  });

  test('OTEL_METRICS_EXPORTER=none sends no metrics; spans still go', async () => {
    const receiver = await OtlpReceiver.start();
    const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRICS_EXPORTER: 'none' } });
    try {
      const { id } = await proxiedInvocation(env);
      await proxiedInvocation(env);
      assert.ok(receiver.spans.some((s) => s.attributes['faas.invocation.id'] === id));
    } finally {
      await env.sandbox.shutdown();
    }
    assert.equal(receiver.requests.filter((r) => r.url === '/v1/metrics').length, 0);
    await receiver.close();
  });
});
