// What the Node part takes from the standalone layers' Go launcher (src/stub):
// only what the launcher writes, and nothing when a variable is unusable
// (the extension then listens and registers itself).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HANDOVER_VARIABLES, parseLauncherHandover, takeLauncherHandover, TelemetrySockets } from '../../src/settings/launcher-handover.ts';

test('nothing handed over: the extension listens and registers itself', () => {
  assert.deepEqual(parseLauncherHandover({}), { listenFd: undefined, register: { kind: 'none' }, telemetry: undefined });
});

test('a listening socket and Lambda\'s answer, body as bytes', () => {
  const handover = parseLauncherHandover({
    _LRAP_LISTEN_FD: '3', _LRAP_REGISTER_STATUS: '200', _LRAP_REGISTER_ID: 'id-1', _LRAP_REGISTER_BODY: '{"functionName":"fn"}',
  });
  assert.equal(handover.listenFd, 3);
  assert.deepEqual(handover.register, { kind: 'answered', status: 200, extensionId: 'id-1', body: Buffer.from('{"functionName":"fn"}') });
});

test('a refusal is an answer too (the extension reports it as if it had asked)', () => {
  const { register } = parseLauncherHandover({ _LRAP_REGISTER_STATUS: '403', _LRAP_REGISTER_BODY: '{"errorType":"Extension.Forbidden"}' });
  assert.deepEqual(register, { kind: 'answered', status: 403, extensionId: '', body: Buffer.from('{"errorType":"Extension.Forbidden"}') });
});

test('a broken register wins over anything else: Lambda may hold a registration whose answer nobody has', () => {
  assert.deepEqual(parseLauncherHandover({ _LRAP_REGISTER_BROKEN: 'EOF', _LRAP_REGISTER_STATUS: '200' }).register, { kind: 'broken', error: 'EOF' });
  assert.deepEqual(parseLauncherHandover({ _LRAP_REGISTER_BROKEN: '' }).register, { kind: 'broken', error: 'connection broken' });
});

test('unusable values count as not handed over', () => {
  for (const fd of ['', '0', '1', '2', '-3', '3.5', 'x', ' 3', '12345678901']) {
    assert.equal(parseLauncherHandover({ _LRAP_LISTEN_FD: fd }).listenFd, undefined, JSON.stringify(fd));
  }
  for (const status of ['', '20', '2000', '600', 'abc', ' 200']) {
    assert.deepEqual(parseLauncherHandover({ _LRAP_REGISTER_STATUS: status, _LRAP_REGISTER_ID: 'x' }).register, { kind: 'none' }, JSON.stringify(status));
  }
});

test('the Telemetry API listener\'s sockets: where sandbox.localdomain resolves, or on 127.0.0.1 where it does not', () => {
  const resolved = parseLauncherHandover({ _LRAP_TELEMETRY_FDS: 'resolved:6,7' }).telemetry;
  assert.equal(resolved?.resolved, true);
  assert.deepEqual(resolved.take(), [6, 7]);
  const loopback = parseLauncherHandover({ _LRAP_TELEMETRY_FDS: 'loopback:6' }).telemetry;
  assert.equal(loopback?.resolved, false);
  assert.deepEqual(loopback.take(), [6]);
});

test('unusable Telemetry API socket values count as not handed over', () => {
  for (const value of ['', '6', 'resolved:', 'resolved:6,', 'resolved:2', 'resolved:6,6', 'loopback:6,7', 'sandbox:6', 'resolved: 6', ' resolved:6', 'resolved:1234567890']) {
    assert.equal(parseLauncherHandover({ _LRAP_TELEMETRY_FDS: value }).telemetry, undefined, JSON.stringify(value));
  }
});

test('the sockets are taken once; those nobody took are closed, those taken are left to the taker', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltp-handed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Files of their own, told apart by inode, stand for the sockets: a closed number may be handed out again.
  const open = (name: string) => { const fd = openSync(path.join(dir, name), 'w'); return { fd, ino: fstatSync(fd).ino }; };
  const openOn = ({ fd, ino }: { fd: number; ino: number }) => { try { return fstatSync(fd).ino === ino; } catch { return false; } };

  const untaken = [open('a'), open('b')];
  const left = new TelemetrySockets(true, untaken.map((f) => f.fd));
  left.closeUntaken();
  for (const f of untaken) assert.equal(openOn(f), false);
  const reused = open('c'); // Most likely one of the numbers just freed.
  try {
    left.closeUntaken();
    assert.ok(openOn(reused), 'a descriptor number since reused is not closed again');
  } finally {
    closeSync(reused.fd);
  }

  const taken = open('d');
  try {
    const sockets = new TelemetrySockets(false, [taken.fd]);
    assert.deepEqual(sockets.take(), [taken.fd]);
    assert.equal(sockets.take(), undefined);
    sockets.closeUntaken();
    assert.ok(openOn(taken), 'still open');
  } finally {
    closeSync(taken.fd);
  }
});

test('every variable the launcher writes is one the extension removes from its environment', () => {
  assert.deepEqual([...HANDOVER_VARIABLES].sort(),
    ['_LRAP_LISTEN_FD', '_LRAP_REGISTER_BODY', '_LRAP_REGISTER_BROKEN', '_LRAP_REGISTER_ID', '_LRAP_REGISTER_STATUS', '_LRAP_TELEMETRY_FDS']);
});

test('the slim layer\'s launcher, which has no Go launcher in front, unsets every hand-over variable the function\'s environment may carry', () => {
  const launcher = readFileSync(new URL('../../src/launcher.sh', import.meta.url), 'utf8');
  const unset = /^\s*unset (_LRAP_\w+(?: _LRAP_\w+)*)\s*$/m.exec(launcher);
  assert.ok(unset, 'launcher.sh unsets the hand-over variables in one line');
  assert.deepEqual(unset[1]!.split(' ').sort(), [...HANDOVER_VARIABLES].sort());
});

test('taking the hand-over removes its variables from the environment, and only those', () => {
  const env: Record<string, string | undefined> = { _LRAP_LISTEN_FD: '3', _LRAP_REGISTER_BROKEN: 'EOF', LRAP_LISTENER_PORT: '9009' };
  assert.equal(takeLauncherHandover(env).listenFd, 3);
  assert.deepEqual(env, { LRAP_LISTENER_PORT: '9009' });
});
