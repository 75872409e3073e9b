// The Telemetry API destination listens where Lambda delivers: on the
// address(es) sandbox.localdomain resolves to, or on 127.0.0.1 where the name
// does not resolve; never on every interface. Real sockets; the resolver is
// the one thing injected (this machine has no sandbox.localdomain). Sockets
// the Go launcher bound (a process's inheritance, which a test process cannot
// be given) are served on in test/layer/go-launcher.test.ts; here, what it
// does with ones it cannot serve on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createLogger } from '../../src/log.ts';
import { LOOKUP_BUDGET_MS, SANDBOX_HOST, TelemetryListener } from '../../src/telemetry/telemetry-api.ts';
import type { PlatformEvent } from '../../src/telemetry/platform-events.ts';
import { TelemetrySockets } from '../../src/settings/launcher-handover.ts';
import { fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DELIVERY = JSON.stringify([{ time: '2026-12-05T10:00:00.000Z', type: 'platform.start', record: { requestId: 'r-1', version: '$LATEST' } }]);

function deliver(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, method: 'POST', path: '/', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(DELIVERY);
  });
}

function listenerWith(resolve: (name: string) => Promise<readonly { address: string }[]>, sockets?: TelemetrySockets) {
  const received: PlatformEvent[][] = [];
  const asked: string[] = [];
  const logs: string[] = [];
  const listener = new TelemetryListener((events) => received.push(events), createLogger('debug', (l) => logs.push(l)), {
    sockets,
    resolve: (name) => {
      asked.push(name);
      return resolve(name);
    },
  });
  return { listener, received, asked, logs };
}

test('listens on every address sandbox.localdomain resolves to, on one port, and takes deliveries on each', async (t) => {
  // Two loopback addresses stand for the environment's (Linux routes all of 127/8 to lo); one given twice.
  const { listener, received, asked } = listenerWith(async () => [{ address: '127.0.0.2' }, { address: '127.0.0.3' }, { address: '127.0.0.2' }]);
  t.after(() => listener.close());
  const port = await listener.listen();
  assert.deepEqual(asked, [SANDBOX_HOST]);
  assert.equal(await deliver('127.0.0.2', port), 200);
  assert.equal(await deliver('127.0.0.3', port), 200);
  assert.equal(received.length, 2);
  await assert.rejects(deliver('127.0.0.1', port), { code: 'ECONNREFUSED' }, 'not on an address the name does not resolve to');
});

test('listens on 127.0.0.1 only when sandbox.localdomain does not resolve', async (t) => {
  const { listener, received, logs } = listenerWith(async () => {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${SANDBOX_HOST}`), { code: 'ENOTFOUND' });
  });
  t.after(() => listener.close());
  const port = await listener.listen();
  assert.equal(await deliver('127.0.0.1', port), 200);
  assert.equal(received.length, 1);
  await assert.rejects(deliver('127.0.0.2', port), { code: 'ECONNREFUSED' }, 'not on every interface');
  assert.ok(logs.some((l) => l.includes('"LRAP_TELEMETRY_LOOPBACK"')));
});

test('a resolver that never answers: after its budget the listener is on 127.0.0.1, with one warning, and takes deliveries', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { listener, received, logs } = listenerWith(() => new Promise(() => undefined));
  t.after(() => listener.close());
  const listening = listener.listen();
  await Promise.resolve();
  t.mock.timers.tick(LOOKUP_BUDGET_MS - 1);
  t.mock.timers.tick(1);
  const port = await listening;
  t.mock.timers.reset();
  assert.equal(await deliver('127.0.0.1', port), 200);
  assert.equal(received.length, 1);
  assert.equal(logs.filter((l) => l.includes('"LRAP_TELEMETRY_LOOKUP_TIMEOUT"')).length, 1);
  assert.match(logs.find((l) => l.includes('LOOKUP_TIMEOUT'))!, /"level":"warn"/);
});

/** Whether descriptor `fd` is still open on the file whose inode is `ino` (its number may have gone to another file since). */
function openOn(fd: number, ino: number): boolean {
  try {
    return fstatSync(fd).ino === ino;
  } catch {
    return false;
  }
}

test('sockets handed over that it cannot serve on: closed, one warning, and it resolves and listens itself', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ltp-not-sockets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Files of their own, told apart by inode: libuv takes a freed number for /dev/null when a server first listens.
  const notSockets = ['a', 'b'].map((name) => openSync(path.join(dir, name), 'w'));
  const inodes = notSockets.map((fd) => fstatSync(fd).ino);
  const { listener, received, asked, logs } = listenerWith(async () => [{ address: '127.0.0.2' }], new TelemetrySockets(true, notSockets));
  t.after(() => listener.close());
  const port = await listener.listen();
  notSockets.forEach((fd, i) => assert.equal(openOn(fd, inodes[i]!), false, `fd ${fd} closed`));
  assert.equal(logs.filter((l) => l.includes('"LRAP_HANDOVER_FAILED"')).length, 1);
  assert.deepEqual(asked, [SANDBOX_HOST]);
  assert.equal(await deliver('127.0.0.2', port), 200);
  assert.equal(received.length, 1);
});
