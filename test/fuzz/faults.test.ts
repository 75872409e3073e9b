// Fault injection against the built extension in the sandbox, tracing on,
// every fault on loopback: the Runtime API connection reset at each phase of
// each call (fault-relay.ts); a collector that is slow, answers half, answers
// 500, refuses, never answers, or fails the TLS handshake; SIGTERM while a
// flush is waiting on the collector. Properties: the runtime always gets an
// answer or a cut connection, never a hang; what reaches Lambda is what the
// runtime posted, byte for byte; the extension keeps serving (or, after
// SIGTERM, leaves by itself and the next Init works). Prints its figures.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { RUNTIME, freePort, next, raw, request, respond, startWithProxy, type ProxiedSandbox, type RawResponse } from '../integration/harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { extensionPid } from '../support/extension-process.ts';
import { FaultRelay, RESET_PHASES, type ResetPhase, type RuntimeCall } from './fault-relay.ts';
import { FuzzFigures } from './figures.ts';

const figures = new FuzzFigures('faults', 0x46415554);
const LOSES_THE_EVENT: readonly ResetPhase[] = ['before-answer', 'mid-answer'];
const r = figures.random;
after(() => figures.report());

describe('the Runtime API connection reset at each phase of each call', () => {
  let receiver: OtlpReceiver;
  let relay: FaultRelay;
  let env: ProxiedSandbox;
  before(async () => {
    receiver = await OtlpReceiver.start();
    relay = new FaultRelay();
    const relayPort = await relay.start();
    env = await startWithProxy({
      timeoutMs: 30_000,
      env: { LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${relayPort}`, OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    });
    relay.relayTo(env.sandbox.address);
  });
  after(async () => {
    await env?.sandbox.shutdown();
    await relay?.stop();
    await receiver?.close();
  });

  /** The id of the invocation the sandbox handed out since event index `from`, if it did. */
  function dispatched(from: number): string | undefined {
    const e = env.sandbox.events.slice(from).find((ev) => ev.kind === 'invoke');
    return e === undefined ? undefined : String(e.detail.requestId);
  }

  const calls: readonly RuntimeCall[] = ['next', 'response', 'error', 'other'];
  const pendingPolls: Promise<RawResponse | Error>[] = [];
  for (const call of calls) {
    for (const phase of RESET_PHASES) {
      // An event cut on its way to the runtime is lost for good: those cases run below, on their own.
      if (call === 'next' && LOSES_THE_EVENT.includes(phase)) continue;
      test(`${call}, reset ${phase}: an honest answer or a cut, bytes exact, and the proxy goes on`, async () => {
        for (let round = 0; round < 3; round++) {
          figures.cases++;
          figures.faults++;
          const from = env.sandbox.events.length;
          const result = env.sandbox.invoke(`{"fault":"${call} ${phase}","round":${round}}`);
          let id: string | undefined;
          if (call === 'next') {
            const fired = relay.arm('next', phase);
            const poll = next(env.proxy).catch((err: Error) => err);
            await fired;
            const afterReset = env.sandbox.requests.length;
            const lost = dispatched(from);
            if (lost === undefined) {
              // Lambda never answered the cut poll: the proxy polled again, or the runtime does after a 502.
              const got = await poll;
              checkBadGateway(got, `${call} ${phase}`);
              id = !(got instanceof Error) && got.status === 200
                ? raw(got.rawHeaders, 'lambda-runtime-aws-request-id')
                : raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id');
            } else {
              // The event went down the cut connection: lost, as it would be for any runtime. The
              // runtime's poll failed, or the proxy polled again and that poll waits for the next event.
              id = lost;
              const settled = await Promise.race([
                poll.then((got) => ({ got })),
                env.sandbox.waitForRequest((q) => q.url.endsWith('/invocation/next'), { fromIndex: afterReset, timeoutMs: 10_000 }).then(() => undefined),
              ]);
              if (settled) checkBadGateway(settled.got, `${call} ${phase}`);
              else pendingPolls.push(poll);
            }
          } else {
            id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id');
          }
          if (id === undefined) { figures.fail(`${call} ${phase}: no request id`); continue; }

          const body = r.bytes(r.between(0, 200_000));
          let first: RawResponse | Error | undefined;
          if (call === 'response' || call === 'error') {
            const fired = relay.arm(call, phase);
            first = await post(call, id, body).catch((err: Error) => err);
            await fired;
            checkBadGateway(first, `${call} ${phase}`);
          } else if (call === 'other') {
            const fired = relay.arm('other', phase);
            const got = await request(env.proxy, { path: `${RUNTIME}/fault-other/${round}` }).catch((err: Error) => err);
            await fired;
            if (!(got instanceof Error) && got.status !== 404) checkBadGateway(got, `${call} ${phase}`);
          }
          // The runtime posts (again): 202, or 403 when Lambda already took the first post.
          const firstTaken = first !== undefined && !(first instanceof Error) && first.status === 202;
          const second = Buffer.from(`"after ${call} ${phase}"`);
          const again = firstTaken ? undefined : await respond(env.proxy, id, second);
          const got = await result;
          for (const pending of pendingPolls.splice(0)) {
            // The retried poll gets the next event: a filler invocation it answers.
            const filler = env.sandbox.invoke('{"filler":true}');
            const event = await pending;
            if (event instanceof Error || event.status !== 200) figures.fail(`${call} ${phase}: the retried poll got ${event instanceof Error ? event.message : event.status}`);
            else await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('1'));
            await filler;
          }
          if (firstTaken || again?.status === 403) {
            figures.same(got.body, body, `${call} ${phase}: Lambda has the first post`);
          } else if (again?.status === 202) {
            figures.same(got.body, second, `${call} ${phase}: Lambda has the second post`);
          } else {
            figures.fail(`${call} ${phase}: the second post got ${again?.status}`);
          }
        }
        assert.deepEqual(figures.failures, []);
      });
    }
  }

  function post(kind: 'response' | 'error', id: string, body: Buffer): Promise<RawResponse> {
    const headers = kind === 'error' ? ['Content-Type', 'application/json', 'Lambda-Runtime-Function-Error-Type', 'Fault.Injected'] : [];
    return request(env.proxy, { method: 'POST', path: `${RUNTIME}/invocation/${id}/${kind}`, headers, body: r.chance(0.5) ? body : [body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)] });
  }

  function checkBadGateway(got: RawResponse | Error | undefined, what: string): void {
    if (got === undefined || got instanceof Error) return; // a cut connection: honest once the answer had started
    if (got.status === 202 || got.status === 200) return;
    const answer = (() => { try { return JSON.parse(got.body.toString()) as { errorType?: string }; } catch { return {}; } })();
    if (got.status !== 502 || answer.errorType !== 'Extension.UpstreamUnreachable') figures.fail(`${what}: answered ${got.status} ${got.body.toString().slice(0, 100)}`);
  }
});

describe('an event cut on its way to the runtime', () => {
  for (const phase of LOSES_THE_EVENT) {
    test(`next, reset ${phase}: the poll gets an honest answer or goes on, the lost invocation times out as for any runtime, and the next Init serves`, async () => {
      const relay = new FaultRelay();
      const relayPort = await relay.start();
      const env = await startWithProxy({ tracing: true, timeoutMs: 30_000, env: { LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${relayPort}` } })
        .catch(async (err: unknown) => { await relay.stop(); throw err; });
      relay.relayTo(env.sandbox.address);
      try {
        figures.cases++;
        figures.faults++;
        const fired = relay.arm('next', phase);
        // Lambda hands the event out and the connection breaks: no runtime would ever see it.
        const lost = env.sandbox.invoke('{"lost":true}', { timeoutMs: 1500 });
        const poll = next(env.proxy).catch((err: Error) => err);
        await fired;
        const outcome = await lost;
        if (outcome.outcome !== 'timeout') figures.fail(`next ${phase}: the lost invocation ended as ${outcome.outcome}`);
        const settled = await Promise.race([poll, env.sandbox.waitForEvent('reset', { timeoutMs: 10_000 }).then(() => undefined)]);
        if (settled !== undefined && !(settled instanceof Error) && settled.status !== 502) figures.fail(`next ${phase}: the poll got ${settled.status}`);
        // Lambda restarts the environment after a timeout; the next invocation runs a new Init.
        figures.cases++;
        const fromIndex = env.sandbox.events.length;
        const again = env.sandbox.invoke('{"after":"lost"}');
        await env.sandbox.waitForEvent('init-done', { fromIndex, timeoutMs: 10_000 });
        const event = await next(env.proxy);
        const body = r.bytes(r.between(0, 100_000));
        await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, body);
        figures.same((await again).body, body, `next ${phase}: the invocation after the restart`);
      } finally {
        await env.close().catch(() => undefined);
        await relay.stop();
      }
      assert.deepEqual(figures.failures, []);
    });
  }
});

describe('a post for an event the proxy never handed out', () => {
  // What Lambda does (RIE: AwsRequestIDValidator runs before every post handler; shared/README §1): an id that
  // is not the current invocation gets 400 InvalidRequestID and nothing changes; a post for the current one is
  // taken, wherever the runtime learned its id. The proxy forwards either, byte for byte, and holds nothing for it.
  test('an id Lambda never gave out: Lambda\'s 400 reaches the runtime unchanged and the invocation in progress is neither ended nor held for it', async () => {
    const env = await startWithProxy({ tracing: true, timeoutMs: 30_000, env: { LRAP_LOG_LEVEL: 'debug' } });
    try {
      figures.cases++;
      figures.faults++;
      const result = env.sandbox.invoke('{"stray":"post"}');
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      const strayId = `never-handed-out-${r.between(0, 1e9)}`;
      const stray = r.bytes(r.between(0, 10_000));
      const direct = await request(env.sandbox.address, { method: 'POST', path: `${RUNTIME}/invocation/${strayId}-direct/response`, body: stray });
      const proxied = await respond(env.proxy, strayId, stray);
      if (proxied.status !== 400 || direct.status !== 400) figures.fail(`stray post: ${proxied.status} through the proxy, ${direct.status} direct`);
      figures.same(proxied.body, direct.body, 'Lambda\'s answer to a stray post');
      const forwarded = env.sandbox.requests.find((q) => q.url.endsWith(`/invocation/${strayId}/response`));
      if (forwarded === undefined) figures.fail('the stray post never reached Lambda');
      else figures.same(forwarded.body, stray, 'the stray post as Lambda got it');
      const body = r.bytes(r.between(0, 50_000));
      if ((await respond(env.proxy, id, body)).status !== 202) figures.fail('the real post was refused');
      figures.same((await result).body, body, 'the invocation after a stray post');
      await releasedByThePost(env, id, 'stray post');
    } finally {
      await env.close();
    }
    assert.deepEqual(figures.failures, []);
  });

  test('an event lost on its way to the proxy that the runtime posts anyway: Lambda takes it and the environment is released at once', async () => {
    const relay = new FaultRelay();
    const relayPort = await relay.start();
    const env = await startWithProxy({ tracing: true, timeoutMs: 30_000, env: { LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${relayPort}`, LRAP_LOG_LEVEL: 'debug' } })
      .catch(async (err: unknown) => { await relay.stop(); throw err; });
    relay.relayTo(env.sandbox.address);
    try {
      figures.cases++;
      figures.faults++;
      const from = env.sandbox.events.length;
      const fired = relay.arm('next', 'before-answer');
      const result = env.sandbox.invoke('{"lost":"posted anyway"}', { timeoutMs: 3_000 });
      const poll = next(env.proxy).catch((err: Error) => err);
      await fired;
      // The event went down the broken connection; the proxy polls again. The runtime learns the id
      // another way (here: from the sandbox) and posts through the proxy.
      const id = String((await env.sandbox.waitForEvent('invoke', { fromIndex: from })).detail.requestId);
      const body = r.bytes(r.between(0, 50_000));
      const answer = await respond(env.proxy, id, body);
      if (answer.status !== 202) figures.fail(`the post for the lost event got ${answer.status}`);
      figures.same((await result).body, body, 'the post for an event the proxy never handed out');
      // The proxy's poll, asked again, serves the next invocation.
      const again = env.sandbox.invoke('{"after":"lost"}');
      const event = await poll;
      if (event instanceof Error || event.status !== 200) figures.fail(`the retried poll got ${event instanceof Error ? event.message : event.status}`);
      else {
        const second = Buffer.from('"next one"');
        await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, second);
        figures.same((await again).body, second, 'the invocation after the lost one');
      }
      await releasedByThePost(env, id, 'lost event posted');
    } finally {
      await env.close().catch(() => undefined);
      await relay.stop();
    }
    assert.deepEqual(figures.failures, []);
  });

  /**
   * The lifecycle's own account (its debug line per INVOKE, complete once the sandbox has shut
   * down) of how the wait for `requestId` ended: 'posted' when the post released it, 'deadline'
   * when it held the environment to the end.
   */
  async function releasedByThePost(env: ProxiedSandbox, requestId: string, what: string): Promise<void> {
    await env.close();
    const line = env.sandbox.output('lambda-trace-proxy').stderr.split('\n')
      .map((l) => { try { return JSON.parse(l) as { msg?: string; requestId?: string; end?: string }; } catch { return {}; } })
      .find((l) => l.msg === 'invoke' && l.requestId === requestId);
    if (line?.end !== 'posted') figures.fail(`${what}: the INVOKE's wait ended ${line?.end ?? 'unlogged'}, not by the post`);
  }
});

// ---------------------------------------------------------------------------

type CollectorFault = 'slow' | 'partial' | 'status 500' | 'refused' | 'never answers' | 'TLS handshake fails';

/** A loopback listener that plays one broken collector; counts the exports it received. */
async function brokenCollector(fault: CollectorFault): Promise<{ endpoint: string; exports: () => number; close: () => Promise<void> }> {
  let exports = 0;
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  if (fault === 'refused') {
    const port = await freePort();
    return { endpoint: `http://127.0.0.1:${port}`, exports: () => 0, close: async () => undefined };
  }
  if (fault === 'never answers' || fault === 'TLS handshake fails') {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => {
        exports++;
        // A TLS ClientHello answered with plain HTTP: the handshake fails.
        if (fault === 'TLS handshake fails') socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      });
      socket.resume();
    });
  } else {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        exports++;
        if (fault === 'status 500') res.writeHead(500, { 'Content-Type': 'text/plain' }).end('collector broke');
        else if (fault === 'partial') { res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '100' }); res.write(Buffer.alloc(10)); res.destroy(); }
        // Slow, not dead: the answer comes after a pause (a simulated fault, not a synchronisation).
        else setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(), 400);
      });
    });
    server.on('connection', (s: net.Socket) => { sockets.add(s); });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `${fault === 'TLS handshake fails' ? 'https' : 'http'}://127.0.0.1:${port}`,
    exports: () => exports,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => server.close(() => resolve())); },
  };
}

describe('a broken collector costs the function nothing but time', () => {
  const faults: readonly CollectorFault[] = ['slow', 'partial', 'status 500', 'refused', 'never answers', 'TLS handshake fails'];
  for (const fault of faults) {
    test(`collector ${fault}: every invocation's bytes reach Lambda, and the extension shuts down by itself`, async () => {
      const collector = await brokenCollector(fault);
      const env = await startWithProxy({ timeoutMs: 30_000, env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } });
      try {
        for (let n = 0; n < 3; n++) {
          figures.cases++;
          const result = env.sandbox.invoke(`{"collector":"${fault}","n":${n}}`);
          const got = await next(env.proxy);
          const body = r.bytes(r.between(0, 50_000));
          const answer = await respond(env.proxy, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, body);
          if (answer.status !== 202) figures.fail(`collector ${fault}: the post got ${answer.status}`);
          figures.same((await result).body, body, `collector ${fault} invocation ${n}`);
        }
        const report = await env.sandbox.shutdown();
        const extension = report.extensions[0];
        if (extension?.killed !== false) figures.fail(`collector ${fault}: the extension had to be killed at the shutdown deadline`);
        const died = env.sandbox.events.filter((e) => e.kind === 'crash' || e.kind === 'reset');
        if (died.length > 0) figures.fail(`collector ${fault}: ${died.map((e) => e.kind).join(', ')}`);
      } finally {
        figures.faults += Math.max(1, collector.exports());
        await env.sandbox.shutdown().catch(() => undefined);
        await collector.close();
      }
      assert.deepEqual(figures.failures, []);
    });
  }
});

describe('SIGTERM while a flush waits on the collector', () => {
  test('the answer already reached Lambda, the extension leaves by itself, and the next Init works', async () => {
    let stalled!: () => void;
    const exporting = new Promise<void>((resolve) => { stalled = resolve; });
    const sockets = new Set<net.Socket>();
    const collector = net.createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.once('data', () => stalled()); s.resume(); });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const endpoint = `http://127.0.0.1:${(collector.address() as net.AddressInfo).port}`;
    const env = await startWithProxy({ timeoutMs: 30_000, env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    try {
      figures.cases++;
      figures.faults++;
      const pid = extensionPid(env.port);
      const result = env.sandbox.invoke('{"sigterm":"during flush"}');
      const got = await next(env.proxy);
      const body = Buffer.from('"answered before the signal"');
      await respond(env.proxy, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, body);
      figures.same((await result).body, body, 'the answer posted before SIGTERM');
      await exporting; // the flush is waiting on the collector now
      process.kill(pid, 'SIGTERM');
      const exit = await env.sandbox.waitForEvent('process-exit', { timeoutMs: 10_000 });
      if (exit.detail.signal === 'SIGKILL') figures.fail(`the extension did not leave by itself: ${JSON.stringify(exit.detail)}`);
      // Lambda restarts the environment; the next invocation runs a new Init with a new extension.
      figures.cases++;
      const fromIndex = env.sandbox.events.length;
      const again = env.sandbox.invoke('{"after":"sigterm"}');
      await env.sandbox.waitForEvent('init-done', { fromIndex, timeoutMs: 10_000 });
      const event = await next(env.proxy);
      const second = Buffer.from('"after a new Init"');
      await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, second);
      figures.same((await again).body, second, 'the invocation after the restart');
    } finally {
      await env.sandbox.shutdown().catch(() => undefined);
      for (const s of sockets) s.destroy();
      collector.close();
    }
    assert.deepEqual(figures.failures, []);
  });
});
