// One span per invocation, as the OpenTelemetry FaaS conventions describe it,
// decoded from what the exporter really sent; the trace context the function
// receives points at that very span.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, RUNTIME, next, raw, request, respond, startWithProxy, type ProxiedSandbox, type RawResponse } from './harness.ts';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';

const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

function extensionBackInNext(env: ProxiedSandbox, after: number) {
  return env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= after, { timeoutMs: 10_000 });
}

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  describe(`exported over ${protocol}`, () => {
    let env: ProxiedSandbox;
    let receiver: OtlpReceiver;
    before(async () => {
      receiver = await OtlpReceiver.start();
      env = await startWithProxy({
        functionName: 'orders',
        env: {
          OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=payments', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20key',
          // Every span before its freeze, however many invocations this suite makes
          // (the default, adaptive, stops that once traffic is steady: exports-spans.test.ts).
          LRAP_FLUSH: 'end',
        },
      });
    });
    after(async () => {
      await env.sandbox.shutdown();
      await receiver.close();
    });

    /** Runs one invocation; `answer` decides what the runtime posts. */
    async function invoke(event: Buffer, answer: (got: RawResponse, id: string) => Promise<RawResponse> = (g, id) => respond(env.proxy, id, Buffer.from('{"statusCode":200}')), traceId?: string) {
      const invoked = env.sandbox.invoke(event, traceId ? { traceId } : {});
      const got = await next(env.proxy);
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      await answer(got, id);
      const result = await invoked;
      // The span must be out before the extension asks for its next event: from then on Lambda may freeze us.
      await extensionBackInNext(env, result.endedAt);
      const span = receiver.spans.find((s) => s.attributes['faas.invocation.id'] === id);
      return { got, id, result, span };
    }

    test('exports the span before the environment can freeze, with FaaS attributes and the resource', async () => {
      const { id, span } = await invoke(fixture('direct.json'));
      assert.ok(span, 'span exported before the freeze');
      assert.equal(span.name, 'orders');
      assert.equal(span.kind, 'SERVER');
      assert.equal(span.attributes['faas.trigger'], 'other');
      assert.equal(span.attributes['faas.invocation.id'], id);
      assert.equal(span.attributes['faas.coldstart'], true);
      assert.equal(span.attributes['cloud.resource_id'], 'arn:aws:lambda:us-east-1:123456789012:function:orders');
      assert.equal(span.status.code, 'UNSET');
      assert.equal(span.resource['service.name'], 'orders');
      assert.equal(span.resource['cloud.provider'], 'aws');
      assert.equal(span.resource['cloud.platform'], 'aws_lambda');
      assert.equal(span.resource['cloud.region'], 'us-east-1');
      assert.equal(span.resource['faas.name'], 'orders');
      assert.equal(span.resource['faas.max_memory'], 128n * 1024n * 1024n);
      assert.equal(span.resource['deployment.environment.name'], 'test');
      assert.ok(span.endTimeUnixNano > span.startTimeUnixNano);
      const request = receiver.requests.at(-1)!;
      assert.equal(request.headers['x-api-key'], 'secret key');
      assert.equal(request.headers['content-type'], protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
      const init = receiver.spans.find((s) => s.name === 'orders init');
      assert.ok(init, 'the cold start\'s init phase is a span');
      assert.equal(init.parentSpanId, span.spanId);
      assert.equal(init.traceId, span.traceId);
    });

    test('marks only the first invocation of the environment as a cold start', async () => {
      const { span } = await invoke(fixture('direct.json'));
      assert.equal(span?.attributes['faas.coldstart'], false);
    });

    test('joins the caller\'s traceparent and hands the function a traceparent of the exported span', async () => {
      const event = fixture('apigw-rest.json');
      const parsed = JSON.parse(event.toString()) as { headers: Record<string, string>; httpMethod: string };
      const incoming = parsed.headers.traceparent!;
      const { got, span } = await invoke(event);
      assert.ok(span);
      const [, traceId, parentId] = incoming.split('-');
      assert.equal(span.traceId, traceId);
      assert.equal(span.parentSpanId, parentId);
      assert.equal(span.kind, 'SERVER');
      assert.equal(span.attributes['faas.trigger'], 'http');
      assert.equal(span.attributes['http.request.method'], parsed.httpMethod);
      assert.equal(span.attributes['http.response.status_code'], 200n);
      const delivered = JSON.parse(got.body.toString()) as { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> };
      const expected = `00-${span.traceId}-${span.spanId}-01`;
      assert.equal(delivered.headers.traceparent, expected);
      assert.deepEqual(delivered.multiValueHeaders.traceparent, [expected]);
      assert.equal(raw(got.rawHeaders, 'content-length'), String(got.body.length));
    });

    test('injects into a 6 MB API Gateway event and changes nothing else in it', async () => {
      const original = JSON.parse(fixture('apigw-rest.json').toString()) as { body: string };
      const big = Buffer.from(JSON.stringify({ ...original, body: 'b'.repeat(6 * 1024 * 1024 - 4096) }));
      const { got, span } = await invoke(big);
      assert.ok(span);
      assert.equal(Number(raw(got.rawHeaders, 'content-length')), got.body.length);
      const delivered = JSON.parse(got.body.toString()) as { headers: Record<string, string>; body: string };
      assert.equal(delivered.headers.traceparent, `00-${span.traceId}-${span.spanId}-01`);
      const expected = Buffer.from(JSON.stringify({ ...original, body: 'b'.repeat(6 * 1024 * 1024 - 4096) })
        .replace(/"traceparent":"[^"]*"/g, `"traceparent":"00-${span.traceId}-${span.spanId}-01"`)
        .replace(/"traceparent":\["[^"]*"\]/g, `"traceparent":["00-${span.traceId}-${span.spanId}-01"]`));
      assert.ok(got.body.equals(expected), 'only the traceparent values changed');
    });

    test('joins an X-Ray header from the event and points Lambda-Runtime-Trace-Id at our span', async () => {
      const event = fixture('apigw-rest-xray.json');
      const xray = (JSON.parse(event.toString()) as { headers: Record<string, string> }).headers['X-Amzn-Trace-Id']!;
      const root = /Root=1-([0-9a-f]{8})-([0-9a-f]{24})/.exec(xray)!;
      const parent = /Parent=([0-9a-f]{16})/.exec(xray)![1];
      const { got, span } = await invoke(event, undefined, xray);
      assert.ok(span);
      assert.equal(span.traceId, root[1]! + root[2]!);
      assert.equal(span.parentSpanId, parent);
      assert.equal(raw(got.rawHeaders, 'lambda-runtime-trace-id'), xray.replace(/Parent=[0-9a-f]{16}/, `Parent=${span.spanId}`));
    });

    test('an unsampled caller means no span, but the function still gets the decision', async () => {
      const event = Buffer.from(fixture('apigw-http.json').toString().replace(/"traceparent":\s*"00-([0-9a-f]{32})-([0-9a-f]{16})-01"/, '"traceparent": "00-$1-$2-00"'));
      assert.ok(event.toString().includes('-00"'));
      const before = receiver.spans.length;
      const { got, span } = await invoke(event);
      assert.equal(span, undefined);
      assert.equal(receiver.spans.length, before);
      const delivered = JSON.parse(got.body.toString()) as { headers: Record<string, string> };
      assert.match(delivered.headers.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    });

    test('an SQS batch is one CONSUMER span with a link per record', async () => {
      const { got, span } = await invoke(fixture('sqs.json'));
      assert.ok(span);
      assert.ok(got.body.equals(fixture('sqs.json')), 'a non-HTTP event is not changed');
      assert.equal(span.kind, 'CONSUMER');
      assert.equal(span.attributes['messaging.system'], 'aws_sqs');
      assert.equal(span.links.length, 2);
      assert.deepEqual(span.links.map((l) => l.traceId), ['684adf508e2c4a6b0d1f3e5a7c9b1d3f', span.links[1]!.traceId]);
    });

    test('a function error is an ERROR span with the type and stack from the body', async () => {
      const shapes: [string, string, string][] = [
        ['{"errorType":"OrderError","errorMessage":"no stock","trace":["OrderError: no stock","    at handler (/var/task/index.mjs:3:9)"]}', 'OrderError', 'at handler'],
        ['{"errorMessage":"bad input","errorType":"ValueError","requestId":"x","stackTrace":["  File \\"/var/task/h.py\\", line 2\\n"]}', 'ValueError', 'h.py'],
        ['{"errorMessage":"boom","errorType":"errorString","stackTrace":[{"path":"main.go","line":12,"label":"handler"}]}', 'errorString', 'main.go'],
      ];
      for (const [body, type, stackPart] of shapes) {
        const { span } = await invoke(Buffer.from('{}'), (g, id) => request(env.proxy, { method: 'POST', path: `${RUNTIME}/invocation/${id}/error`, body: Buffer.from(body) }));
        assert.ok(span);
        assert.equal(span.status.code, 'ERROR');
        assert.equal(span.attributes['error.type'], type);
        const exception = span.events.find((e) => e.name === 'exception');
        assert.equal(exception?.attributes['exception.type'], type);
        assert.match(String(exception?.attributes['exception.stacktrace']), new RegExp(stackPart));
      }
    });

    test('a 5xx statusCode in an HTTP response and a 413 from Lambda are errors', async () => {
      const { span: http500 } = await invoke(fixture('function-url.json'), (g, id) => respond(env.proxy, id, Buffer.from('{"statusCode":503,"body":"{\\"statusCode\\":200}"}')));
      assert.equal(http500?.status.code, 'ERROR');
      assert.equal(http500?.attributes['http.response.status_code'], 503n);
      const { span: tooBig } = await invoke(Buffer.from('{}'), (g, id) => respond(env.proxy, id, Buffer.alloc(6291557, 'a')));
      assert.equal(tooBig?.status.code, 'ERROR');
      assert.equal(tooBig?.attributes['error.type'], 'RequestEntityTooLarge');
    });
  });
}

test('a timed-out invocation still produces its span, as an error', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ timeoutMs: 500, env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
  try {
    const invoked = env.sandbox.invoke('{"slow":true}');
    const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
    assert.equal((await invoked).outcome, 'timeout');
    const span: ReceivedSpan = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 5000 });
    assert.equal(span.status.code, 'ERROR');
    assert.equal(span.attributes['error.type'], 'timeout');
  } finally {
    await env.sandbox.shutdown();
    await receiver.close();
  }
});
