import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SpanStatusCode } from '@opentelemetry/api';
import { trackerUnderTest } from '../support/tracker-under-test.ts';
import type { InvocationResult } from '../../src/proxy/invocation-observer.ts';

function setUp() {
  let runtimeStarts = 0;
  const { tracker, exporter } = trackerUnderTest({ onRuntimeStarted: () => { runtimeStarts++; } });
  const start = (requestId: string, body = '{}') => tracker.onInvocationEvent({
    requestId, body: Buffer.from(body), totalBytes: Buffer.byteLength(body), receivedAt: performance.now(),
    headers: { 'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:fn:live' },
  });
  const end = (requestId: string, extra: Partial<InvocationResult> = {}) => tracker.onInvocationResult({
    requestId, kind: 'response', upstreamStatus: 202, upstreamBody: undefined, requestHeaders: [],
    bodyBytes: 0, addedMs: undefined, trailers: [], failure: undefined, ...extra,
  });
  const spans = () => exporter.getFinishedSpans().filter((s) => s.name === 'fn' || s.attributes['faas.invocation.id']);
  return { tracker, start, end, spans, runtimeStarts: () => runtimeStarts, exporter };
}

test('each request id gets its own span, whatever order the results come in', () => {
  const { start, end, spans } = setUp();
  for (const id of ['a', 'b', 'c']) start(id);
  for (const id of ['c', 'a', 'b']) end(id);
  assert.deepEqual(spans().map((s) => s.attributes['faas.invocation.id']), ['c', 'a', 'b']);
  assert.deepEqual(spans().map((s) => s.attributes['faas.coldstart']), [false, true, false]);
});

test('cloud.resource_id names the version that ran, not the alias it was invoked by', () => {
  const { start, end, spans } = setUp();
  start('a');
  end('a');
  assert.equal(spans()[0]?.attributes['cloud.resource_id'], 'arn:aws:lambda:us-east-1:123456789012:function:fn:3');
  assert.equal(spans()[0]?.attributes['aws.lambda.invoked_arn'], 'arn:aws:lambda:us-east-1:123456789012:function:fn:live');
});

test('the init phase is recorded once, as a child of the cold-start span', () => {
  const { tracker, start, end, exporter, runtimeStarts } = setUp();
  tracker.onNextRequest(performance.now());
  assert.equal(runtimeStarts(), 1, 'the runtime\'s first /next says it has started');
  start('a');
  start('b');
  end('a');
  end('b');
  const init = exporter.getFinishedSpans().filter((s) => s.name === 'fn init');
  assert.equal(init.length, 1);
  tracker.onNextRequest(performance.now());
  assert.equal(runtimeStarts(), 1, 'and only the first');
});

test('an invocation the lifecycle gave up on ends as a timeout, and a retried id gets a fresh span', () => {
  const { tracker, start, end, spans } = setUp();
  start('a');
  tracker.endAbandoned('a');
  assert.equal(spans().length, 1);
  assert.equal(spans()[0]?.attributes['error.type'], 'timeout');
  start('b');
  start('b'); // Lambda hands the same id out again: the first attempt is over.
  end('b');
  assert.equal(spans().length, 3);
  assert.equal(spans()[1]?.attributes['error.type'], 'timeout');
  assert.equal(spans()[2]?.status.code, SpanStatusCode.UNSET);
});

test('invocations still open at SHUTDOWN end as errors with the reason', () => {
  const { tracker, start, spans } = setUp();
  start('a');
  tracker.endAllOpen('timeout');
  assert.equal(spans()[0]?.status.code, SpanStatusCode.ERROR);
  assert.equal(spans()[0]?.attributes['error.type'], 'timeout');
  assert.match(spans()[0]?.status.message ?? '', /timeout/);
});

test('a proxy failure and a refused post are errors with what went wrong', () => {
  const { start, end, spans } = setUp();
  start('a');
  end('a', { upstreamStatus: undefined, failure: 'POST … failed: ECONNREFUSED' });
  start('b');
  end('b', { upstreamStatus: 413, upstreamBody: Buffer.from('{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}') });
  assert.equal(spans()[0]?.attributes['error.type'], 'Extension.ProxyFailure');
  assert.equal(spans()[1]?.attributes['error.type'], 'RequestEntityTooLarge');
  assert.match(spans()[1]?.status.message ?? '', /6291556/);
});

test('a streamed response that failed midway is an error from its trailers', () => {
  const { start, end, spans } = setUp();
  start('a');
  const body = Buffer.from('{"errorType":"Disk","errorMessage":"gone"}').toString('base64');
  end('a', { trailers: ['Lambda-Runtime-Function-Error-Type', 'Disk', 'Lambda-Runtime-Function-Error-Body', body] });
  assert.equal(spans()[0]?.status.code, SpanStatusCode.ERROR);
  assert.equal(spans()[0]?.events[0]?.attributes?.['exception.message'], 'gone');
});

test('a failed init is an error span of its own', () => {
  const { tracker, exporter } = setUp();
  tracker.bodyReader(undefined, 'init-error')?.push(Buffer.from('{"errorMessage":"index.nope is undefined","errorType":"Runtime.HandlerNotFound"}'));
  tracker.onInitError(['Lambda-Runtime-Function-Error-Type', 'Runtime.HandlerNotFound']);
  const init = exporter.getFinishedSpans().find((s) => s.name === 'fn init');
  assert.equal(init?.status.code, SpanStatusCode.ERROR);
  assert.equal(init?.attributes['error.type'], 'Runtime.HandlerNotFound');
});
