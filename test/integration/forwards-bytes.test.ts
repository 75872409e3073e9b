// The proxy changes nothing it does not mean to change: bodies, headers and
// status codes reach the other side byte for byte, with tracing off and on.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FIXTURES, RUNTIME, endToEndHeaders, next, raw, request, respond, startWithProxy, type ProxiedSandbox } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const directJson = readFileSync(path.join(FIXTURES, 'direct.json'));
const notJson = readFileSync(path.join(FIXTURES, 'not-json.txt'));
const sixMiB = Buffer.alloc(6 * 1024 * 1024, 'x');
const limit = Buffer.alloc(6291556, 'y');

for (const tracing of [false, true]) {
  describe(`with tracing ${tracing ? 'on' : 'off'}`, () => {
    let env: ProxiedSandbox;
    let receiver: OtlpReceiver | undefined;
    before(async () => {
      receiver = tracing ? await OtlpReceiver.start() : undefined;
      env = await startWithProxy({
        env: receiver ? { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } : {},
      });
    });
    after(async () => {
      await env.sandbox.shutdown();
      await receiver?.close();
    });

    /** One invocation: the runtime (us) takes the event through the proxy and answers with `answer`. */
    async function roundTrip(event: Buffer, answer: Buffer, answerHeaders: string[] = []) {
      const invoked = env.sandbox.invoke(event);
      const got = await next(env.proxy);
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      const posted = await respond(env.proxy, id, answer, answerHeaders);
      return { got, posted, result: await invoked };
    }

    test('keeps a JSON event with big integers and odd formatting byte for byte, and the response too', async () => {
      const { got, posted, result } = await roundTrip(directJson, directJson);
      assert.ok(got.body.equals(directJson));
      assert.equal(posted.status, 202);
      assert.ok(result.body.equals(directJson));
    });

    test('keeps non-JSON, binary and empty bodies byte for byte', async () => {
      const binary = randomBytes(64 * 1024);
      for (const [event, answer] of [[notJson, binary], [binary, Buffer.alloc(0)], [Buffer.alloc(0), notJson]] as const) {
        const { got, result } = await roundTrip(event, answer);
        assert.ok(got.body.equals(event), 'event');
        assert.ok(result.body.equals(answer), 'response');
      }
    });

    test('carries 6 MB bodies both ways, and Lambda\'s 413 with its body beyond 6291556 bytes', async () => {
      const { got, result } = await roundTrip(sixMiB, limit);
      assert.ok(got.body.equals(sixMiB));
      assert.equal(result.status, 202);
      assert.ok(result.body.equals(limit));

      const invoked = env.sandbox.invoke('{}');
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      const tooBig = await respond(env.proxy, id, Buffer.alloc(6291557, 'z'));
      assert.equal(tooBig.status, 413);
      assert.deepEqual(JSON.parse(tooBig.body.toString()), {
        errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).', errorType: 'RequestEntityTooLarge',
      });
      assert.equal((await invoked).status, 413);
    });

    test('carries random 6 MB events and responses, one invocation after another, byte for byte', async () => {
      // Relayed chunks are freed as soon as they are written on and their memory reused at once:
      // bytes that differ everywhere show a chunk read after it was freed, or an answer's socket
      // reads freed for the next answer on the same kept-alive connection.
      for (let i = 0; i < 3; i++) {
        const event = randomBytes(6 * 1024 * 1024);
        const answer = randomBytes(6 * 1024 * 1024);
        const { got, result } = await roundTrip(event, answer);
        assert.ok(got.body.equals(event), `event ${i}`);
        assert.equal(result.status, 202);
        assert.ok(result.body.equals(answer), `response ${i}`);
      }
    });

    test('forwards every request and response header, in order and case, both ways', async () => {
      const invoked = env.sandbox.invoke('{"a":1}', { extraHeaders: [['X-Upstream-Custom', 'up value'], ['lambda-runtime-future-thing', 'v2']], clientContext: '{"c":1}' });
      const got = await next(env.proxy);
      const upstreamAnswer = env.sandbox.requests.filter((r) => r.url.endsWith('/invocation/next')).at(-1)!;
      assert.equal(raw(got.rawHeaders, 'X-Upstream-Custom'), 'up value');
      assert.equal(raw(got.rawHeaders, 'lambda-runtime-future-thing'), 'v2');
      assert.equal(raw(got.rawHeaders, 'Lambda-Runtime-Client-Context'), '{"c":1}');
      assert.ok(upstreamAnswer, 'sandbox recorded the /next');
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      const sent = ['Content-Type', 'application/octet-stream', 'X-Custom', 'one', 'x-custom', 'two',
        'Lambda-Runtime-Function-XRay-Error-Cause', '{"working_directory":"/var/task"}', 'User-Agent', 'test-runtime/1'];
      await respond(env.proxy, id, Buffer.from('ok'), sent);
      const result = await invoked;
      assert.deepEqual(endToEndHeaders(result.requestHeaders), sent);
    });

    test('relays error posts with their error-type header and body unchanged', async () => {
      const invoked = env.sandbox.invoke('{}');
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      const body = Buffer.from('{"errorMessage":"boom","errorType":"OrderError","stackTrace":["at x (/var/task/i.js:1:1)"]}');
      const headers = ['Lambda-Runtime-Function-Error-Type', 'Unhandled', 'Content-Type', 'application/vnd.aws.lambda.error+json'];
      const posted = await request(env.proxy, { method: 'POST', path: `${RUNTIME}/invocation/${id}/error`, headers, body });
      assert.equal(posted.status, 202);
      const result = await invoked;
      assert.equal(result.outcome, 'error');
      assert.ok(result.body.equals(body));
      assert.deepEqual(endToEndHeaders(result.requestHeaders), headers);
    });

    test('passes a 500 from /next through with its body, and serves the next call normally', async () => {
      env.sandbox.failNextOnce(500, '{"errorMessage":"container error","errorType":"ServiceException"}', ['X-Fault', 'yes']);
      const failed = await next(env.proxy);
      assert.equal(failed.status, 500);
      assert.equal(failed.body.toString(), '{"errorMessage":"container error","errorType":"ServiceException"}');
      assert.equal(raw(failed.rawHeaders, 'x-fault'), 'yes');
      const { posted } = await roundTrip(Buffer.from('{}'), Buffer.from('"fine"'));
      assert.equal(posted.status, 202);
    });

    test('forwards paths it does not know, with method, query and status, to the real API', async () => {
      const res = await request(env.proxy, { method: 'PUT', path: '/2018-06-01/runtime/some/future/endpoint?x=1&y=%20', headers: ['X-Q', '1'], body: Buffer.from('hi') });
      assert.equal(res.status, 404);
      const seen = env.sandbox.requests.findLast((r) => r.url.includes('/some/future/endpoint'))!;
      assert.equal(seen.method, 'PUT');
      assert.equal(seen.url, '/2018-06-01/runtime/some/future/endpoint?x=1&y=%20');
      assert.equal(seen.body.toString(), 'hi');
      assert.equal(raw(seen.rawHeaders, 'x-q'), '1');
    });

    test('forwards /init/error with its headers and body, and relays Lambda\'s answer', async () => {
      const body = Buffer.from('{"errorMessage":"no handler","errorType":"Runtime.HandlerNotFound"}');
      const res = await request(env.proxy, { method: 'POST', path: `${RUNTIME}/init/error`, headers: ['Lambda-Runtime-Function-Error-Type', 'Runtime.HandlerNotFound'], body });
      const seen = await env.sandbox.waitForRequest((r) => r.url.endsWith('/runtime/init/error') && r.status !== null);
      // After Init, Lambda refuses an init error (403): what matters is that its answer comes back as is.
      assert.equal(res.status, seen.status);
      assert.ok(seen.body.equals(body));
      assert.equal(raw(seen.rawHeaders, 'Lambda-Runtime-Function-Error-Type'), 'Runtime.HandlerNotFound');
    });
  });
}
