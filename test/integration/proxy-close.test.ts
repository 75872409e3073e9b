// Closing the proxy at SHUTDOWN: `/next` long polls (which Lambda will never answer now) are cut at
// once, posts still on their way to Lambda are waited for, and exchanges that ended before, in any
// order, are no longer counted. Lambda is a loopback server that holds what the test tells it to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RuntimeApiProxy } from '../../src/proxy/runtime-api-proxy.ts';
import type { RuntimeSignals } from '../../src/proxy/invocation-observer.ts';
import { createLogger } from '../../src/log.ts';

const NEXT = '/2018-06-01/runtime/invocation/next';
const post = (id: string) => `/2018-06-01/runtime/invocation/${id}/response`;
const SIGNALS: RuntimeSignals = { nextRequested() {}, nextAnswered() {}, postEnded() {}, eventConnectionClosed() {} };

interface Answer { readonly status: number; readonly body: string }

/** One call on a connection of its own; resolves with the answer, or the connection's error. */
function call(port: number, method: string, path: string, body?: string): Promise<Answer | Error> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end(body);
  });
}

test('close() cuts /next long polls at once and resolves only once the posts in flight have reached Lambda', { timeout: 20_000 }, async () => {
  // Lambda: /next never answers; a post answers 202 when the test releases its id.
  const held = new Map<string, () => void>();
  const arrived: string[] = [];
  const lambda = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrived.push(`${req.method} ${req.url}`);
      lambda.emit('arrived');
      if (req.url === NEXT) return;
      const id = req.url!.split('/')[4]!;
      held.set(id, () => res.writeHead(202).end(`took ${id}`));
      lambda.emit('held', id);
    });
  });
  lambda.listen(0, '127.0.0.1');
  await once(lambda, 'listening');
  const upstreamPort = (lambda.address() as AddressInfo).port;
  const proxy = new RuntimeApiProxy({ host: '127.0.0.1', port: upstreamPort, text: `127.0.0.1:${upstreamPort}` }, SIGNALS, createLogger('error', () => {}));
  const port = await proxy.listen(0);
  try {
    const until = (id: string) => new Promise<void>((resolve) => {
      if (held.has(id)) return resolve();
      const onHeld = (got: string) => { if (got === id) { lambda.off('held', onHeld); resolve(); } };
      lambda.on('held', onHeld);
    });
    const untilPolls = async (n: number) => {
      while (arrived.filter((a) => a === `GET ${NEXT}`).length < n) await once(lambda, 'arrived');
    };
    // In flight, oldest first: a long poll, three posts, a long poll.
    const poll1 = call(port, 'GET', NEXT);
    await untilPolls(1);
    const first = call(port, 'POST', post('a'), 'A');
    await until('a');
    const second = call(port, 'POST', post('b'), 'B');
    await until('b');
    const third = call(port, 'POST', post('c'), 'C');
    await until('c');
    const poll2 = call(port, 'GET', NEXT);
    await untilPolls(2);
    // Two posts from the middle end before close, the newer one first: neither is waited for.
    held.get('c')!();
    assert.deepEqual(await third, { status: 202, body: 'took c' });
    held.get('b')!();
    assert.deepEqual(await second, { status: 202, body: 'took b' });

    let closed = false;
    const closing = proxy.close(performance.now() + 60_000).then(() => { closed = true; });
    // Both long polls are cut (the runtime sees its connection end), while the oldest post is still held.
    assert.ok(await poll1 instanceof Error, 'the first /next was not cut');
    assert.ok(await poll2 instanceof Error, 'the second /next was not cut');
    assert.equal(closed, false, 'close() resolved with a post still on its way to Lambda');
    held.get('a')!();
    assert.deepEqual(await first, { status: 202, body: 'took a' });
    await closing;
  } finally {
    lambda.closeAllConnections();
    lambda.close();
  }
});
