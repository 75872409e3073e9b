import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from './fixtures/http-client.ts';
import { data, fields, indexOf, isEventNext, isRuntimeNext, sandbox } from './fixtures/harness.ts';
import { SandboxInitError } from './sandbox.ts';

describe('Init', () => {
  test('an extension registering under a name other than its file name is refused with 403', async (t) => {
    const { control } = await sandbox(t, {
      extensions: { 'ext-a': { registrations: [{ name: 'not-my-file-name' }, {}] } },
    });
    const [refused, accepted] = control.all('ext-a', 'register').map(data);
    assert.equal(refused?.['status'], 403);
    assert.equal(fields(refused?.['body'])['errorType'], 'Extension.InvalidExtensionName');
    assert.equal(accepted?.['status'], 200);
  });

  test('register answers the function metadata and a Lambda-Extension-Identifier', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { 'ext-a': {} },
      options: { functionName: 'orders', functionVersion: '7', handler: 'app.main' },
    });
    const registered = data(await control.waitForReport('ext-a', 'register'));
    assert.deepEqual(registered['body'], { functionName: 'orders', functionVersion: '7', handler: 'app.main' });
    const id = registered['identifier'];
    assert.match(String(id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(sb.events.find((e) => e.kind === 'extension-registered')?.detail['id'], id);
  });

  test('register adds accountId when the extension accepts that feature', async (t) => {
    const { control } = await sandbox(t, {
      extensions: { 'ext-a': { acceptFeature: 'accountId' } },
      options: { accountId: '210987654321' },
    });
    const registered = data(await control.waitForReport('ext-a', 'register'));
    assert.equal(fields(registered['body'])['accountId'], '210987654321');
  });

  test('registration after Init is refused with 403 Extension.RegistrationClosed', async (t) => {
    const { sb } = await sandbox(t, { runtime: 'external' });
    const late = await request('POST', sb.address, '/2020-01-01/extension/register', {
      headers: { 'Lambda-Extension-Name': 'late' },
      body: '{"events":["SHUTDOWN"]}',
    });
    assert.equal(late.status, 403);
    assert.equal(fields(JSON.parse(late.body.toString()))['errorType'], 'Extension.RegistrationClosed');
  });

  test('Init waits for every extension to register before starting the runtime', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { slow: { gateBeforeRegister: 'slow-register' }, quick: {} },
      start: false,
    });
    let started = false;
    const starting = sb.start().then(() => {
      started = true;
    });
    await control.waitForGate('slow-register');
    await sb.waitForEvent('extension-registered', { match: (e) => e.detail['name'] === 'quick' });
    assert.equal(started, false);
    assert.equal(indexOf(sb.events, 'runtime-started'), -1);

    control.open('slow-register');
    await starting;
    const slowRegistered = indexOf(sb.events, 'extension-registered', (e) => e.detail['name'] === 'slow');
    const runtimeStarted = indexOf(sb.events, 'runtime-started');
    const initDone = indexOf(sb.events, 'init-done');
    assert.ok(slowRegistered < runtimeStarted && runtimeStarted < initDone, 'registered → runtime started → init done');
    // Init ends when the runtime and every extension called next.
    const doneAt = sb.events[initDone]?.at ?? 0;
    assert.equal(sb.requests.filter((r) => isRuntimeNext(r) && r.at <= doneAt).length, 1);
    assert.equal(sb.requests.filter((r) => isEventNext(r) && r.at <= doneAt).length, 2);
  });

  test("an extension's init/error fails start() with its error type and message", async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { broken: { initError: { type: 'Extension.ConfigInvalid', message: 'no endpoint' } } },
      start: false,
    });
    await assert.rejects(sb.start(), (err: unknown) => {
      assert.ok(err instanceof SandboxInitError);
      assert.equal(err.reason, 'extension-init-error');
      assert.equal(err.errorType, 'Extension.ConfigInvalid');
      assert.match(err.message, /broken.*no endpoint/);
      return true;
    });
    assert.equal(sb.requests.find((r) => r.url === '/2020-01-01/extension/init/error')?.status, 202);
  });

  test("a runtime's init/error fails start() with its error type", async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { 'ext-a': {} },
      runtime: { initError: { type: 'Runtime.ImportModuleError', message: 'Cannot find module index' } },
      start: false,
    });
    await assert.rejects(sb.start(), { name: 'SandboxInitError', errorType: 'Runtime.ImportModuleError', reason: 'runtime-init-error' });
    assert.equal(sb.requests.find((r) => r.url === '/2018-06-01/runtime/init/error')?.status, 202);
    // A failed Init resets the environment: the registered extension is told so.
    const shutdown = fields(data(await control.waitForReport('ext-a', 'event'))['event']);
    assert.equal(shutdown['eventType'], 'SHUTDOWN');
    assert.equal(shutdown['shutdownReason'], 'failure');
  });

  test('an Init that does not finish within initTimeoutMs fails start() and stops what it started', async (t) => {
    const { sb } = await sandbox(t, {
      extensions: { stuck: { gateBeforeRegister: 'never' } },
      options: { initTimeoutMs: 300 },
      start: false,
    });
    await assert.rejects(sb.start(), (err: unknown) => {
      assert.ok(err instanceof SandboxInitError);
      assert.equal(err.reason, 'timeout');
      assert.match(err.message, /not registered: stuck/);
      return true;
    });
    const exit = sb.events.find((e) => e.kind === 'process-exit' && e.detail['name'] === 'stuck');
    assert.equal(exit?.detail['signal'], 'SIGKILL');
  });

  test('an invoke after a failed start() initialises again', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { flaky: { gateBeforeRegister: 'flaky-register' } },
      options: { initTimeoutMs: 2_000 },
      start: false,
    });
    await assert.rejects(sb.start(), { reason: 'timeout' });
    control.open('flaky-register');
    const result = await sb.invoke('{"second":"chance"}');
    assert.equal(result.outcome, 'response');
    assert.equal(sb.events.filter((e) => e.kind === 'init-start').length, 2);
  });
});
