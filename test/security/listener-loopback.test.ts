// Only processes inside the execution environment may drive the Runtime API
// through the proxy: its listening socket is on 127.0.0.1 only. The one other
// socket the extension may listen on is the Telemetry API destination it
// subscribed, and that on the address(es) sandbox.localdomain resolves to
// (Lambda delivers there), or 127.0.0.1 where the name does not resolve, as on
// this machine: never on a wildcard address. Any further listener is a
// finding. Read from the kernel's socket tables (/proc), so no traffic leaves
// loopback.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import { extensionPid, listeningSockets } from '../support/extension-process.ts';

let env: ProxiedSandbox | undefined;
after(async () => { await env?.close(); });

/** The port of the Telemetry API destination the extension subscribed, if it did. */
function telemetryDestinationPort(sandbox: ProxiedSandbox['sandbox']): number | undefined {
  const subscription = sandbox.requests.find((q) => q.method === 'PUT' && q.url.endsWith('/telemetry'));
  if (subscription === undefined) return undefined;
  const uri = (JSON.parse(subscription.body.toString()) as { destination?: { URI?: string } }).destination?.URI;
  return uri === undefined ? undefined : Number(new URL(uri).port);
}

/** 0.0.0.0 and :: as the kernel writes them: listening on every interface. */
const WILDCARDS = new Set(['00000000', '0'.repeat(32)]);

test('the proxy listens on 127.0.0.1 only, the Telemetry API destination on no wildcard address, and nothing else listens', async () => {
  env = await startWithProxy({ tracing: true });
  const sockets = listeningSockets(extensionPid(env.port)).map(({ table, address, port }) => ({ table, address, port }));
  const proxy = sockets.filter((s) => s.port === env!.port);
  // 0100007F is 127.0.0.1 in the kernel's byte order.
  assert.deepEqual(proxy, [{ table: 'tcp', address: '0100007F', port: env.port }], `the proxy's listener among ${JSON.stringify(sockets)}`);
  const telemetry = telemetryDestinationPort(env.sandbox);
  assert.notEqual(telemetry, undefined, 'the extension subscribed a Telemetry API destination');
  const destination = sockets.filter((s) => s.port === telemetry);
  // sandbox.localdomain does not resolve on this machine (the sandbox resolves it only in its own client): loopback.
  assert.deepEqual(destination, [{ table: 'tcp', address: '0100007F', port: telemetry }], `the Telemetry API destination among ${JSON.stringify(sockets)}`);
  assert.deepEqual(sockets.filter((s) => WILDCARDS.has(s.address)), [], 'no listener on a wildcard address');
  const others = sockets.filter((s) => s.port !== env!.port && s.port !== telemetry);
  assert.deepEqual(others, [], 'no listener beyond the proxy and the Telemetry API destination');
  console.log(`listeners: ${sockets.map((s) => `${s.table} ${s.address}:${s.port}`).join(', ')} (proxy ${env.port}, Telemetry API destination ${telemetry})`);
});
