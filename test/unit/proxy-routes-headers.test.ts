import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRoute } from '../../src/proxy/routes.ts';
import { forwardableHeaders, headerValue, replaceHeaderValue } from '../../src/proxy/headers.ts';

test('the four invocation calls are recognised, with their request id', () => {
  assert.deepEqual(classifyRoute('GET', '/2018-06-01/runtime/invocation/next'), { kind: 'next' });
  assert.deepEqual(classifyRoute('POST', '/2018-06-01/runtime/invocation/abc-123/response'), { kind: 'response', requestId: 'abc-123' });
  assert.deepEqual(classifyRoute('POST', '/2018-06-01/runtime/invocation/abc-123/error'), { kind: 'error', requestId: 'abc-123' });
  assert.deepEqual(classifyRoute('POST', '/2018-06-01/runtime/init/error'), { kind: 'init-error' });
});

test('query strings, encoded ids and other API versions are understood', () => {
  assert.deepEqual(classifyRoute('GET', '/2018-06-01/runtime/invocation/next?x=1'), { kind: 'next' });
  assert.deepEqual(classifyRoute('POST', '/2018-06-01/runtime/invocation/a%2Fb/response'), { kind: 'response', requestId: 'a/b' });
  assert.deepEqual(classifyRoute('POST', '/2099-01-01/runtime/invocation/id/response'), { kind: 'response', requestId: 'id' });
});

test('everything else is "other" and is forwarded untouched', () => {
  for (const [m, u] of [
    ['POST', '/2018-06-01/runtime/invocation/next'],
    ['GET', '/2018-06-01/runtime/invocation/id/response'],
    ['GET', '/2018-06-01/runtime/restore/next'],
    ['POST', '/2018-06-01/runtime/restore/error'],
    ['GET', '/2018-06-01/runtime/invocation/id/response/extra'],
    ['GET', '/'],
  ] as const) assert.deepEqual(classifyRoute(m, u), { kind: 'other' }, `${m} ${u}`);
});

test('hop-by-hop headers and those named in Connection are dropped; others keep case, order and repeats', () => {
  const raw = ['Host', 'h', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Lambda-Runtime-Function-Error-Type', 'Unhandled',
    'x-custom', 'a', 'X-Custom', 'b', 'Transfer-Encoding', 'chunked', 'Trailer', 'Lambda-Runtime-Function-Error-Body', 'Keep-Alive', 'timeout=5'];
  assert.deepEqual(forwardableHeaders(raw), ['Host', 'h', 'Lambda-Runtime-Function-Error-Type', 'Unhandled',
    'x-custom', 'a', 'X-Custom', 'b', 'Trailer', 'Lambda-Runtime-Function-Error-Body']);
});

test('header look-ups and replacements ignore case and keep the original name', () => {
  const raw = ['Content-Length', '10', 'lambda-runtime-trace-id', 'Root=1'];
  assert.equal(headerValue(raw, 'lambda-runtime-trace-id'), 'Root=1');
  assert.equal(replaceHeaderValue(raw, 'content-length', '12'), true);
  assert.deepEqual(raw, ['Content-Length', '12', 'lambda-runtime-trace-id', 'Root=1']);
  assert.equal(replaceHeaderValue(raw, 'x-missing', '1'), false);
});
