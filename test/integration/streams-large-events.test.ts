// A large event is not held whole: once tracing has read its head (the header maps, the request
// context), the runtime gets that head, spliced, and the rest as Lambda sends it. Here Lambda is a
// plain HTTP server that sends the head of a 6 MB event and sends the rest only once the runtime
// has received bytes: a proxy that held the event whole would never deliver any, and the test
// would stop at its timeout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, AlwaysOnSampler } from '@opentelemetry/sdk-trace';
import { RuntimeApiProxy } from '../../src/proxy/runtime-api-proxy.ts';
import { guardObserver } from '../../src/proxy/invocation-observer.ts';
import { InvocationTracker } from '../../src/tracing/invocation-tracker.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';
import { createLogger } from '../../src/log.ts';
import { FIXTURES } from './harness.ts';

const REQUEST_ID = 'b0b0b0b0-1111-2222-3333-444444444444';
const HEAD_BYTES = 256 * 1024;

function largeEvent(): Buffer {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'apigw-rest.json'), 'utf8')) as Record<string, unknown>;
  // `body` last, as API Gateway writes it.
  const { body: _ignored, ...rest } = fixture;
  return Buffer.from(JSON.stringify({ ...rest, body: 'b'.repeat(6 * 1024 * 1024) }));
}

describe('large events stream through', () => {
  const exporter = new InMemorySpanExporter();
  const log = createLogger('none');
  let lambda: http.Server;
  let proxy: RuntimeApiProxy;
  let proxyPort: number;
  /** Resolves when the runtime has received its first event bytes. */
  let runtimeGotBytes: () => void = () => {};
  const gotBytes = new Promise<void>((resolve) => { runtimeGotBytes = resolve; });
  /** Lambda's answers to `/next`, in order. */
  const answers: http.ServerResponse[] = [];
  let sendRest = true;
  const event = largeEvent();

  before(async () => {
    lambda = http.createServer((req, res) => {
      req.resume();
      if (req.url?.endsWith('/invocation/next')) {
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Content-Length': String(event.length),
          'Lambda-Runtime-Aws-Request-Id': REQUEST_ID,
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 60_000),
        });
        answers.push(res);
        res.write(event.subarray(0, HEAD_BYTES));
        if (sendRest) void gotBytes.then(() => res.end(event.subarray(HEAD_BYTES)));
      } else {
        res.writeHead(202, { 'Content-Type': 'application/json' });
        res.end('{"status":"OK"}');
      }
    });
    lambda.listen(0, '127.0.0.1');
    await once(lambda, 'listening');
    const port = (lambda.address() as AddressInfo).port;
    const signals = { nextRequested() {}, nextAnswered() {}, postEnded() {}, eventConnectionClosed() {} };
    proxy = new RuntimeApiProxy({ host: '127.0.0.1', port, text: `127.0.0.1:${port}` }, signals, log);
    const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    proxy.setObserver(guardObserver(new InvocationTracker({
      tracer: () => provider.getTracer('test'),
      settings: parseTracingSettings({}),
      identity: { functionName: 'fn', functionVersion: '1', region: 'us-east-1', accountId: '123456789012', memoryMb: 128 },
      log,
      processStartedAt: performance.timeOrigin,
    }), log));
    proxyPort = await proxy.listen(0);
  });

  after(async () => {
    await proxy.close(performance.now() + 1000);
    lambda.close();
  });

  test('the runtime gets the spliced head of a 6 MB event before Lambda has sent the rest', { timeout: 20_000 }, async () => {
    const req = http.get({ host: '127.0.0.1', port: proxyPort, path: '/2018-06-01/runtime/invocation/next' });
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => { chunks.push(chunk); runtimeGotBytes(); });
    await once(res, 'end');
    const delivered = Buffer.concat(chunks);
    assert.equal(Number(res.headers['content-length']), delivered.length);

    const post = http.request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: `/2018-06-01/runtime/invocation/${REQUEST_ID}/response` });
    post.end('{"statusCode":201,"body":""}');
    const [answer] = (await once(post, 'response')) as [http.IncomingMessage];
    answer.resume();
    await once(answer, 'end');

    const span = exporter.getFinishedSpans().find((s) => s.attributes['faas.invocation.id'] === REQUEST_ID);
    assert.ok(span, 'the invocation has its span');
    assert.equal(span.attributes['faas.trigger'], 'http');
    assert.equal(span.attributes['http.response.status_code'], 201);
    const traceparent = `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
    const expected = Buffer.from(event.toString('latin1')
      .replace(/"traceparent":"[^"]*"/g, `"traceparent":"${traceparent}"`)
      .replace(/"traceparent":\["[^"]*"\]/g, `"traceparent":["${traceparent}"]`), 'latin1');
    assert.ok(delivered.equals(expected), 'only the traceparent values changed');
    assert.ok(Number.isInteger(span.attributes['lambda_trace_proxy.added.next_us']), 'whole µs');
    assert.ok(Number.isInteger(span.attributes['lambda_trace_proxy.added.result_us']), 'whole µs');
  });

  test('stops reading Lambda\'s event when the runtime goes away in the middle of it', { timeout: 20_000 }, async () => {
    sendRest = false;
    const req = http.get({ host: '127.0.0.1', port: proxyPort, path: '/2018-06-01/runtime/invocation/next' });
    req.on('error', () => {});
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    res.on('error', () => {});
    await once(res, 'data');
    const upstream = answers[answers.length - 1]!;
    const upstreamClosed = once(upstream, 'close');
    req.destroy();
    await upstreamClosed;
    assert.equal(upstream.writableFinished, false, 'Lambda had not sent the rest');
  });
});
