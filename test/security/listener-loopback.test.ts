// Only processes inside the execution environment may drive the Runtime API
// through the proxy: the extension's listening sockets are on 127.0.0.1 only.
// Read from the kernel's socket tables (/proc), so no traffic leaves loopback.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import { extensionPid } from '../support/extension-process.ts';

let env: ProxiedSandbox | undefined;
after(async () => { await env?.sandbox.shutdown(); });

/** Listening TCP sockets of `pid`: [local address as the kernel writes it, port]. */
function listeningSockets(pid: number): { table: string; address: string; port: number }[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const found: { table: string; address: string; port: number }[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue; // 0A = LISTEN
      const [address, port] = f[1]!.split(':');
      found.push({ table, address: address!, port: parseInt(port!, 16) });
    }
  }
  return found;
}

test('the proxy listens on 127.0.0.1 only, with tracing on', async () => {
  env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' } });
  const sockets = listeningSockets(extensionPid(env.port));
  assert.ok(sockets.some((s) => s.port === env!.port), `the proxy's port ${env.port} is among ${JSON.stringify(sockets)}`);
  // 0100007F is 127.0.0.1 in the kernel's byte order; no IPv6 or wildcard listener at all.
  assert.deepEqual(sockets.filter((s) => s.table !== 'tcp' || s.address !== '0100007F'), []);
});
