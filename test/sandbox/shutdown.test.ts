import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from './fixtures/http-client.ts';
import { data, fields, sandbox } from './fixtures/harness.ts';

describe('Shutdown', () => {
  test('shutdown sends SIGTERM to the runtime and SHUTDOWN spindown with a 2000 ms deadline, then SIGKILLs what still runs', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { polite: {}, stubborn: { onShutdown: 'ignore' }, deaf: { events: ['INVOKE'] } },
    });
    const report = await sb.shutdown();
    const phase = sb.events.find((e) => e.kind === 'shutdown');
    assert.equal(phase?.detail['reason'], 'spindown');
    const deadlineMs = Number(phase?.detail['deadlineMs']);
    assert.ok(Math.abs(deadlineMs - (phase?.at ?? 0) - 2_000) < 50, 'deadlineMs = start of shutdown + 2000');

    for (const name of ['polite', 'stubborn']) {
      const event = fields(data(await control.waitForReport(name, 'event'))['event']);
      assert.deepEqual(event, { eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs });
    }
    await control.waitForReport('runtime', 'sigterm');
    assert.equal(report.runtime?.exitCode, 0);
    assert.equal(report.runtime?.killed, false);

    const byName = new Map(report.extensions.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()].sort(), ['deaf', 'polite', 'stubborn']);
    assert.equal(byName.get('polite')?.exitCode, 0);
    assert.equal(byName.get('polite')?.killed, false);
    assert.ok((byName.get('polite')?.exitedAfterMs ?? Infinity) < 2_000);
    // Not subscribed to SHUTDOWN: killed at once, as RIE does.
    assert.equal(byName.get('deaf')?.killed, true);
    assert.ok((byName.get('deaf')?.exitedAfterMs ?? Infinity) < 2_000);
    // Still running at the deadline: SIGKILL then, not before.
    const stubborn = byName.get('stubborn');
    assert.equal(stubborn?.killed, true);
    assert.equal(stubborn?.signal, 'SIGKILL');
    assert.ok((stubborn?.exitedAfterMs ?? 0) >= 1_990 && (stubborn?.exitedAfterMs ?? Infinity) < 2_000 + 3_000);
  });

  test('shutdown closes the API server and leaves no process behind', async (t) => {
    const { sb } = await sandbox(t, { extensions: { 'ext-a': {}, 'ext-b': { onShutdown: 'ignore' } }, options: { shutdownDeadlineMs: 200 } });
    const pids = sb.events.filter((e) => e.kind === 'extension-started' || e.kind === 'runtime-started').map((e) => Number(e.detail['pid']));
    assert.equal(pids.length, 3);
    const address = sb.address;
    await sb.shutdown();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
    await assert.rejects(request('GET', address, '/2018-06-01/runtime/invocation/next'), { code: 'ECONNREFUSED' });
    await assert.rejects(sb.invoke('{}'), { code: 'SANDBOX_INVALID_STATE' });
  });

  test('shutdown twice returns the same report', async (t) => {
    const { sb } = await sandbox(t);
    const [a, b] = await Promise.all([sb.shutdown(), sb.shutdown()]);
    assert.equal(a, b);
  });
});
