// listenWithoutCluster listens as server.listen() does (port or handed-over descriptor, failures
// with listen()'s own error) without loading node:cluster. Each case runs in a child Node of its
// own: what a process has loaded is only seen from inside it, and this test's process may have loaded
// node:cluster for reasons of its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';

const MODULE = path.resolve(import.meta.dirname, '../../src/listen-without-cluster.ts');

// Listens with the options given as argv[1], serves one answer, and prints what it saw as one JSON line.
const CHILD = `
import http from 'node:http';
import { listenWithoutCluster } from ${JSON.stringify(MODULE)};
const server = http.createServer((req, res) => res.end('served'));
const report = (what) => process.stdout.write(JSON.stringify({ ...what, cluster: process.moduleLoadList.includes('NativeModule cluster') }) + '\\n');
listenWithoutCluster(server, JSON.parse(process.argv[1])).then(
  (address) => report({ address }),
  (err) => { report({ error: err.code, message: err.message }); process.exit(0); },
);
process.stdin.on('end', () => server.close()).resume();
`;

interface ChildReport { address?: net.AddressInfo; error?: string; message?: string; cluster: boolean }

async function startChild(options: object, listeningFd?: number) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit', ...(listeningFd === undefined ? [] : [listeningFd])],
  });
  const { stdin, stdout } = child;
  assert.ok(stdin && stdout);
  stdout.setEncoding('utf8');
  let out = '';
  for await (const chunk of stdout) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  const stop = async () => {
    stdin.end();
    if (child.exitCode === null) await once(child, 'exit');
  };
  return { report: JSON.parse(out) as ChildReport, stop };
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function loopbackServer(): Promise<net.Server> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** The child listens on 127.0.0.1 (on `port`, when given), serves there, and has not loaded node:cluster; then it stops. */
async function assertServesWithoutCluster(child: Awaited<ReturnType<typeof startChild>>, port?: number): Promise<void> {
  const { report, stop } = child;
  try {
    assert.equal(report.address?.address, '127.0.0.1');
    if (port !== undefined) assert.equal(report.address?.port, port);
    assert.equal(await get(report.address!.port), 'served');
    assert.equal(report.cluster, false);
  } finally {
    await stop();
  }
}

test('listens on a loopback port and serves there, without loading node:cluster', async () => {
  await assertServesWithoutCluster(await startChild({ port: 0, host: '127.0.0.1' }));
});

test('serves on a listening descriptor it is handed, without loading node:cluster', async () => {
  const handed = await loopbackServer();
  const port = (handed.address() as net.AddressInfo).port;
  // The child's fd 3 is this socket, as the launcher hands it over (src/stub); once ours is closed,
  // only the child accepts on it.
  const fd = (handed as net.Server & { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'a listening TCP socket has a descriptor');
  const child = await startChild({ fd: 3 }, fd);
  handed.close();
  await assertServesWithoutCluster(child, port);
});

test('a port in use fails as listen() fails: listen()\'s error, with its message', async () => {
  const taken = await loopbackServer();
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const viaListen = http.createServer();
    viaListen.listen(port, '127.0.0.1');
    const [expected] = await once(viaListen, 'error') as [NodeJS.ErrnoException];
    const { report, stop } = await startChild({ port, host: '127.0.0.1' });
    await stop();
    assert.deepEqual({ error: report.error, message: report.message }, { error: 'EADDRINUSE', message: expected.message });
  } finally {
    taken.close();
  }
});

test('a host name is left to listen(), which resolves it first', async () => {
  const { report, stop } = await startChild({ port: 0, host: 'localhost' });
  try {
    assert.ok(report.address && net.isIP(report.address.address), JSON.stringify(report));
    assert.equal(report.error, undefined);
  } finally {
    await stop();
  }
});
