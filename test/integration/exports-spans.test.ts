// Export never loses a span to a freeze and never makes the caller wait on a
// collector that fails: a collector that refuses, hangs, fails or resets costs
// one bounded hold, later invocations are released at once, spans stay queued
// and are retried, and whatever is left goes out at SHUTDOWN within its deadline.
// What the extension decided at each invocation's end is read from its debug
// log (LRAP_FLUSHED): no test here measures a duration.

import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, next, raw, respond, startWithProxy } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

type Env = Awaited<ReturnType<typeof startWithProxy>>;

async function oneInvocation(env: Env, payload: string) {
  const invoked = env.sandbox.invoke(payload);
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  const posted = await respond(env.proxy, id, Buffer.from(payload));
  const result = await invoked;
  // The extension asks for its next event (and so lets Lambda freeze us) only once its flush decision is carried out.
  await env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= result.endedAt, { timeoutMs: 10_000 });
  return { got, posted, result, id };
}

interface EndRecord { requestId: string; decision: string; outcome: string }

/** The extension's LRAP_FLUSHED lines: one per invocation end. */
function endDecisions(env: Env): EndRecord[] {
  return env.sandbox.output('lambda-trace-proxy').stderr.split('\n').filter((l) => l.includes('"LRAP_FLUSHED"'))
    .map((l) => JSON.parse(l) as EndRecord);
}

const faults = [
  ['refusing connections', async () => ({ endpoint: `http://127.0.0.1:${await freePort()}`, close: async () => {} })],
  ['never answering', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'hang' }); return { endpoint: r.endpoint, close: () => r.close() }; }],
  ['returning 503', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'status', status: 503 }); return { endpoint: r.endpoint, close: () => r.close() }; }],
  ['resetting connections', async () => { const r = await OtlpReceiver.start(); r.respondWith({ kind: 'reset' }); return { endpoint: r.endpoint, close: () => r.close() }; }],
] as const;

for (const [fault, arrange] of faults) {
  test(`a collector ${fault} leaves invocations byte-exact, is waited for once at most, then not at all`, async () => {
    const collector = await arrange();
    const env = await startWithProxy({ env: {
      OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint, LRAP_LOG_LEVEL: 'debug',
    } });
    try {
      const ids: string[] = [];
      for (const n of [1, 2, 3, 4]) {
        const payload = `{"n":${n},"big":12345678901234567890}`;
        const { got, posted, result, id } = await oneInvocation(env, payload);
        ids.push(id);
        assert.equal(got.body.toString(), payload);
        assert.equal(posted.status, 202);
        assert.equal(result.body.toString(), payload);
      }
      const decisions = endDecisions(env);
      assert.deepEqual(decisions.map((d) => d.requestId), ids);
      // At most the first invocation was held (until the failure or the budget); the rest were released at once.
      assert.deepEqual(decisions.slice(1).map((d) => d.decision), ['release', 'release', 'release'],
        `decisions: ${JSON.stringify(decisions)}`);
      const report = await env.sandbox.shutdown();
      assert.equal(report.extensions[0]?.exitCode, 0);
      assert.equal(report.extensions[0]?.killed, false);
      const logs = env.sandbox.output('lambda-trace-proxy').stderr;
      assert.match(logs, /LRAP_COLLECTOR_UNHEALTHY|LRAP_FLUSH_TIMEOUT/);
      // Nothing was dropped: the spans were still queued at SHUTDOWN, not thrown away at the first failure.
      const final = JSON.parse(logs.split('\n').find((l) => l.includes('"LRAP_SHUTDOWN_FLUSH"'))!) as Record<string, number>;
      assert.equal(final['rejected'], 0);
      assert.equal(final['droppedQueueFull'], 0);
      assert.doesNotMatch(logs, /12345678901234567890/, 'logs never contain payloads');
    } finally {
      await env.sandbox.shutdown().catch(() => undefined);
      await collector.close();
    }
  });
}

test('a collector returning 500 gets each batch once: the spans are dropped, counted and logged', async () => {
  const receiver = await OtlpReceiver.start();
  receiver.respondWith({ kind: 'status', status: 500 });
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_LOG_LEVEL: 'debug' } });
  try {
    await oneInvocation(env, '{"n":1}');
    await oneInvocation(env, '{"n":2}');
    await env.sandbox.shutdown();
    const logs = env.sandbox.output('lambda-trace-proxy').stderr;
    assert.match(logs, /"code":"LRAP_EXPORT_FAILED"/);
    const final = JSON.parse(logs.split('\n').find((l) => l.includes('"LRAP_SHUTDOWN_FLUSH"'))!) as Record<string, number>;
    assert.ok(final['rejected']! >= 2, `rejected ${final['rejected']}`);
    assert.equal(final['unsent'], 0);
  } finally {
    await receiver.close();
  }
});

test('spans queued while the collector refused are all delivered once it is up', async () => {
  const port = await freePort();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
  const ids: string[] = [];
  for (const n of [1, 2, 3]) ids.push((await oneInvocation(env, `{"n":${n}}`)).id);
  const receiver = await OtlpReceiver.start({ port });
  try {
    ids.push((await oneInvocation(env, '{"n":4}')).id);
    await env.sandbox.shutdown();
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of ids) assert.ok(exported.includes(id), `span of ${id} delivered`);
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});

test('a connection reset in the middle of an export (as after a freeze) loses no span: the batch is sent again', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
  try {
    const first = await oneInvocation(env, '{"n":1}');
    receiver.respondWith({ kind: 'reset' }, { times: 1 });
    const second = await oneInvocation(env, '{"n":2}');
    await env.sandbox.shutdown();
    assert.ok(receiver.requests.some((r) => r.outcome.kind === 'reset'), 'one export was reset');
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of [first.id, second.id]) assert.ok(exported.includes(id), `span of ${id} delivered`);
  } finally {
    await receiver.close();
  }
});

test('by default, invocations at steady traffic are released at once and their spans go out later, none lost', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_LOG_LEVEL: 'debug' } });
  try {
    const ids: string[] = [];
    for (let n = 0; n < 14; n++) ids.push((await oneInvocation(env, `{"n":${n}}`)).id);
    const decisions = endDecisions(env).map((d) => d.decision);
    // Early invocations are flushed at their end, as after a quiet spell: nothing waits through a freeze.
    assert.deepEqual(decisions.slice(0, 9), Array(9).fill('flush'));
    // Then, with invocations close together, their ends no longer export.
    assert.ok(decisions.slice(9).every((d) => d === 'release' || d === 'await-in-flight'), decisions.join());
    const lastId = ids.at(-1)!;
    assert.ok(!receiver.spans.some((s) => s.attributes['faas.invocation.id'] === lastId), 'the last span waits in the queue');
    await env.sandbox.shutdown();
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of ids) assert.ok(exported.includes(id), `span of ${id} delivered`);
  } finally {
    await receiver.close();
  }
});

test('a localhost endpoint (the default\'s name) delivers every span to a collector on 127.0.0.1, the name in Host', async () => {
  const receiver = await OtlpReceiver.start();
  const port = new URL(receiver.endpoint).port;
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${port}`, LRAP_LOG_LEVEL: 'debug' } });
  try {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await oneInvocation(env, `{"n":${n}}`)).id);
    await env.sandbox.shutdown();
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of ids) assert.ok(exported.includes(id), `span of ${id} delivered`);
    assert.ok(receiver.requests.length > 0);
    assert.deepEqual([...new Set(receiver.requests.map((r) => r.headers.host))], [`localhost:${port}`]);
    assert.doesNotMatch(env.sandbox.output('lambda-trace-proxy').stderr, /LRAP_EXPORT_FAILED|LRAP_EXPORT_RETRYING|LRAP_COLLECTOR_UNHEALTHY|LRAP_FLUSH_TIMEOUT/, 'no export failed');
  } finally {
    await receiver.close();
  }
});

test('each invocation span says how long the environment was held for the flush after the previous invocation', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'end' } });
  try {
    const first = await oneInvocation(env, '{"n":1}');
    const second = await oneInvocation(env, '{"n":2}');
    await env.sandbox.shutdown();
    const span = (id: string) => receiver.spans.find((s) => s.attributes['faas.invocation.id'] === id)!;
    assert.equal(span(first.id).attributes['lambda_trace_proxy.added.previous_flush_us'], undefined);
    const hold = span(second.id).attributes['lambda_trace_proxy.added.previous_flush_us'];
    // Whole µs, 0 among them, always OTLP's intValue (the receiver reads it as a bigint), never a double.
    assert.equal(typeof hold, 'bigint');
    assert.ok(Number(hold) >= 0);
    assert.equal(span(second.id).attributes['lambda_trace_proxy.added.previous_flush_invocation_id'], first.id);
  } finally {
    await receiver.close();
  }
});

test('spans that find the queue full are dropped, counted and logged', async () => {
  const env = await startWithProxy({ env: {
    OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`, OTEL_BSP_MAX_QUEUE_SIZE: '2',
  } });
  try {
    for (const n of [1, 2, 3, 4]) await oneInvocation(env, `{"n":${n}}`);
    await env.sandbox.shutdown();
    const logs = env.sandbox.output('lambda-trace-proxy').stderr;
    assert.match(logs, /"code":"LRAP_SPANS_DROPPED","reason":"queue-full"/);
    const final = JSON.parse(logs.split('\n').find((l) => l.includes('"LRAP_SHUTDOWN_FLUSH"'))!) as Record<string, number>;
    // Four invocation spans and the init span, two places.
    assert.equal(final['droppedQueueFull'], 3);
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
  }
});

test('LRAP_FLUSH=shutdown keeps spans until SHUTDOWN and exports them all within its deadline', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'shutdown' } });
  const ids: string[] = [];
  try {
    for (const n of [1, 2, 3, 4]) ids.push((await oneInvocation(env, `{"n":${n}}`)).id);
    assert.equal(receiver.spans.length, 0, 'nothing exported before SHUTDOWN');
    const report = await env.sandbox.shutdown();
    assert.equal(report.extensions[0]?.exitCode, 0);
    assert.equal(report.extensions[0]?.killed, false, 'exited by itself before the SHUTDOWN deadline, not killed at it');
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
    assert.equal(receiver.spans.length, 0, 'not due yet: no span sent');
    await env.sandbox.shutdown();
    assert.equal(receiver.spans.filter((s) => s.attributes['faas.invocation.id'] !== undefined).length, 2);
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});

/** The extension's process: the one running extension.cjs with this listener port in its environment. */
function extensionPid(port: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (environ.includes(`LRAP_LISTENER_PORT=${port}`) && readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes('extension.cjs')) return Number(entry);
    } catch { /* gone, or not ours to read */ }
  }
  throw new Error(`no extension process with LRAP_LISTENER_PORT=${port}`);
}

test('an export frozen in flight (SIGSTOP) whose connection dies during the freeze is sent again after the thaw', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: {
    OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_FLUSH: 'end', LRAP_LOG_LEVEL: 'info',
  } });
  const pid = extensionPid(env.port);
  try {
    const first = await oneInvocation(env, '{"n":1}');
    // The next export gets no answer: the invocation is held for the learned budget, then released with it in flight.
    receiver.respondWith({ kind: 'hang' }, { times: 1 });
    const second = await oneInvocation(env, '{"n":2}');
    // Lambda freezes the environment; meanwhile the collector (or a NAT) drops the connection.
    process.kill(pid, 'SIGSTOP');
    receiver.dropConnections();
    process.kill(pid, 'SIGCONT');
    const third = await oneInvocation(env, '{"n":3}');
    await env.sandbox.shutdown();
    const exported = receiver.spans.map((s) => s.attributes['faas.invocation.id']);
    for (const id of [first.id, second.id, third.id]) assert.ok(exported.includes(id), `span of ${id} delivered`);
    const final = JSON.parse(env.sandbox.output('lambda-trace-proxy').stderr.split('\n').find((l) => l.includes('"LRAP_SHUTDOWN_FLUSH"'))!) as Record<string, number>;
    assert.deepEqual([final['rejected'], final['droppedQueueFull'], final['unsent']], [0, 0, 0]);
  } finally {
    try { process.kill(pid, 'SIGCONT'); } catch { /* already gone */ }
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});
