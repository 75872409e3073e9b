// Export never loses a span to a freeze and never delays the caller: a collector
// that is down, hanging or failing costs the function nothing but a log line,
// and whatever is left goes out at SHUTDOWN within its deadline.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, next, raw, respond, startWithProxy } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

async function oneInvocation(env: Awaited<ReturnType<typeof startWithProxy>>, payload: string) {
  const invoked = env.sandbox.invoke(payload);
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  const posted = await respond(env.proxy, id, Buffer.from(payload));
  const result = await invoked;
  // The extension asks for its next event (and so lets Lambda freeze us) only once the flush is over.
  const nextEvent = await env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= result.endedAt, { timeoutMs: 10_000 });
  return { got, posted, result, id, flushMs: nextEvent.at - result.endedAt };
}

for (const [fault, arrange] of [
  ['down', async () => ({ endpoint: `http://127.0.0.1:${await freePort()}`, close: async () => {} })],
  ['hanging', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'hang' }); return { endpoint: r.endpoint, close: () => r.close() }; }],
  ['returning 500', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'status', status: 500 }); return { endpoint: r.endpoint, close: () => r.close() }; }],
] as const) {
  test(`a collector ${fault} leaves invocations byte-exact and lets the environment freeze in bounded time`, async () => {
    const collector = await arrange();
    const env = await startWithProxy({ env: {
      OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, LRAP_FLUSH_TIMEOUT_MS: '300', LRAP_LOG_LEVEL: 'warn',
    } });
    try {
      for (const n of [1, 2, 3]) {
        const payload = `{"n":${n},"big":12345678901234567890}`;
        const { got, posted, result, flushMs } = await oneInvocation(env, payload);
        assert.equal(got.body.toString(), payload);
        assert.equal(posted.status, 202);
        assert.equal(result.body.toString(), payload);
        assert.ok(flushMs < 2000, `back in /event/next ${Math.round(flushMs)} ms after the response (flush timeout 300 ms)`);
        // Once a flush has failed, invocations no longer wait for the collector at all.
        if (n > 1) assert.ok(flushMs < 300, `invocation ${n} waited ${Math.round(flushMs)} ms for a collector known to be failing`);
      }
      const report = await env.sandbox.shutdown();
      assert.equal(report.extensions[0]?.exitCode, 0);
      assert.equal(report.extensions[0]?.killed, false);
      const logs = env.sandbox.output('lambda-trace-proxy').stderr;
      assert.match(logs, /LRAP_EXPORT_FAILED|LRAP_FLUSH_TIMEOUT|LRAP_FLUSH_FAILED/);
      assert.doesNotMatch(logs, /12345678901234567890/, 'logs never contain payloads');
    } finally {
      await env.sandbox.shutdown().catch(() => undefined);
      await collector.close();
    }
  });
}

test('LRAP_FLUSH=shutdown keeps spans until SHUTDOWN and exports them all within its deadline', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'shutdown' } });
  const ids: string[] = [];
  try {
    for (const n of [1, 2, 3, 4]) ids.push((await oneInvocation(env, `{"n":${n}}`)).id);
    assert.equal(receiver.spans.length, 0, 'nothing exported before SHUTDOWN');
    const report = await env.sandbox.shutdown();
    assert.equal(report.extensions[0]?.exitCode, 0);
    assert.ok((report.extensions[0]?.exitedAfterMs ?? Infinity) < 2000);
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of ids) assert.ok(exported.includes(id), `span of ${id} exported at shutdown`);
  } finally {
    await receiver.close();
  }
});

test('LRAP_FLUSH=periodic batches invocations and exports when due', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'periodic:60000' } });
  try {
    await oneInvocation(env, '{"n":1}');
    await oneInvocation(env, '{"n":2}');
    assert.equal(receiver.requests.length, 0, 'not due yet: nothing sent');
    await env.sandbox.shutdown();
    assert.equal(receiver.spans.filter((s) => s.attributes['faas.invocation.id'] !== undefined).length, 2);
  } finally {
    await receiver.close();
  }
});
