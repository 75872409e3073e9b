// The harness itself: a listener port taken between its choice and the
// extension's listen is retried on a fresh one, and what a test file leaves
// running is shut down when the file ends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { LAYER, WRAPPER, freePort, next, raw, respond, shutDownAtEnd, startOnFreePort, startWithProxy } from './harness.ts';
import { LambdaSandbox } from '../sandbox/sandbox.ts';

/** A loopback port some other listener holds, until `close`. */
async function squatPort(): Promise<{ port: number; close: () => void }> {
  const squatter = net.createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  return { port: (squatter.address() as net.AddressInfo).port, close: () => squatter.close() };
}

/** One invocation through the proxy at `proxy`, the runtime echoing the event: what Lambda got back. */
async function echoOnce(sandbox: LambdaSandbox, proxy: string, body: string): Promise<string> {
  const invoked = sandbox.invoke(body);
  const event = await next(proxy);
  await respond(proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, event.body);
  return (await invoked).body.toString();
}

test('a listener port taken before the extension binds it: Init fails with Extension.ListenerFailed and the harness starts again on a fresh port', async () => {
  const { port: taken, close: unsquat } = await squatPort();
  const given: number[] = [];
  try {
    const env = await startWithProxy({ ports: async () => { const port = given.length === 0 ? taken : await freePort(); given.push(port); return port; } });
    try {
      assert.equal(given.length, 2);
      assert.equal(given[0], taken);
      assert.equal(env.port, given[1]);
      assert.equal(await echoOnce(env.sandbox, env.proxy, '{"after":"a taken port"}'), '{"after":"a taken port"}');
    } finally {
      await env.close();
    }
  } finally {
    unsquat();
  }
});

test('a test that builds its own sandbox gets the same retry: startOnFreePort starts it again on a fresh port', async () => {
  const { port: taken, close: unsquat } = await squatPort();
  const built: number[] = [];
  try {
    const { sandbox, port } = await startOnFreePort((p) => {
      built.push(p);
      return shutDownAtEnd(new LambdaSandbox({ layerDir: LAYER, runtime: 'external', wrapper: WRAPPER, env: { LRAP_LISTENER_PORT: String(p), OTEL_SDK_DISABLED: 'true' } }));
    }, async () => built.length === 0 ? taken : freePort());
    try {
      assert.deepEqual(built, [taken, port]);
      assert.equal(await echoOnce(sandbox, `127.0.0.1:${port}`, '{"own":"sandbox"}'), '{"own":"sandbox"}');
    } finally {
      await sandbox.shutdown();
    }
  } finally {
    unsquat();
  }
});
