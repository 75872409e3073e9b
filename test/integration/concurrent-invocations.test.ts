// Several invocations in flight at once (Lambda Managed Instances): state is
// per request id, answers may come in any order, and a long poll is just a wait.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RUNTIME, TRACING_MODES, next, raw, request, respond, startWithProxy } from './harness.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

for (const tracing of TRACING_MODES) {
  describe(`with tracing ${tracing ? 'on' : 'off'}`, () => {
    test('four concurrent invocations answered out of order each get their own response', async () => {
      const env = await startWithProxy({ concurrency: 4, tracing });
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
        await env.close();
      }
    });

    test('registers for SHUTDOWN only on Managed Instances, where an INVOKE registration is refused', async () => {
      const env = await startWithProxy({ concurrency: 2, tracing });
      try {
        const register = env.sandbox.requests.find((r) => r.url.endsWith('/extension/register'))!;
        assert.deepEqual(JSON.parse(register.body.toString()), { events: ['SHUTDOWN'] });
      } finally {
        await env.close();
      }
    });

    test('a /next long poll stays open while Lambda has no event for it, and gets the event when one comes', async () => {
      // An idle spell of any length, without a clock: the sandbox holds every
      // /next (as Lambda does while no one invokes) until the test lets go.
      const env = await startWithProxy({ tracing });
      try {
        const release = env.sandbox.holdNext();
        const got = next(env.proxy);
        let answered = false;
        void got.then(() => { answered = true; }, () => { answered = true; });
        const poll = await env.sandbox.waitForRequest((r) => r.url.endsWith('/invocation/next'));
        const invoked = env.sandbox.invoke('{"late":true}');
        // Other traffic goes by while the poll waits: the extension's own calls, another runtime call.
        assert.equal((await request(env.proxy, { path: `${RUNTIME}/no-such-call` })).status, 404);
        assert.equal(answered, false);
        assert.equal(poll.status, null);
        assert.equal(poll.aborted, false);
        release();
        const event = await got;
        assert.equal(event.status, 200);
        assert.equal(event.body.toString(), '{"late":true}');
        await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('"ok"'));
        assert.equal((await invoked).status, 202);
      } finally {
        await env.close();
      }
    });
  });
}

test('Managed Instances: the span of an invocation whose runtime worker never answered ends as a timeout after its deadline, not never', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({
    concurrency: 2, timeoutMs: 1_000,
    env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
  });
  try {
    const lost = env.sandbox.invoke('{"worker":"dies"}');
    const got = await next(env.proxy);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    assert.equal((await lost).outcome, 'timeout'); // Lambda gave up on it; nothing will ever post.
    const [span] = await receiver.waitForSpans((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
    assert.equal(span?.status.code, 'ERROR');
    assert.equal(span?.attributes['error.type'], 'timeout');
  } finally {
    await env.close();
    await receiver.close();
  }
});
