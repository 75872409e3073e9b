import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from './fixtures/http-client.ts';
import { indexOf, sandbox } from './fixtures/harness.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function socketTo(address: string) {
  const [host, port] = address.split(':');
  return connect(Number(port), host);
}

/** Dead or a zombie waiting for init to reap it. */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * No event tells this process that an unrelated process died, so this polls
 * /proc, bounded by a safety-net timeout.
 */
async function gone(pids: readonly number[], timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!pids.every(isGone)) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

describe('Robustness', () => {
  test('garbage on a socket gets 400 and the sandbox goes on serving', async (t) => {
    const { sb } = await sandbox(t);
    const socket = socketTo(sb.address);
    socket.write('THIS IS NOT HTTP\r\n\r\n');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 400/);
    assert.equal((await sb.invoke('{"still":"fine"}')).outcome, 'response');
    assert.equal(indexOf(sb.events, 'internal-error'), -1);
  });

  test('a client resetting its socket mid-body is recorded as aborted and disturbs nothing', async (t) => {
    const { sb } = await sandbox(t);
    const socket = socketTo(sb.address);
    socket.write('POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 100\r\n\r\nabc');
    await sb.waitForRequest((r) => r.url.endsWith('/x/response') && r.chunks.length > 0);
    socket.resetAndDestroy();
    const aborted = await sb.waitForRequest((r) => r.aborted);
    assert.equal(aborted.body.toString(), 'abc');
    assert.equal(aborted.status, null);
    assert.equal((await sb.invoke('{"still":"fine"}')).outcome, 'response');
    assert.equal(indexOf(sb.events, 'internal-error'), -1);
  });

  test('faults.resetOnce resets the connection of the next call of that route, once, and the next call is served', async (t) => {
    const h = await sandbox(t, { runtime: 'external' });
    h.sb.faults.resetOnce('runtime.restore-next');
    const reset = await request('GET', h.sb.address, '/2018-06-01/runtime/restore/next').then(
      () => 'answered', (err: NodeJS.ErrnoException) => err.code);
    assert.equal(reset, 'ECONNRESET');
    const applied = await h.sb.waitForEvent('fault-applied');
    assert.equal(applied.detail['route'], 'runtime.restore-next');
    assert.equal(applied.detail['status'], 'reset');
    assert.equal((await request('GET', h.sb.address, '/2018-06-01/runtime/restore/next')).status, 200);
  });

  test('a long poll whose client went away does not swallow the next invocation', async (t) => {
    const { sb } = await sandbox(t, { runtime: 'external' });
    const socket = socketTo(sb.address);
    socket.write('GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: sandbox\r\n\r\n');
    const abandoned = await sb.waitForRequest((r) => r.url.endsWith('/invocation/next'));
    socket.destroy();
    await sb.waitForRequest((r) => r === abandoned && r.aborted);
    const invoking = sb.invoke('{"for":"the live poll"}');
    const next = await request('GET', sb.address, '/2018-06-01/runtime/invocation/next');
    assert.equal(next.body.toString(), '{"for":"the live poll"}');
    assert.equal(abandoned.status, null);
    const id = String(next.headers['lambda-runtime-aws-request-id']);
    await request('POST', sb.address, `/2018-06-01/runtime/invocation/${id}/response`, { body: 'ok' });
    assert.equal((await invoking).body.toString(), 'ok');
  });

  for (const mode of ['exit', 'signal'] as const) {
    test(`children die with the test process when it leaves without shutdown (${mode})`, async () => {
      const child = spawn(process.execPath, [join(FIXTURES, 'abandon.ts'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const { pids, layerDir } = JSON.parse(line.toString()) as { pids: number[]; layerDir: string };
      assert.equal(pids.length, 2);
      if (mode === 'signal') child.kill('SIGTERM');
      await exited;
      rmSync(layerDir, { recursive: true, force: true });
      assert.ok(await gone(pids), `still running: ${pids.filter((p) => !isGone(p)).join(', ')}`);
    });
  }
});
