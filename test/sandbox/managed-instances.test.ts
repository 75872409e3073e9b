import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { act, data, fields, indexOf, isRuntimeNext, sandbox } from './fixtures/harness.ts';

describe('Lambda Managed Instances (concurrency > 1)', () => {
  test('several /next wait at once and invocations run concurrently without freezing', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { watcher: { events: ['SHUTDOWN'] } },
      runtime: { concurrency: 2 },
      options: { concurrency: 2 },
    });
    await sb.waitForRequest((r) => sb.requests.filter(isRuntimeNext).indexOf(r) === 1);
    assert.deepEqual(sb.requests.filter(isRuntimeNext).map((r) => r.status), [null, null], 'two long polls wait');
    const a = act(sb, { action: 'gate', gate: 'a' });
    const b = act(sb, { action: 'gate', gate: 'b' });
    // Both are in the runtime's hands at the same time.
    await Promise.all([control.waitForGate('a'), control.waitForGate('b')]);
    assert.equal(sb.events.filter((e) => e.kind === 'invoke').length, 2);
    control.open('a');
    control.open('b');
    const results = await Promise.all([a, b]);
    assert.deepEqual(results.map((r) => r.status), [202, 202]);

    const env = fields(JSON.parse((await act(sb, { action: 'env' })).body.toString()));
    assert.equal(env['AWS_LAMBDA_INITIALIZATION_TYPE'], 'lambda-managed-instances');
    assert.equal(env['AWS_LAMBDA_MAX_CONCURRENCY'], '2');
    assert.equal(indexOf(sb.events, 'freeze'), -1);
    assert.equal(indexOf(sb.events, 'thaw'), -1);
  });

  test('a registration for INVOKE is refused with 403 Extension.InvalidEventType; SHUTDOWN alone is accepted', async (t) => {
    const { control } = await sandbox(t, {
      extensions: { adaptive: { registrations: [{ events: ['INVOKE', 'SHUTDOWN'] }, { events: ['SHUTDOWN'] }] } },
      runtime: { concurrency: 2 },
      options: { concurrency: 2 },
    });
    const [refused, accepted] = control.all('adaptive', 'register').map(data);
    assert.equal(refused?.['status'], 403);
    assert.equal(fields(refused?.['body'])['errorType'], 'Extension.InvalidEventType');
    assert.equal(accepted?.['status'], 200);
  });

  test('an extension that gives up after the INVOKE refusal fails the Init', async (t) => {
    const { sb } = await sandbox(t, {
      extensions: { stubborn: { events: ['INVOKE', 'SHUTDOWN'] } },
      runtime: { concurrency: 2 },
      options: { concurrency: 2 },
      start: false,
    });
    await assert.rejects(sb.start(), { name: 'SandboxInitError', reason: 'process-exited', message: /stubborn.*before registering/ });
    assert.equal(sb.events.find((e) => e.kind === 'extension-register-refused')?.detail['errorType'], 'Extension.InvalidEventType');
  });

  test('a timed-out invocation is not reset: the environment keeps serving', async (t) => {
    const { sb } = await sandbox(t, { runtime: { concurrency: 2 }, options: { concurrency: 2, timeoutMs: 1_000 } });
    const stuck = await act(sb, { action: 'hang' });
    assert.equal(stuck.outcome, 'timeout');
    assert.equal((await sb.invoke('{"still":"serving"}')).outcome, 'response');
    assert.equal(indexOf(sb.events, 'reset'), -1);
  });
});
