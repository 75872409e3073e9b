// Bad settings, as the built extension meets them in a real process: each is
// logged once (not per invocation), names its variable and what was used
// instead, never shows a secret, and tracing goes on with the fallback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { next, raw, respond, startWithProxy, type ProxiedSandbox } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const SECRET = 's3cr3t-token-4242';

async function invokeOnce(env: ProxiedSandbox, payload: string, options: { traced: boolean }): Promise<string> {
  const invoked = env.sandbox.invoke(payload);
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  await respond(env.proxy, id, Buffer.from(payload));
  const { endedAt } = await invoked;
  // Traced: back in /event/next means this invocation's flush is over. (A plain proxy is already there.)
  if (options.traced) await env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= endedAt, { timeoutMs: 10_000 });
  return id;
}

function logLines(env: ProxiedSandbox): Record<string, unknown>[] {
  return env.sandbox.output('lambda-trace-proxy').stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('each bad setting is logged once by the running extension, secrets masked, and tracing goes on with the fallbacks', async () => {
  const receiver = await OtlpReceiver.start();
  const bad: Record<string, string> = {
    LRAP_LOG_LEVEL: 'loud',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
    OTEL_EXPORTER_OTLP_TIMEOUT: 'abc',
    OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${SECRET},garbage`,
    OTEL_RESOURCE_ATTRIBUTES: 'garbage',
    OTEL_PROPAGATORS: 'b3,jaeger',
    OTEL_SDK_DISABLED: 'yes',
    OTEL_BSP_SCHEDULE_DELAY: '5000',
  };
  const env = await startWithProxy({ functionName: 'orders', env: {
    ...bad,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // Upper case, as the spec allows: this used to turn tracing off.
    OTEL_TRACES_SAMPLER: 'ALWAYS_ON',
  } });
  try {
    const ids = [await invokeOnce(env, '{"n":1}', { traced: true }), await invokeOnce(env, '{"n":2}', { traced: true })];
    const spans = await receiver.waitForSpans((s) => s.attributes['faas.invocation.id'] !== undefined, { count: 2 });
    assert.deepEqual(spans.map((s) => s.attributes['faas.invocation.id']).sort(), ids.sort(), 'tracing stayed on');
    assert.equal(spans[0]!.resource['service.name'], 'orders');
    assert.equal(spans[0]!.resource.garbage, undefined);
    const exportRequest = receiver.requests[0]!;
    assert.equal(exportRequest.headers['content-encoding'], undefined, 'zstd fell back to no compression');
    assert.equal(exportRequest.headers['x-api-key'], undefined, 'a bad OTEL_EXPORTER_OTLP_HEADERS sends none of its headers');
    await env.sandbox.shutdown();

    const lines = logLines(env);
    for (const variable of Object.keys(bad)) {
      const about = lines.filter((l) => l.variable === variable);
      assert.equal(about.length, 1, `${variable}: ${JSON.stringify(about)}`);
      const expectedCode = variable === 'LRAP_LOG_LEVEL' ? 'LRAP_LOG_LEVEL_INVALID' : variable === 'OTEL_BSP_SCHEDULE_DELAY' ? 'LRAP_SETTING_IGNORED' : 'LRAP_TRACING_CONFIG_INVALID';
      assert.equal(about[0]!.code, expectedCode, variable);
      assert.equal(about[0]!.level, 'warn');
      assert.ok(typeof about[0]!.used === 'string' && about[0]!.used !== '', `${variable} says what was used instead`);
    }
    const all = JSON.stringify(lines);
    assert.ok(!all.includes(SECRET), 'the header value is never logged');
    // The libraries' own messages reach the log, but none is about the environment: they never parse it a second time.
    const diagnostics = lines.filter((l) => l.code === 'LRAP_OTEL_DIAGNOSTIC');
    assert.deepEqual(diagnostics.filter((l) => /OTEL_|Configuration|environment/i.test(String(l.msg))), []);
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});

test('OTEL_TRACES_EXPORTER=none runs a plain proxy and says so once', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: {
    OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'None', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_LOG_LEVEL: 'info',
  } });
  try {
    await invokeOnce(env, '{"n":1}', { traced: false });
    await env.sandbox.shutdown();
    assert.equal(receiver.requests.length, 0);
    const lines = logLines(env).filter((l) => l.code === 'LRAP_TRACING_DISABLED');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'info');
  } finally {
    await env.sandbox.shutdown().catch(() => undefined);
    await receiver.close();
  }
});
