// When the real Runtime API cannot be reached, the runtime gets an honest 502
// that says what failed, never a hung socket, and the proxy keeps serving.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RUNTIME, TRACING_MODES, next, raw, request, respond, startWithProxy, type ProxiedSandbox } from './harness.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TcpRelay } from './tcp-relay.ts';
import { RuntimeApiProxy } from '../../src/proxy/runtime-api-proxy.ts';
import { RuntimeWatch } from '../../src/lifecycle/runtime-watch.ts';
import { createLogger } from '../../src/log.ts';
import type { InvokeResult, RecordedRequest } from '../sandbox/sandbox.ts';

/** The proxy reaches Lambda's Runtime API through a relay the test can cut and restore. */
async function startRelayed(options: Parameters<typeof startWithProxy>[0] = {}) {
  // Reserve a port for the relay, start the sandbox pointed at it, then open the relay to the sandbox.
  const pending = new TcpRelay('127.0.0.1:1');
  await pending.start();
  const port = pending.port;
  await pending.stop();
  const started = await startWithProxy({ ...options, env: { ...options.env, LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${port}` } });
  const relay = new TcpRelay(started.sandbox.address);
  await relay.start(port);
  return { relayed: started, relay };
}

/** Lambda is back: the runtime's post for `id` goes through, and the caller gets it. */
async function postsOnceLambdaIsBack(relayed: ProxiedSandbox, relay: TcpRelay, id: string, invoked: Promise<InvokeResult>): Promise<void> {
  await relay.start(relay.port);
  const retried = await respond(relayed.proxy, id, Buffer.from('"delivered"'));
  assert.equal(retried.status, 202);
  assert.equal((await invoked).body.toString(), '"delivered"');
}

for (const tracing of TRACING_MODES) {
  describe(`with tracing ${tracing ? 'on' : 'off'}`, () => {
    test('upstream down gives 502 JSON, and the proxy works again once it is back', async () => {
      const { relayed, relay } = await startRelayed({ tracing });
      try {
        const invoked = relayed.sandbox.invoke('{"n":1}');
        const got = await next(relayed.proxy);
        assert.equal(got.status, 200);
        const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;

        await relay.stop();
        const failed = await respond(relayed.proxy, id, Buffer.from('"lost"'));
        assert.equal(failed.status, 502);
        const explained = JSON.parse(failed.body.toString()) as { errorType: string; errorMessage: string };
        assert.equal(explained.errorType, 'Extension.UpstreamUnreachable');
        assert.match(explained.errorMessage, /ECONNREFUSED|ECONNRESET/);
        assert.match(explained.errorMessage, new RegExp(`/invocation/${id}/response`));

        const unknownPath = await request(relayed.proxy, { path: `${RUNTIME}/anything` });
        assert.equal(unknownPath.status, 502);

        await postsOnceLambdaIsBack(relayed, relay, id, invoked);
      } finally {
        await relay.stop();
        await relayed.close();
      }
    });

    test('an upstream failure in the middle of a streamed post answers the runtime 502 and reads the rest of its body', async () => {
      const { relayed, relay } = await startRelayed({ tracing });
      try {
        const invoked = relayed.sandbox.invoke('{}');
        const id = raw((await next(relayed.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
        const answer = await request(relayed.proxy, {
          method: 'POST',
          path: `${RUNTIME}/invocation/${id}/response`,
          headers: ['Lambda-Runtime-Function-Response-Mode', 'streaming', 'Content-Type', 'application/octet-stream'],
          // The runtime keeps streaming after Lambda went away: 1 MiB more, then its end.
          body: [Buffer.from('first-chunk'), ...Array.from({ length: 16 }, () => Buffer.alloc(64 * 1024, 0x61)), Buffer.from('last')],
          betweenChunks: async (i) => {
            if (i !== 0) return;
            await relay.waitForBytes('first-chunk');
            await relay.stop();
          },
        });
        assert.equal(answer.status, 502);
        assert.equal((JSON.parse(answer.body.toString()) as { errorType: string }).errorType, 'Extension.UpstreamUnreachable');

        // The proxy and the runtime's connection are still good.
        await postsOnceLambdaIsBack(relayed, relay, id, invoked);
      } finally {
        await relay.stop();
        await relayed.close();
      }
    });

    test('a runtime that sends garbage or hangs up mid-body does not take the proxy down', async () => {
      const env = await startWithProxy({ tracing });
      try {
        const net = await import('node:net');
        const [host, port] = env.proxy.split(':');
        // Not HTTP at all.
        const garbage = net.connect(Number(port), host);
        const answer: Buffer[] = [];
        garbage.on('data', (c: Buffer) => answer.push(c));
        garbage.end('\x00\x01 this is not HTTP\r\n\r\n');
        await new Promise((r) => garbage.on('close', r));
        assert.match(Buffer.concat(answer).toString(), /^HTTP\/1\.1 400 /);
        // A post announcing 1000 bytes that stops after 10.
        const invoked = env.sandbox.invoke('{}');
        const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
        const partial = net.connect(Number(port), host);
        partial.write(`POST ${RUNTIME}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789`);
        await env.sandbox.waitForRequest((r) => r.url.includes(`/${id}/response`), { timeoutMs: 5000 });
        partial.destroy();
        // The proxy still serves the runtime.
        const ok = await respond(env.proxy, id, Buffer.from('"after"'));
        assert.ok([202, 403].includes(ok.status), `proxy answered (${ok.status})`);
        await invoked.catch(() => undefined);
        const again = env.sandbox.invoke('{"again":true}');
        const got = await next(env.proxy);
        assert.equal(got.body.toString(), '{"again":true}');
        await respond(env.proxy, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('1'));
        assert.equal((await again).status, 202);
      } finally {
        await env.close();
      }
    });

    test('a /next whose upstream connection died under it (a snapshot restore) is sent again: the runtime still gets its event', async () => {
      const { relayed, relay } = await startRelayed({ tracing });
      try {
        // The runtime's first call: a fresh connection, not one reused from the pool.
        const got = next(relayed.proxy);
        const first = await relayed.sandbox.waitForRequest((r) => r.url.endsWith('/invocation/next'));
        relay.resetAll();
        // Lambda hands the event to the /next that reaches it after the restore.
        await relayed.sandbox.waitForRequest((r) => r.url.endsWith('/invocation/next') && r !== first);
        const invoked = relayed.sandbox.invoke('{"after":"restore"}');
        const event = await got;
        assert.equal(event.status, 200);
        assert.equal(event.body.toString(), '{"after":"restore"}');
        await respond(relayed.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('1'));
        assert.equal((await invoked).status, 202);
      } finally {
        await relay.stop();
        await relayed.close();
      }
    });

    test('pooled connections that died while the environment was frozen never fail the runtime\'s calls, posts included', async () => {
      const { relayed, relay } = await startRelayed({ tracing });
      try {
        for (let n = 0; n < 3; n++) {
          // Frozen: the extension and the runtime wait; Lambda's side drops every connection meanwhile.
          const seen = relayed.sandbox.requests.length;
          const isNewPoll = (r: RecordedRequest) => r.url.endsWith('/invocation/next') && relayed.sandbox.requests.indexOf(r) >= seen;
          const got = next(relayed.proxy);
          const first = await relayed.sandbox.waitForRequest(isNewPoll);
          const from = relayed.sandbox.events.length;
          relay.resetAll();
          await relayed.sandbox.waitForRequest((r) => isNewPoll(r) && r !== first);
          const invoked = relayed.sandbox.invoke(JSON.stringify({ n }));
          const event = await got;
          assert.equal(event.status, 200);
          const id = raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!;
          assert.equal((await respond(relayed.proxy, id, Buffer.alloc(64 * 1024, 0x61))).status, 202);
          assert.equal((await invoked).body.length, 64 * 1024);
          await relayed.sandbox.waitForEvent('thaw', { fromIndex: from });
        }
      } finally {
        await relay.stop();
        await relayed.close();
      }
    });
  });
}

test('an answer to a post that breaks off midway still releases the invocation, and the runtime\'s connection is cut, not left hanging', async () => {
  // Lambda here is a server that hands out one event, then answers the post
  // with half a body and resets: the proxy and the lifecycle's watch run in-process.
  const lambda = http.createServer((req, res) => {
    if (req.url?.endsWith('/invocation/next')) {
      res.writeHead(200, { 'Lambda-Runtime-Aws-Request-Id': 'r1', 'Lambda-Runtime-Deadline-Ms': String(Date.now() + 60_000), 'Content-Length': '2' });
      res.end('{}');
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'Content-Length': '100' });
      res.write('{"status":');
      setImmediate(() => res.socket?.resetAndDestroy());
    });
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  const lambdaPort = (lambda.address() as AddressInfo).port;
  const log = createLogger('none');
  const watch = new RuntimeWatch({ log, listenerPort: 0 });
  const proxy = new RuntimeApiProxy({ host: '127.0.0.1', port: lambdaPort, text: `127.0.0.1:${lambdaPort}` }, watch, log);
  const address = `127.0.0.1:${await proxy.listen(0)}`;
  try {
    const got = await next(address);
    assert.equal(raw(got.rawHeaders, 'lambda-runtime-aws-request-id'), 'r1');
    const ended = watch.whenEnded('r1', performance.now() + 60_000);
    const posted = await respond(address, 'r1', Buffer.from('"ok"')).then((r) => r.status, (err: NodeJS.ErrnoException) => err.code);
    assert.notEqual(posted, 202, 'the runtime does not get a whole answer Lambda never finished');
    assert.equal(await ended, 'posted');
  } finally {
    await proxy.close(performance.now());
    lambda.close();
  }
});
