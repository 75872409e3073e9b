// At debug level, with marker strings in everything an extension sees and must
// keep to itself (the event and its context, the response, the error's cause,
// message and stack, stream error trailers, OTLP headers, the AWS credentials
// it signs exports with), no log line of the extension contains any of them,
// on the happy path and on the failure paths (collector refusing, Lambda's API
// cut mid-call). Every line is one JSON object.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RUNTIME, freePort, next, raw, request, respond, startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { FaultRelay } from '../fuzz/fault-relay.ts';

// The sandbox gives every process these credentials (test/sandbox/environment.ts).
const CREDENTIALS = ['ASIASANDBOXEXAMPLE00', 'sandbox/secret/access/key/EXAMPLEKEY00', 'sandbox-session-token'];
const M = {
  event: 'MARKER-EVENT-7f3a', eventHeader: 'MARKER-EVENT-HEADER-91c2', clientContext: 'MARKER-CLIENT-CONTEXT-55d0', cognito: 'MARKER-COGNITO-2b8e',
  response: 'MARKER-RESPONSE-c4e1', cause: 'MARKER-CAUSE-0a9d', errorMessage: 'MARKER-ERROR-MESSAGE-e6b3', stack: 'MARKER-STACK-3d71',
  trailer: 'MARKER-TRAILER-8c4f', otlpHeader: 'MARKER-OTLP-HEADER-1e5b', otlpKey: 'MARKER-OTLP-KEY-6f2a',
};
const SECRETS = [...Object.values(M), ...CREDENTIALS, Buffer.from(`{"errorMessage":"${M.trailer}"}`).toString('base64')];
const TRACING = {
  OTEL_SDK_DISABLED: 'false', LRAP_LOG_LEVEL: 'debug', OTEL_LOG_LEVEL: 'debug',
  OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${M.otlpHeader},x-api-key=${M.otlpKey}`,
  LRAP_XRAY_SIGV4: 'true', // signs every export with the credentials above
};

const envs: ProxiedSandbox[] = [];
const receivers: OtlpReceiver[] = [];
after(async () => {
  for (const e of envs) await e.sandbox.shutdown().catch(() => undefined);
  for (const r of receivers) await r.close();
});

/** Every kind of invocation, each carrying the markers where a function would put its data. */
async function invokeWithMarkers(env: ProxiedSandbox): Promise<void> {
  const event = JSON.stringify({
    version: '2.0', routeKey: 'POST /orders', rawPath: '/orders', requestContext: { http: { method: 'POST' } },
    headers: { 'x-api-key': M.eventHeader, 'content-type': 'application/json' }, body: M.event,
  });
  const options = { clientContext: Buffer.from(JSON.stringify({ custom: { secret: M.clientContext } })).toString('base64'), cognitoIdentity: JSON.stringify({ identity_id: M.cognito }) };

  const plain = env.sandbox.invoke(event, options);
  let id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
  await respond(env.proxy, id, Buffer.from(JSON.stringify({ statusCode: 200, body: M.response })));
  await plain;

  const failed = env.sandbox.invoke(event, options);
  id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
  const cause = JSON.stringify({ working_directory: '/var/task', exceptions: [{ type: 'OrderError', message: M.cause, stack: [{ path: M.stack, line: 1, label: 'f' }] }], paths: [] });
  await request(env.proxy, {
    method: 'POST', path: `${RUNTIME}/invocation/${id}/error`,
    headers: ['Content-Type', 'application/json', 'Lambda-Runtime-Function-XRay-Error-Cause', cause],
    body: Buffer.from(JSON.stringify({ errorType: 'OrderError', errorMessage: M.errorMessage, stackTrace: [`at ${M.stack}`] })),
  });
  await failed;

  const streamed = env.sandbox.invoke(event, options);
  id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
  await request(env.proxy, {
    method: 'POST', path: `${RUNTIME}/invocation/${id}/response`,
    headers: ['Lambda-Runtime-Function-Response-Mode', 'streaming', 'Trailer', 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body'],
    body: [Buffer.from(M.response), Buffer.from(M.response)],
    trailers: [['Lambda-Runtime-Function-Error-Type', 'Runtime.StreamError'], ['Lambda-Runtime-Function-Error-Body', Buffer.from(`{"errorMessage":"${M.trailer}"}`).toString('base64')]],
  });
  await streamed;
}

function checkLogs(env: ProxiedSandbox): number {
  const out = env.sandbox.output('lambda-trace-proxy');
  const lines = `${out.stdout}\n${out.stderr}`.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines) {
    assert.doesNotThrow(() => JSON.parse(line), `not one JSON object: ${line.slice(0, 200)}`);
    for (const secret of SECRETS) assert.ok(!line.includes(secret), `a log line holds ${secret}: ${line.slice(0, 300)}`);
  }
  return lines.length;
}

describe('logs never hold payloads, causes, OTLP headers or credentials, at debug level', () => {
  test('with a working collector', async () => {
    const receiver = await OtlpReceiver.start();
    receivers.push(receiver);
    const env = await startWithProxy({ env: { ...TRACING, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    envs.push(env);
    await invokeWithMarkers(env);
    await receiver.waitForSpan((s) => s.status.code === 'ERROR', { timeoutMs: 5000 });
    await env.sandbox.shutdown();
    const lines = checkLogs(env);
    assert.ok(lines > 3, `debug logging was on (${lines} lines)`);
  });

  test('with a collector that refuses and Lambda\'s API cut in the middle of a post', async () => {
    const relay = new FaultRelay();
    const relayPort = await relay.start();
    const deadCollector = `http://127.0.0.1:${await freePort()}`;
    const env = await startWithProxy({ env: { ...TRACING, OTEL_EXPORTER_OTLP_ENDPOINT: deadCollector, LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${relayPort}` } })
      .catch(async (err: unknown) => { await relay.stop(); throw err; });
    envs.push(env);
    relay.relayTo(env.sandbox.address);
    try {
      await invokeWithMarkers(env);
      const cut = env.sandbox.invoke(JSON.stringify({ body: M.event }));
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      const fired = relay.arm('response', 'mid-request');
      const failed = await respond(env.proxy, id, Buffer.from(M.response));
      await fired;
      assert.equal(failed.status, 502);
      await respond(env.proxy, id, Buffer.from(M.response));
      await cut;
      await env.sandbox.shutdown();
    } finally {
      await relay.stop();
    }
    const lines = checkLogs(env);
    const out = env.sandbox.output('lambda-trace-proxy');
    assert.match(`${out.stdout}${out.stderr}`, /LRAP_UPSTREAM_UNREACHABLE/, 'the failure path logged');
    assert.ok(lines > 3);
  });
});
