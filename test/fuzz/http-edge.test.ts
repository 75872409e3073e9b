// Fuzzes the proxy's HTTP edge, the built extension running in the sandbox with
// tracing on: malformed request lines and heads, heads of 64 KiB and more,
// senders that dribble bytes, connections reset at every stage of a post and
// of a long poll, pipelined requests, odd chunk sizes and trailers. Seeded
// (FUZZ_SEED); prints its figures. Properties: every post that reaches Lambda
// arrives byte for byte; the proxy answers or closes, never hangs; the
// extension never dies and keeps serving invocations.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { RUNTIME, next, raw, request, respond, startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import type { SeededRandom } from '../support/seeded-random.ts';
import type { InvokeResult } from '../sandbox/sandbox.ts';
import { exchange, splitAt } from './raw-http.ts';
import { FuzzFigures } from './figures.ts';

const figures = new FuzzFigures('http-edge', 0x48545450);
const r = figures.random;
let env: ProxiedSandbox;

before(async () => { env = await startWithProxy({ tracing: true, timeoutMs: 30_000 }); });
after(async () => {
  figures.report();
  await env?.close();
});

/** One invocation handed to the test (the runtime), with its id. */
async function started(payload = '{"fuzz":true}'): Promise<{ id: string; result: Promise<InvokeResult> }> {
  const result = env.sandbox.invoke(payload);
  const event = await next(env.proxy);
  return { id: raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, result };
}

/** The extension still serves a whole invocation, and never restarted. */
async function stillServes(after: string): Promise<void> {
  const { id, result } = await started('{"alive":1}');
  const answer = await respond(env.proxy, id, Buffer.from('"alive"'));
  if (answer.status !== 202 || (await result).body.toString() !== '"alive"') figures.fail(`after ${after}: an ordinary invocation got ${answer.status}`);
  const died = env.sandbox.events.filter((e) => e.kind === 'process-exit' || e.kind === 'reset' || e.kind === 'crash');
  if (died.length > 0) figures.fail(`after ${after}: ${died.map((e) => `${e.kind} ${JSON.stringify(e.detail)}`).join('; ')}`);
}

function randomBytes(rr: SeededRandom, n: number): Buffer {
  // Bytes a parser must think about: separators, controls, obs-text, DEL.
  const alphabet = Buffer.from('\r\n\t :;,\0\x7f\x80\xff"/?%#', 'latin1');
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = rr.chance(0.5) ? alphabet[rr.below(alphabet.length)]! : rr.between(0x20, 0x7e);
  return out;
}

// ---------------------------------------------------------------------------

function baseHeads(id: string): Buffer[] {
  return [
    Buffer.from(`POST ${RUNTIME}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello`),
    Buffer.from(`GET ${RUNTIME}/fuzz/${id} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n`),
    Buffer.from(`POST ${RUNTIME}/invocation/${id}/error HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n`),
  ];
}

const HEAD_MUTATIONS: readonly ((rr: SeededRandom, b: Buffer) => Buffer)[] = [
  (rr, b) => { const c = Buffer.from(b); c[rr.below(c.length)] = rr.below(256); return c; },
  (rr, b) => { const at = rr.below(b.length); return Buffer.concat([b.subarray(0, at), randomBytes(rr, rr.between(1, 8)), b.subarray(at)]); },
  (rr, b) => { const at = rr.below(b.length); return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rr.between(1, 20)))]); },
  (rr, b) => b.subarray(0, rr.below(b.length)),
  (_rr, b) => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
  (rr, b) => Buffer.from(b.toString('latin1').replace(/^[A-Z]+/, rr.pick(['get', 'PATCH', 'BREW', 'G\0T', '', 'POST POST', 'CONNECT']))),
  (rr, b) => Buffer.from(b.toString('latin1').replace(/HTTP\/1\.1/, rr.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'http/1.1', 'HTTP/1.', '']))),
  (rr, b) => Buffer.from(b.toString('latin1').replace('\r\n', `\r\n${rr.pick(['X-Folded: a\r\n  b', 'NoColon', ' Leading: space', 'Bad Name: v', 'Content-Length: 7', 'Content-Length: -1', 'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: identity', 'Expect: 100-continue', 'Connection: upgrade\r\nUpgrade: h2c', 'Host: y'])}\r\n`), 'latin1'),
  (rr, b) => Buffer.from(b.toString('latin1').replace('\r\n', `\r\nX-Big: ${'h'.repeat(rr.pick([64 * 1024 + 1, 300 * 1024, (1 << 20) + 8192]))}\r\n`), 'latin1'),
  (rr, b) => Buffer.from(b.toString('latin1').replace(/ \//, ` ${rr.pick(['', '//', '/%zz', '/a b', '*', 'http://x/', '/\u00e9'])}/`), 'latin1'),
];

describe('the proxy\'s HTTP edge under fuzzing', () => {
  test('malformed request lines and heads get an answer or a close, never a hang or a crash', async () => {
    for (let n = 0; n < 500; n++) {
      const base = r.pick(baseHeads(`fuzz-${n}`));
      let bytes = base;
      for (let m = r.between(1, 3); m > 0; m--) bytes = r.pick(HEAD_MUTATIONS)(r, bytes);
      figures.cases++;
      const pieces = r.chance(0.3) ? splitAt(bytes, [r.below(bytes.length), r.below(bytes.length)].sort((a, b) => a - b)) : [bytes];
      try {
        // Written, then half-closed: an incomplete request must not keep the connection forever.
        const outcome = await exchange(env.port, { pieces, between: () => yieldToLoop(), endAfterWrite: true });
        for (const answer of outcome.responses) {
          if (answer.status < 100 || answer.status > 599) figures.fail(`case ${n}: status ${answer.status}`);
        }
      } catch (err) {
        figures.fail(`case ${n} (${JSON.stringify(bytes.subarray(0, 120).toString('latin1'))}): ${(err as Error).message}`);
      }
      if (n % 40 === 39) await stillServes(`malformed case ${n}`);
    }
    await stillServes('malformed heads');
    assert.deepEqual(figures.failures, []);
  });

  test('heads from 64 KiB to Lambda\'s limit reach Lambda byte for byte; larger ones get 431 or a close', async () => {
    for (let n = 0; n < 12; n++) {
      figures.cases++;
      const size = n < 8 ? r.between(64 * 1024 + 1, (1 << 20) - 1024) : r.between((1 << 20) + 8192, 3 << 20);
      const { id, result } = await started();
      const cause = Buffer.from(JSON.stringify({ exceptions: [{ message: randomBytes(r, size).toString('latin1').replace(/[^\x20-\x7e]|["\\]/g, 'q') }] }));
      const head = Buffer.from(`POST ${RUNTIME}/invocation/${id}/error HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-XRay-Error-Cause: ${cause.toString('latin1')}\r\nContent-Length: 2\r\n\r\n{}`, 'latin1');
      const outcome = await exchange(env.port, { pieces: splitAt(head, [r.below(head.length)]), between: () => yieldToLoop(), expect: 1 }).catch((err: Error) => ({ responses: [], ended: err.message }));
      if (head.length <= 1 << 20) {
        if (outcome.responses[0]?.status !== 202) {
          figures.fail(`head of ${head.length} bytes: ${outcome.responses[0]?.status ?? outcome.ended}`);
          await respond(env.proxy, id, Buffer.from('1'));
        }
        const got = await result;
        figures.same(Buffer.from(raw(got.requestHeaders, 'lambda-runtime-function-xray-error-cause') ?? '', 'latin1'), cause, `cause header of ${size} bytes`);
      } else {
        figures.faults++;
        if (outcome.responses.length > 0 && outcome.responses[0]!.status !== 431) figures.fail(`head of ${head.length} bytes over the limit: ${outcome.responses[0]!.status}`);
        await respond(env.proxy, id, Buffer.from('1'));
        await result;
      }
    }
    await stillServes('big heads');
    assert.deepEqual(figures.failures, []);
  });

  test('slow senders, odd chunk sizes and trailers: Lambda gets the exact body and trailers', async () => {
    for (let n = 0; n < 60; n++) {
      figures.cases++;
      const { id, result } = await started();
      const body = r.bytes(r.weighted<number>([[0, 1], [r.between(1, 100), 3], [r.between(100, 64 * 1024), 4], [r.between(64 * 1024, 512 * 1024), 1]]));
      const chunked = r.chance(0.6);
      const trailers: [string, string][] = chunked && r.chance(0.6)
        ? Array.from({ length: r.between(1, 4) }, (_, i) => [`X-Fuzz-Trailer-${i}`, randomBytes(r, r.between(0, 200)).toString('latin1').replace(/[^\x21-\x7e]/g, 'v')])
        : [];
      let wire: Buffer;
      if (chunked) {
        const parts: Buffer[] = [];
        for (let at = 0; at < body.length;) {
          const size = Math.min(body.length - at, r.weighted<number>([[1, 2], [r.between(2, 16), 3], [r.between(17, 8192), 3], [r.between(8192, 100_000), 1]]));
          const hex = size.toString(16);
          const sizeText = r.pick([hex, hex.toUpperCase(), `000${hex}`]) + (r.chance(0.2) ? ';ext=1;q="a b"' : '');
          parts.push(Buffer.from(`${sizeText}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
          at += size;
        }
        parts.push(Buffer.from(`0\r\n${trailers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`));
        const announce = trailers.length > 0 ? `Trailer: ${trailers.map(([k]) => k).join(', ')}\r\n` : '';
        wire = Buffer.concat([Buffer.from(`POST ${RUNTIME}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n${announce}\r\n`), ...parts]);
      } else {
        wire = Buffer.concat([Buffer.from(`POST ${RUNTIME}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
      }
      // A slow sender: the bytes in up to 64 pieces, each its own write, the event loop turning between them.
      const cuts = Array.from({ length: r.between(0, 63) }, () => r.below(wire.length)).sort((a, b) => a - b);
      const outcome = await exchange(env.port, { pieces: splitAt(wire, cuts), between: () => yieldToLoop(), expect: 1 });
      if (outcome.responses[0]?.status !== 202) figures.fail(`slow sender case ${n}: answer ${outcome.responses[0]?.status ?? outcome.ended}`);
      const got = await result;
      figures.same(got.body, body, `slow sender case ${n} body (${chunked ? 'chunked' : 'Content-Length'})`);
      const gotTrailers = [];
      for (let i = 0; i < got.trailers.length; i += 2) gotTrailers.push([got.trailers[i]!, got.trailers[i + 1]!]);
      figures.same(Buffer.from(JSON.stringify(gotTrailers)), Buffer.from(JSON.stringify(trailers)), `slow sender case ${n} trailers`);
    }
    await stillServes('slow senders');
    assert.deepEqual(figures.failures, []);
  });

  test('a post reset at any stage leaves the invocation to a second post and the proxy serving', async () => {
    for (let n = 0; n < 60; n++) {
      figures.cases++;
      figures.faults++;
      const { id, result } = await started();
      const body = r.bytes(r.between(1, 128 * 1024));
      const head = Buffer.from(`POST ${RUNTIME}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      const wire = Buffer.concat([head, body]);
      // Stages: in the request line, in the headers, at the end of the head, in the body, after all of it.
      const stage = n % 5;
      const cut = [r.between(1, 20), r.between(21, head.length - 4), head.length, head.length + r.below(body.length), wire.length][stage]!;
      await exchange(env.port, { pieces: [wire.subarray(0, cut)], resetAfterWrite: true }).catch((err: Error) => figures.fail(`reset case ${n}: ${err.message}`));
      // The runtime tries again on a new connection; Lambda may already have the first post (403 then).
      const again = Buffer.from(`"second post ${n}"`);
      const second = await respond(env.proxy, id, again);
      const got = await result;
      if (second.status === 202) figures.same(got.body, again, `reset case ${n} (stage ${stage}): second post`);
      else if (second.status === 403 && stage === 4) figures.same(got.body, body, `reset case ${n}: the first, complete post`);
      else figures.fail(`reset case ${n} at stage ${stage}: second post got ${second.status}, invocation ${got.outcome}`);
    }
    await stillServes('resets');
    assert.deepEqual(figures.failures, []);
  });

  test('a /next long poll the runtime drops does not swallow the next event', async () => {
    for (let n = 0; n < 10; n++) {
      figures.cases++;
      figures.faults++;
      const poll = net.connect(env.port, '127.0.0.1');
      poll.on('error', () => undefined);
      // The sandbox sees the poll arrive through the proxy before the runtime drops it.
      const before = env.sandbox.requests.length;
      poll.write(`GET ${RUNTIME}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n`);
      const upstreamPoll = await env.sandbox.waitForRequest((q) => q.url.endsWith('/invocation/next'), { fromIndex: before, timeoutMs: 5000 });
      // A runtime that gave up on its own poll (a client-side timeout) and asks again.
      if (n % 2 === 0) poll.resetAndDestroy(); else poll.end();
      // Lambda sees the proxy drop its poll too (an event sent before that would be lost in any case).
      await env.sandbox.waitForRequest((q) => q === upstreamPoll && q.aborted, { timeoutMs: 5000 });
      const payload = `{"after-drop":${n}}`;
      const result = env.sandbox.invoke(payload);
      const event = await next(env.proxy);
      if (event.body.toString() !== payload) figures.fail(`dropped poll ${n}: the next /next got ${event.status} ${event.body.toString().slice(0, 80)}`);
      const id = raw(event.rawHeaders, 'lambda-runtime-aws-request-id');
      if (id) await respond(env.proxy, id, Buffer.from('1'));
      await result;
    }
    assert.deepEqual(figures.failures, []);
  });

  test('pipelined requests are answered in order, each as if sent alone', async () => {
    for (let n = 0; n < 40; n++) {
      figures.cases++;
      const count = r.between(2, 6);
      const paths = Array.from({ length: count }, (_, i) => `${RUNTIME}/fuzz-pipeline/${n}-${i}`);
      const wire = Buffer.concat(paths.map((p) => Buffer.from(r.chance(0.5)
        ? `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`
        : `POST ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`)));
      const outcome = await exchange(env.port, { pieces: splitAt(wire, [r.below(wire.length)]), expect: count });
      const order = outcome.responses.map((a) => /fuzz-pipeline\/(\d+-\d+)/.exec(a.body.toString())?.[1]);
      const want = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
      figures.same(Buffer.from(JSON.stringify(order)), Buffer.from(JSON.stringify(want)), `pipeline ${n}: answers in order`);
      if (outcome.responses.some((a) => a.status !== 404)) figures.fail(`pipeline ${n}: statuses ${outcome.responses.map((a) => a.status).join(',')}`);
    }
    await stillServes('pipelining');
    assert.deepEqual(figures.failures, []);
  });
});
