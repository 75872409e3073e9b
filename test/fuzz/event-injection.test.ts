// Fuzzes the event path, the built extension in the sandbox with tracing on:
// every trigger's fixture mutated (bytes flipped, truncated, invalid UTF-8,
// duplicate keys, escaped keys, odd header maps, existing trace headers in any
// case, huge strings, deep nesting, whitespace) and random JSON shaped like
// HTTP events. Property: the runtime receives the original bytes, or the
// original with exactly our members spliced in (injection-check.ts); the
// extension never dies. Seeded (FUZZ_SEED); prints its figures.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, next, raw, respond, startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import type { SeededRandom } from '../support/seeded-random.ts';
import { FuzzFigures } from './figures.ts';
import { explainInjection } from './injection-check.ts';

const figures = new FuzzFigures('event-injection', 0x45564e54);
const r = figures.random;
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') || f.endsWith('.txt'))
  .map((f) => ({ name: f, bytes: readFileSync(path.join(FIXTURES, f)) }));
let env: ProxiedSandbox;
let injected = 0;

before(async () => { env = await startWithProxy({ tracing: true, timeoutMs: 30_000 }); });
after(async () => {
  figures.report();
  console.log(`fuzz event-injection: ${injected} events came out with our members spliced in, the rest unchanged`);
  await env?.close();
});

/** Inserts `text` right after the root object's `{`, as a first member. */
function firstMember(bytes: Buffer, text: string): Buffer {
  const open = bytes.indexOf('{');
  if (open < 0) return bytes;
  return Buffer.concat([bytes.subarray(0, open + 1), Buffer.from(text, 'latin1'), bytes.subarray(open + 1)]);
}

function replaceAll(bytes: Buffer, from: RegExp, to: (rr: SeededRandom) => string, rr: SeededRandom): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(from, (m) => (rr.chance(0.5) ? to(rr) : m)), 'latin1');
}

const INVALID_UTF8 = [Buffer.from([0xc3]), Buffer.from([0xff]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xe2, 0x82])];

const MUTATIONS: readonly [string, (rr: SeededRandom, b: Buffer) => Buffer][] = [
  ['flip a byte', (rr, b) => { const c = Buffer.from(b); if (c.length > 0) c[rr.below(c.length)] = rr.below(256); return c; }],
  ['truncate', (rr, b) => b.subarray(0, rr.below(b.length + 1))],
  ['invalid UTF-8 in a string', (rr, b) => { const q = b.indexOf('"', rr.below(b.length)); return q < 0 ? b : Buffer.concat([b.subarray(0, q + 1), rr.pick(INVALID_UTF8), b.subarray(q + 1)]); }],
  ['duplicate headers member', (rr, b) => firstMember(b, rr.pick(['"headers":{"x-dup":"1"},', '"headers":null,', '"multiValueHeaders":{"x":["1"]},', '"headers":{"traceparent":"00-11111111111111111111111111111111-2222222222222222-01"},']))],
  ['escaped key', (_rr, b) => Buffer.from(b.toString('latin1').replace('"headers"', '"h\\u0065aders"').replace('"traceparent"', '"trace\\u0070arent"'), 'latin1')],
  ['odd header map', (rr, b) => Buffer.from(b.toString('latin1').replace(/"(headers|multiValueHeaders)"\s*:\s*\{/, (m, k: string) => rr.pick([`"${k}":null,"was":{`, `"${k}":[],"was":{`, `"${k}":1,"was":{`, `"${k}":"x","was":{`, `"${k}":{},"was":{`, `"${k}":{"a":{"b":[1,2]}},"was":{`])), 'latin1')],
  ['trace headers in any case', (rr, b) => Buffer.from(b.toString('latin1').replace(/"(headers)"\s*:\s*\{/, (m) => `${m}"${rr.pick(['TraceParent', 'TRACEPARENT', 'traceparent', 'Tracestate'])}":${rr.pick(['"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"', '"garbage"', '123', 'null', '["a","b"]', '{"x":1}', '"00-00000000000000000000000000000000-0000000000000000-00"'])},`), 'latin1')],
  ['huge string', (rr, b) => firstMember(b, `"pad":"${'p'.repeat(rr.between(64 * 1024, 2 * 1024 * 1024))}",`)],
  ['deep nesting', (rr, b) => { const d = rr.between(100, 20_000); return firstMember(b, `"deep":${'['.repeat(d)}${']'.repeat(d)},`); }],
  ['deep nesting, unclosed', (rr, b) => firstMember(b, `"deep":${'{"a":'.repeat(rr.between(100, 5000))}`)],
  ['whitespace', (rr, b) => replaceAll(b, /[:,]/g, (q) => q.pick([' : ', ',\n\t', ' ,\r\n ', ':\t']), rr)],
  ['big numbers and escapes', (rr, b) => firstMember(b, rr.pick(['"n":123456789012345678901234567890,', '"f":-1.5e+308,', '"s":"\\ud83d\\ude00 \\" \\\\ \\/ \\u0000",', '"e":"",']))],
  ['byte order mark', (_rr, b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])],
  ['trailing garbage', (rr, b) => Buffer.concat([b, Buffer.from(rr.pick([' ', '\n', 'x', '}', ',{}', '\0']))])],
];

/** Random JSON text; HTTP-shaped roots (header maps, request context) half of the time. */
function randomJson(rr: SeededRandom, depth: number): string {
  const kind = depth > 6 ? rr.below(4) : rr.below(7);
  switch (kind) {
    case 0: return rr.pick(['null', 'true', 'false', '0', '-0.0', '1e400', '12345678901234567890']);
    case 1: return JSON.stringify(rr.pick(['', 'a', 'traceparent', '\u0000\u001f', '\ud800', 'é', 'x'.repeat(rr.below(3000))]));
    case 2: return `"${rr.pick(['\\u0041', '\\n', '\\"', '\\\\', '\\ud83d\\ude00'])}"`;
    case 3: return String(rr.between(-1e6, 1e6));
    case 4: case 5: {
      const keys = ['headers', 'multiValueHeaders', 'traceparent', 'tracestate', 'requestContext', 'httpMethod', 'version', 'routeKey', 'rawPath', 'body', 'a', 'a', 'Records'];
      return `{${Array.from({ length: rr.below(6) }, () => `${JSON.stringify(rr.pick(keys))}:${randomJson(rr, depth + 1)}`).join(',')}}`;
    }
    default: return `[${Array.from({ length: rr.below(5) }, () => randomJson(rr, depth + 1)).join(',')}]`;
  }
}

function httpShaped(rr: SeededRandom): string {
  const headers = `{${Array.from({ length: rr.below(5) }, () => `${JSON.stringify(rr.pick(['traceparent', 'TraceParent', 'tracestate', 'x-amzn-trace-id', 'host', 'a']))}:${rr.chance(0.7) ? JSON.stringify(rr.pick(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'k=v', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1', ''])) : randomJson(rr, 5)}`).join(',')}}`;
  return rr.pick([
    `{"version":"2.0","routeKey":"GET /x","rawPath":"/x","headers":${headers},"requestContext":{"http":{"method":"GET"}},"extra":${randomJson(rr, 2)}}`,
    `{"resource":"/x","httpMethod":"POST","headers":${headers},"multiValueHeaders":{},"requestContext":{"stage":"p"},"body":${randomJson(rr, 3)}}`,
    `{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},"httpMethod":"GET","path":"/","multiValueHeaders":${rr.chance(0.5) ? 'null' : '{"a":["b"]}'}}`,
  ]);
}

async function throughTheProxy(event: Buffer, what: string): Promise<void> {
  figures.cases++;
  const result = env.sandbox.invoke(event);
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id');
  if (got.status !== 200 || id === undefined) {
    figures.fail(`${what}: /next answered ${got.status}`);
    return;
  }
  figures.bytesCompared += event.length;
  if (!got.body.equals(event)) {
    injected++;
    const why = explainInjection(event, got.body);
    if (why !== undefined) figures.fail(`${what}: ${why}`);
    let parses = true;
    try { JSON.parse(event.toString()); } catch { parses = false; }
    if (parses) {
      try { JSON.parse(got.body.toString()); } catch { figures.fail(`${what}: valid JSON became invalid`); }
    }
  }
  await respond(env.proxy, id, Buffer.from('1'));
  await result;
  // The sandbox records every byte; the big cases would add up over the run.
  for (const entry of env.sandbox.requests) if (entry.complete && entry.body.length > 64 * 1024) entry.body = Buffer.alloc(0);
}

test('every trigger\'s fixture, mutated, reaches the runtime unchanged or with only our members spliced in', async () => {
  for (let round = 0; round < 24; round++) {
    for (const fixture of fixtures) {
      let event: Buffer = fixture.bytes;
      const applied: string[] = [];
      for (let m = round === 0 ? 0 : r.between(1, 2); m > 0; m--) {
        const [name, mutate] = r.pick(MUTATIONS);
        applied.push(name);
        event = mutate(r, event);
      }
      await throughTheProxy(event, `${fixture.name} round ${round} (${applied.join(', ') || 'as is'})`);
    }
  }
  assert.deepEqual(figures.failures, []);
});

test('random JSON, HTTP-shaped or not, reaches the runtime unchanged or with only our members spliced in', async () => {
  for (let n = 0; n < 250; n++) {
    const text = r.chance(0.6) ? httpShaped(r) : randomJson(r, 0);
    let event: Buffer = Buffer.from(text, r.chance(0.1) ? 'latin1' : 'utf8');
    if (r.chance(0.15)) event = event.subarray(0, r.below(event.length + 1));
    await throughTheProxy(event, `random JSON ${n}`);
  }
  assert.deepEqual(figures.failures, []);
});

test('the extension never died and still serves invocations', async () => {
  await throughTheProxy(Buffer.from('{"alive":true}'), 'final check');
  const died = env.sandbox.events.filter((e) => e.kind === 'process-exit' || e.kind === 'reset' || e.kind === 'crash');
  assert.deepEqual(died, []);
  assert.deepEqual(figures.failures, []);
});
