import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { now } from './clock.ts';
import { request } from './fixtures/http-client.ts';
import { act, data, fields, indexOf, isEventNext, isRuntimeNext, sandbox } from './fixtures/harness.ts';
import { rawHeader } from './sandbox.ts';

const TRACE = 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1';

describe('Invoke', () => {
  test('the runtime gets the event bytes unchanged and posts them back byte for byte', async (t) => {
    const { sb } = await sandbox(t);
    const payload = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x22, 0x80]);
    const result = await sb.invoke(payload);
    assert.equal(result.outcome, 'response');
    assert.equal(result.status, 202);
    assert.ok(result.body.equals(payload));
  });

  test('/next carries the documented headers, client context, cognito identity and extra headers', async (t) => {
    const { sb } = await sandbox(t);
    const result = await act(sb, { action: 'headers' }, {
      traceId: TRACE,
      clientContext: '{"custom":{"k":"v"}}',
      cognitoIdentity: '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
      extraHeaders: [['Lambda-Runtime-Aws-Tenant-Id', 'tenant-1']],
    });
    const headers = JSON.parse(result.body.toString()) as string[];
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Aws-Request-Id'), result.requestId);
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Deadline-Ms'), String(result.deadlineMs));
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Invoked-Function-Arn'), 'arn:aws:lambda:us-east-1:123456789012:function:sandbox-fn');
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Trace-Id'), TRACE);
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Client-Context'), '{"custom":{"k":"v"}}');
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Cognito-Identity'), '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}');
    assert.equal(rawHeader(headers, 'Content-Type'), 'application/json');
    assert.equal(rawHeader(headers, 'Lambda-Runtime-Aws-Tenant-Id'), 'tenant-1');
    assert.equal(result.traceId, TRACE);
  });

  test('the default trace header is a fresh sampled X-Ray header with a current epoch', async (t) => {
    const { sb } = await sandbox(t);
    const before = Math.floor(Date.now() / 1000);
    const result = await sb.invoke('{}');
    const m = /^Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/.exec(result.traceId);
    assert.ok(m !== null, result.traceId);
    assert.ok(Math.abs(Number.parseInt(m[1] ?? '', 16) - before) <= 5);
  });

  test('INVOKE reaches subscribed extensions with the request id, deadline, ARN and trace, and no one else', async (t) => {
    const h = await sandbox(t, { extensions: { listener: {}, 'shutdown-only': { events: ['SHUTDOWN'] } } });
    const { sb, control } = h;
    const mark = sb.events.length;
    const result = await sb.invoke('{}', { traceId: TRACE });
    const event = fields(data(await control.waitForReport('listener', 'event'))['event']);
    assert.deepEqual(event, {
      eventType: 'INVOKE',
      deadlineMs: result.deadlineMs,
      requestId: result.requestId,
      invokedFunctionArn: sb.functionArn,
      tracing: { type: 'X-Amzn-Trace-Id', value: TRACE },
    });
    await sb.waitForEvent('freeze', { fromIndex: mark });
    // The SHUTDOWN-only extension is still parked in its first /event/next.
    const quietId = sb.events.find((e) => e.kind === 'extension-registered' && e.detail['name'] === 'shutdown-only')?.detail['id'];
    const quietNext = sb.requests.filter((r) => isEventNext(r) && rawHeader(r.rawHeaders, 'Lambda-Extension-Identifier') === quietId);
    assert.equal(quietNext.length, 1);
    assert.equal(quietNext[0]?.status, null);
  });

  test('the caller gets the response at once, and freeze is recorded only once every extension is back in next', async (t) => {
    const { sb, control } = await sandbox(t, { extensions: { busy: { onInvoke: 'gate' } } });
    const mark = sb.events.length;
    const result = await sb.invoke('{}');
    assert.equal(result.outcome, 'response');
    await control.waitForGate(`busy/${result.requestId}`);
    await sb.waitForRequest((r) => isRuntimeNext(r) && r.at > result.endedAt);
    assert.equal(indexOf(sb.events.slice(mark), 'freeze'), -1, 'the runtime alone in /next does not freeze');

    const released = now();
    control.open(`busy/${result.requestId}`);
    const freeze = await sb.waitForEvent('freeze', { fromIndex: mark });
    assert.equal(freeze.detail['after'], result.requestId);
    assert.ok(freeze.at >= released);
    const extensionBack = sb.requests.find((r) => isEventNext(r) && r.at >= released);
    assert.ok(extensionBack !== undefined && extensionBack.at <= freeze.at);
  });

  test('invocations queue and run one at a time, thawing the environment for each', async (t) => {
    const { sb, control } = await sandbox(t);
    const first = act(sb, { action: 'gate', gate: 'first' });
    const second = sb.invoke('{"n":2}');
    await control.waitForGate('first');
    assert.equal(sb.events.filter((e) => e.kind === 'invoke').length, 1);
    control.open('first');
    const [a, b] = await Promise.all([first, second]);
    assert.ok(a.endedAt <= b.startedAt);
    await sb.waitForEvent('freeze', { match: (e) => e.detail['after'] === b.requestId });
    const lifecycle = sb.events.map((e) => e.kind).filter((k) => ['freeze', 'thaw', 'invoke', 'invoke-done'].includes(k));
    assert.deepEqual(lifecycle, ['freeze', 'thaw', 'invoke', 'invoke-done', 'freeze', 'thaw', 'invoke', 'invoke-done', 'freeze']);
  });

  test('holdNext keeps /next pending while invocations queue', async (t) => {
    const { sb } = await sandbox(t);
    const release = sb.holdNext();
    const pending = sb.invoke('{"held":true}');
    assert.equal(indexOf(sb.events, 'invoke'), -1);
    assert.equal(sb.requests.filter(isRuntimeNext).at(-1)?.status, null);
    release();
    assert.equal((await pending).body.toString(), '{"held":true}');
  });

  test('failNextOnce answers the waiting /next with the planned status, and the runtime exiting on it resets the environment', async (t) => {
    const { sb, control } = await sandbox(t);
    sb.failNextOnce(500, '{"errorMessage":"container error","errorType":"ServiceException"}');
    const failed = data(await control.waitForReport('runtime', 'next-failed'));
    assert.equal(failed['status'], 500);
    assert.equal(failed['body'], '{"errorMessage":"container error","errorType":"ServiceException"}');
    const reset = await sb.waitForEvent('reset');
    assert.equal(reset.detail['reason'], 'failure');
    assert.equal((await sb.invoke('{"after":"reset"}')).outcome, 'response');
  });

  test("with runtime 'external' the test plays the runtime over HTTP", async (t) => {
    const { sb } = await sandbox(t, { runtime: 'external', extensions: { 'ext-a': {} } });
    assert.equal(indexOf(sb.events, 'runtime-started'), -1);
    assert.notEqual(indexOf(sb.events, 'init-done'), -1);
    const invoking = sb.invoke('{"played":"by the test"}');
    const next = await request('GET', sb.address, '/2018-06-01/runtime/invocation/next');
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), '{"played":"by the test"}');
    const id = String(next.headers['lambda-runtime-aws-request-id']);
    const posted = await request('POST', sb.address, `/2018-06-01/runtime/invocation/${id}/response`, { body: 'done' });
    assert.equal(posted.status, 202);
    assert.equal(posted.body.toString(), '{"status":"OK"}');
    const result = await invoking;
    assert.equal(result.body.toString(), 'done');
    // Back in /next: now the environment may freeze. The sandbox closes this poll on shutdown.
    const mark = sb.events.length;
    request('GET', sb.address, '/2018-06-01/runtime/invocation/next').catch(() => undefined);
    await sb.waitForEvent('freeze', { fromIndex: mark });
  });
});
