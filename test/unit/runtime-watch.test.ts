// The lifecycle's view of the runtime: how long each INVOKE is held, and the
// runtime that is not behind the proxy at all, told apart from a slow one by
// the order of events alone (no timers).

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { RuntimeWatch, BYPASS_CODE, type InvocationEnd } from '../../src/lifecycle/runtime-watch.ts';
import { createLogger } from '../../src/log.ts';

function setUp(options: { onAbandoned?: (id: string) => void; onQuiet?: () => void; onHandedOut?: () => void } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const watch = new RuntimeWatch({ log, listenerPort: 9009, ...options });
  const later = () => performance.now() + 60_000;
  /** The INVOKE for `id`: the end, or 'pending' while it is still held. */
  const invoke = (id: string) => {
    let end: InvocationEnd | 'pending' = 'pending';
    const done = watch.whenEnded(id, later()).then((e) => { end = e; return e; });
    return { done, get end() { return end; } };
  };
  const errors = () => lines.filter((l) => l.level === 'error');
  return { watch, invoke, errors, lines };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('an invocation handed out through the proxy is held until its post reaches Lambda', async () => {
  const { watch, invoke, errors } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  const held = invoke('a');
  await tick();
  assert.equal(held.end, 'pending');
  watch.postEnded('a', 202);
  assert.equal(await held.done, 'posted');
  assert.equal(errors().length, 0);
});

test('an INVOKE that arrives while the runtime\'s /next is still being forwarded waits for the event, not a bypass', async () => {
  const { watch, invoke, errors } = setUp();
  watch.nextRequested(); // Lambda releases extensions just before the runtime: the INVOKE may come first.
  const held = invoke('a');
  await tick();
  assert.equal(held.end, 'pending');
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  await tick();
  assert.equal(held.end, 'pending');
  watch.postEnded('a', 202);
  assert.equal(await held.done, 'posted');
  assert.equal(watch.bypassed, false);
  assert.equal(errors().length, 0);
});

test('an INVOKE read after the runtime already posted is released at once', async () => {
  const { watch, invoke } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  watch.postEnded('a', undefined);
  watch.nextRequested(); // The runtime already waits for the next event.
  assert.equal(await invoke('a').done, 'posted');
});

test('an INVOKE for an event the proxy never handed out, with no /next outstanding, is a bypass: released at once, one error', async () => {
  const { watch, invoke, errors } = setUp();
  assert.equal(await invoke('a').done, 'bypassed');
  assert.equal(await invoke('b').done, 'bypassed');
  assert.equal(errors().length, 1);
  assert.equal(errors()[0]?.code, BYPASS_CODE);
  assert.match(String(errors()[0]?.msg), /AWS_LAMBDA_EXEC_WRAPPER=\/opt\/wrapper-script\.sh/);
  assert.match(String(errors()[0]?.msg), /bootstrap/);
  assert.equal(watch.bypassed, true);
  assert.equal(watch.wasBypassed('a'), true);
  assert.equal(watch.wasBypassed('c'), false);
});

test('a /next that ends without handing the event out turns a pending INVOKE into a bypass', async () => {
  const { watch, invoke } = setUp();
  watch.nextRequested();
  const held = invoke('a');
  await tick();
  assert.equal(held.end, 'pending');
  watch.nextAnswered(undefined);
  assert.equal(await held.done, 'bypassed');
});

test('once the runtime shows up through the proxy, invocations are held again', async () => {
  const { watch, invoke, lines } = setUp();
  assert.equal(await invoke('a').done, 'bypassed');
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'b', deadlineMs: undefined });
  assert.equal(watch.bypassed, false);
  assert.ok(lines.some((l) => l.code === 'LRAP_RUNTIME_PROXIED'));
  const held = invoke('b');
  await tick();
  assert.equal(held.end, 'pending');
  watch.postEnded('b', 202);
  assert.equal(await held.done, 'posted');
});

test('a request id Lambda hands out again is waited for again', async () => {
  const { watch, invoke } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  watch.postEnded('a', 202);
  assert.equal(await invoke('a').done, 'posted');
  watch.nextRequested();
  const retry = invoke('a'); // The retry's INVOKE, its event still on its way.
  await tick();
  assert.equal(retry.end, 'pending');
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  await tick();
  assert.equal(retry.end, 'pending');
  watch.postEnded('a', 202);
  assert.equal(await retry.done, 'posted');
});

test('a closed runtime connection releases the invocation', async () => {
  const { watch, invoke } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  const held = invoke('a');
  watch.eventConnectionClosed('a');
  assert.equal(await held.done, 'runtime-gone');
});

test('an invocation never posted is released at the deadline it was given', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { watch } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  const held = watch.whenEnded('a', performance.now() + 5_000);
  t.mock.timers.tick(5_000);
  assert.equal(await held, 'deadline');
});

test('Managed Instances: an invocation still open a second after its deadline is reported abandoned, once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const abandoned: string[] = [];
  const { watch } = setUp({ onAbandoned: (id) => abandoned.push(id) });
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: 1_003_000 });
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'b', deadlineMs: 1_003_000 });
  watch.postEnded('b', 202);
  t.mock.timers.tick(3_999);
  assert.deepEqual(abandoned, []);
  t.mock.timers.tick(1);
  assert.deepEqual(abandoned, ['a']);
  watch.postEnded('a', 202); // A late post changes nothing.
  assert.deepEqual(abandoned, ['a']);
});

test('a post Lambda refuses for an id the proxy never handed out (400 InvalidRequestID) holds and ends nothing', async () => {
  const { watch, invoke, errors } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  const held = invoke('a');
  watch.postEnded('made-up', 400);
  watch.postEnded('a-typo', 403);
  await tick();
  assert.equal(held.end, 'pending', 'the current invocation still waits for its own post');
  watch.nextRequested();
  const stray = invoke('made-up'); // Not remembered as ended: an INVOKE for it waits for its event.
  await tick();
  assert.equal(stray.end, 'pending');
  watch.postEnded('a', 202);
  assert.equal(await held.done, 'posted');
  watch.nextAnswered({ requestId: 'made-up', deadlineMs: undefined });
  watch.postEnded('made-up', 202);
  assert.equal(await stray.done, 'posted');
  assert.equal(errors().length, 0);
});

test('a post Lambda took for an event the proxy never handed out releases its INVOKE at once, read after the post or before it', async () => {
  const { watch, invoke, errors } = setUp();
  // The INVOKE is read after the post, with the runtime already back in /next through the proxy.
  watch.postEnded('a', 202);
  watch.nextRequested();
  assert.equal(await invoke('a').done, 'posted');
  // The INVOKE is read first, while a /next is outstanding (the event went down a connection that broke).
  const held = invoke('b');
  await tick();
  assert.equal(held.end, 'pending');
  watch.postEnded('b', 413); // Too large: Lambda ends the invocation with Function.ResponseSizeTooLarge.
  assert.equal(await held.done, 'posted');
  assert.equal(watch.bypassed, false);
  assert.equal(errors().length, 0);
});

test('a post sent again after it could not be delivered belongs to the same attempt: a later retry of the id is waited for', async () => {
  const { watch, invoke } = setUp();
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  watch.postEnded('a', undefined); // The runtime got a 502...
  watch.postEnded('a', 202); // ...and posted again: Lambda took it.
  assert.equal(await invoke('a').done, 'posted');
  watch.nextRequested();
  const retry = invoke('a');
  await tick();
  assert.equal(retry.end, 'pending', 'the second post is not taken for an attempt that went around the proxy');
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  watch.postEnded('a', 202);
  assert.equal(await retry.done, 'posted');
});

test('Managed Instances: the lifecycle says it is quiet when the last running invocation ends, however it ends', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  let quiet = 0;
  const { watch } = setUp({ onAbandoned: () => undefined, onQuiet: () => { quiet++; } });
  assert.equal(watch.invocationsRunning, false);
  for (const id of ['a', 'b', 'c']) {
    watch.nextRequested();
    watch.nextAnswered({ requestId: id, deadlineMs: id === 'c' ? Date.now() + 5_000 : undefined });
  }
  assert.equal(watch.invocationsRunning, true);
  watch.postEnded('a', 202);
  assert.equal(quiet, 0, 'b and c still run');
  watch.eventConnectionClosed('b');
  assert.equal(quiet, 0, 'c still runs');
  t.mock.timers.tick(6_000); // c abandoned a second after its deadline
  assert.equal(quiet, 1);
  assert.equal(watch.invocationsRunning, false);
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'd', deadlineMs: undefined });
  assert.equal(watch.invocationsRunning, true);
  watch.postEnded('d', 202);
  assert.equal(quiet, 2);
});

test('the lifecycle is told each time the runtime gets an event through the proxy, and not for a /next that brought none', () => {
  let handedOut = 0;
  const { watch } = setUp({ onHandedOut: () => { handedOut++; } });
  watch.nextRequested();
  assert.equal(handedOut, 0, 'asked, not answered');
  watch.nextAnswered(undefined);
  assert.equal(handedOut, 0, 'an error answer or an upstream failure brings no event');
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined });
  assert.equal(handedOut, 1);
  watch.postEnded('a', 202);
  watch.nextRequested();
  watch.nextAnswered({ requestId: 'a', deadlineMs: undefined }); // a retried attempt of the same id
  assert.equal(handedOut, 2);
});
