// Chunked and streamed posts go through chunk by chunk, as they are written,
// with their trailers: Lambda's response streaming and aws-lambda-go's chunked
// posts both depend on it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RUNTIME, next, raw, request, startWithProxy, type ProxiedSandbox } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

let env: ProxiedSandbox;
let receiver: OtlpReceiver;
before(async () => {
  receiver = await OtlpReceiver.start();
  env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
});
after(async () => {
  await env.sandbox.shutdown();
  await receiver.close();
});

const STREAM_HEADERS = ['Lambda-Runtime-Function-Response-Mode', 'streaming', 'Content-Type', 'application/octet-stream',
  'Trailer', 'Lambda-Runtime-Function-Error-Type', 'Trailer', 'Lambda-Runtime-Function-Error-Body'];

async function startInvocation() {
  const invoked = env.sandbox.invoke('{"stream":true}');
  const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
  return { invoked, id };
}

test('each chunk of a streamed response reaches Lambda before the next one is written', async () => {
  const { invoked, id } = await startInvocation();
  const chunks = ['first ', 'second ', 'third ', 'fourth ', 'fifth'].map((s) => Buffer.from(s));
  const arrived: number[] = [];
  const posted = await request(env.proxy, {
    method: 'POST', path: `${RUNTIME}/invocation/${id}/response`, headers: STREAM_HEADERS, body: chunks,
    // Wait until the sandbox has the bytes written so far before writing more.
    betweenChunks: async (i) => {
      const written = Buffer.concat(chunks.slice(0, i + 1)).length;
      const req = await env.sandbox.waitForRequest((r) => r.url.includes(`/${id}/response`) && r.chunks.reduce((n, c) => n + c.bytes.length, 0) >= written, { timeoutMs: 5000 })
        .catch(() => undefined);
      arrived.push(req ? 1 : 0);
    },
  });
  assert.equal(posted.status, 202);
  assert.deepEqual(arrived, [1, 1, 1, 1, 1], 'every chunk reached Lambda while the stream was still open');
  const result = await invoked;
  assert.equal(result.streamed, true);
  assert.equal(result.body.toString(), 'first second third fourth fifth');
  assert.ok((result.chunks?.length ?? 0) >= 5, `chunks arrived separately (${result.chunks?.length})`);
});

test('a mid-stream failure arrives with its error trailers', async () => {
  const { invoked, id } = await startInvocation();
  const errorBody = Buffer.from('{"errorType":"StreamBroke","errorMessage":"disk gone"}').toString('base64');
  const posted = await request(env.proxy, {
    method: 'POST', path: `${RUNTIME}/invocation/${id}/response`, headers: STREAM_HEADERS,
    body: [Buffer.from('partial')], trailers: [['Lambda-Runtime-Function-Error-Type', 'StreamBroke'], ['Lambda-Runtime-Function-Error-Body', errorBody]],
  });
  assert.equal(posted.status, 202);
  const result = await invoked;
  assert.equal(result.body.toString(), 'partial');
  assert.equal(raw(result.trailers, 'lambda-runtime-function-error-type'), 'StreamBroke');
  assert.equal(raw(result.trailers, 'lambda-runtime-function-error-body'), errorBody);
  assert.equal(result.outcome, 'error');
});

test('a chunked response that announces trailers and sends none (as aws-lambda-go does) is delivered whole', async () => {
  const { invoked, id } = await startInvocation();
  const posted = await request(env.proxy, {
    method: 'POST', path: `${RUNTIME}/invocation/${id}/response`,
    headers: ['Trailer', 'Lambda-Runtime-Function-Error-Body,Lambda-Runtime-Function-Error-Type', 'Content-Type', 'application/json'],
    body: [Buffer.from('{"ok":'), Buffer.from('true}')],
  });
  assert.equal(posted.status, 202);
  const result = await invoked;
  assert.equal(result.outcome, 'response');
  assert.equal(result.body.toString(), '{"ok":true}');
  assert.equal(raw(result.requestHeaders, 'transfer-encoding'), 'chunked');
  assert.deepEqual(result.trailers, []);
});
