// Several invocations in flight at once (Lambda Managed Instances): state is
// per request id, answers may come in any order, and a long poll is just a wait.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { next, raw, respond, startWithProxy } from './harness.ts';

test('four concurrent invocations answered out of order each get their own response', async () => {
  const env = await startWithProxy({ concurrency: 4 });
  try {
    const invocations = [0, 1, 2, 3].map((n) => env.sandbox.invoke(JSON.stringify({ n })));
    const events = await Promise.all([0, 1, 2, 3].map(() => next(env.proxy)));
    const byN = new Map(events.map((e) => [(JSON.parse(e.body.toString()) as { n: number }).n, raw(e.rawHeaders, 'lambda-runtime-aws-request-id')!]));
    assert.equal(byN.size, 4);
    for (const n of [2, 0, 3, 1]) {
      const posted = await respond(env.proxy, byN.get(n)!, Buffer.from(`{"answer":${n}}`));
      assert.equal(posted.status, 202);
    }
    const results = await Promise.all(invocations);
    results.forEach((r, n) => {
      assert.equal(r.requestId, byN.get(n));
      assert.equal(r.body.toString(), `{"answer":${n}}`);
    });
  } finally {
    await env.sandbox.shutdown();
  }
});

test('registers for SHUTDOWN only on Managed Instances, where an INVOKE registration is refused', async () => {
  const env = await startWithProxy({ concurrency: 2 });
  try {
    const register = env.sandbox.requests.find((r) => r.url.endsWith('/extension/register'))!;
    assert.deepEqual(JSON.parse(register.body.toString()), { events: ['SHUTDOWN'] });
  } finally {
    await env.sandbox.shutdown();
  }
});

test('a /next long poll of 30 seconds is held open, not timed out', { timeout: 60_000 }, async () => {
  const env = await startWithProxy();
  try {
    const started = Date.now();
    const got = next(env.proxy);
    const invoked = new Promise((resolve) => setTimeout(resolve, 30_000)).then(() => env.sandbox.invoke('{"late":true}'));
    const event = await got;
    assert.ok(Date.now() - started >= 29_900, 'the event came after the 30 s wait');
    assert.equal(event.status, 200);
    assert.equal(event.body.toString(), '{"late":true}');
    await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('"ok"'));
    assert.equal((await invoked).status, 202);
  } finally {
    await env.sandbox.shutdown();
  }
});
