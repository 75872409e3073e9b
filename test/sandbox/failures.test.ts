import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { act, data, fields, indexOf, sandbox } from './fixtures/harness.ts';
import type { Harness } from './fixtures/harness.ts';

/** The SHUTDOWN event an extension received (reported to the control server). */
async function shutdownSeenBy(h: Harness, name: string): Promise<Record<string, unknown>> {
  const report = await h.control.reports.waitFor(
    (r) => r.source === name && r.kind === 'event' && fields(data(r)['event'])['eventType'] === 'SHUTDOWN',
  );
  return fields(data(report)['event']);
}

function runtimePids(h: Harness): unknown[] {
  return h.sb.events.filter((e) => e.kind === 'runtime-started').map((e) => e.detail['pid']);
}

describe('Failures', () => {
  test('a runtime that misses the deadline is killed, extensions get SHUTDOWN timeout, and the next invoke initialises anew', async (t) => {
    const h = await sandbox(t, { extensions: { watcher: {} }, options: { timeoutMs: 1_000 } });
    const result = await act(h.sb, { action: 'hang' });
    assert.equal(result.outcome, 'timeout');
    assert.equal(result.status, null);
    // The deadline is the behaviour here: not before it, and not long after.
    assert.ok(result.endedAt >= result.deadlineMs - 5 && result.durationMs < 1_000 + 2_000);
    assert.equal((await h.sb.waitForEvent('reset')).detail['reason'], 'timeout');
    const shutdown = await shutdownSeenBy(h, 'watcher');
    assert.equal(shutdown['shutdownReason'], 'timeout');
    assert.equal(typeof shutdown['deadlineMs'], 'number');
    const killed = await h.sb.waitForEvent('process-exit', { match: (e) => e.detail['name'] === 'runtime' });
    assert.equal(killed.detail['signal'], 'SIGKILL');

    const again = await h.sb.invoke('{"after":"timeout"}');
    assert.equal(again.outcome, 'response');
    const pids = runtimePids(h);
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    const ids = h.sb.events.filter((e) => e.kind === 'extension-registered').map((e) => e.detail['id']);
    assert.equal(ids.length, 2, 'the extension registered again in the new environment');
    assert.ok(indexOf(h.sb.events, 'reset') < indexOf(h.sb.events, 'init-start', (e) => e.at > result.endedAt));
  });

  test('a runtime that exits during an invoke gives outcome crash and a reset with reason failure', async (t) => {
    const h = await sandbox(t, { extensions: { watcher: {} } });
    const result = await act(h.sb, { action: 'exit' });
    assert.equal(result.outcome, 'crash');
    assert.equal((await h.sb.waitForEvent('crash')).detail['process'], 'runtime');
    assert.equal((await h.sb.waitForEvent('reset')).detail['reason'], 'failure');
    assert.equal((await shutdownSeenBy(h, 'watcher'))['shutdownReason'], 'failure');
    assert.equal((await h.sb.invoke('{}')).outcome, 'response');
  });

  test('an extension that crashes during an invoke resets the environment', async (t) => {
    const h = await sandbox(t, { extensions: { fragile: { onInvoke: 'crash' }, watcher: {} } });
    const result = await act(h.sb, { action: 'hang' });
    assert.equal(result.outcome, 'crash');
    assert.equal((await h.sb.waitForEvent('crash')).detail['process'], 'fragile');
    assert.equal((await h.sb.waitForEvent('reset')).detail['reason'], 'failure');
    assert.equal((await shutdownSeenBy(h, 'watcher'))['shutdownReason'], 'failure');
  });

  test('an extension that reports exit/error and exits resets the environment', async (t) => {
    const h = await sandbox(t, { extensions: { quitter: { onInvoke: 'exit-error' } } });
    await act(h.sb, { action: 'hang' });
    const reported = await h.sb.waitForEvent('extension-exit-error');
    assert.equal(reported.detail['errorType'], 'Extension.Fatal');
    assert.equal(h.sb.requests.find((r) => r.url === '/2020-01-01/extension/exit/error')?.status, 202);
    assert.equal((await h.sb.waitForEvent('reset')).detail['reason'], 'failure');
  });

  test('an extension still busy at the deadline after the runtime answered times the invoke out', async (t) => {
    const h = await sandbox(t, {
      extensions: { slow: { onInvoke: 'gate' } },
      options: { timeoutMs: 1_000, shutdownDeadlineMs: 300 },
    });
    const result = await h.sb.invoke('{}');
    assert.equal(result.outcome, 'response', 'the caller already has the response');
    const timeout = await h.sb.waitForEvent('timeout');
    assert.equal(timeout.detail['phase'], 'extensions');
    assert.deepEqual(timeout.detail['extensions'], ['slow']);
    assert.equal((await h.sb.waitForEvent('reset')).detail['reason'], 'timeout');
  });
});
