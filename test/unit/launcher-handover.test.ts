// What the Node part takes from the standalone layers' Go launcher (src/stub):
// only what the launcher writes, and nothing when a variable is unusable
// (the extension then listens and registers itself).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HANDOVER_VARIABLES, parseLauncherHandover, takeLauncherHandover } from '../../src/settings/launcher-handover.ts';

test('nothing handed over: the extension listens and registers itself', () => {
  assert.deepEqual(parseLauncherHandover({}), { listenFd: undefined, register: { kind: 'none' } });
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

test('every variable the launcher writes is one the extension removes from its environment', () => {
  assert.deepEqual([...HANDOVER_VARIABLES].sort(),
    ['_LRAP_LISTEN_FD', '_LRAP_REGISTER_BODY', '_LRAP_REGISTER_BROKEN', '_LRAP_REGISTER_ID', '_LRAP_REGISTER_STATUS']);
});

test('taking the hand-over removes its variables from the environment, and only those', () => {
  const env: Record<string, string | undefined> = { _LRAP_LISTEN_FD: '3', _LRAP_REGISTER_BROKEN: 'EOF', LRAP_LISTENER_PORT: '9009' };
  assert.equal(takeLauncherHandover(env).listenFd, 3);
  assert.deepEqual(env, { LRAP_LISTENER_PORT: '9009' });
});
