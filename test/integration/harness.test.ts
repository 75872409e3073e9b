// The harness itself: a listener port taken between its choice and the
// extension's listen is retried on a fresh one, and what a test file leaves
// running is shut down when the file ends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { LAYER, WRAPPER, freePort, next, raw, respond, shutDownAtEnd, startOnFreePort, startWithProxy } from './harness.ts';
import { LambdaSandbox } from '../sandbox/sandbox.ts';

test('a listener port taken before the extension binds it: Init fails with Extension.ListenerFailed and the harness starts again on a fresh port', async () => {
  const squatter = net.createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const taken = (squatter.address() as net.AddressInfo).port;
  const given: number[] = [];
  try {
    const env = await startWithProxy({ ports: async () => { const port = given.length === 0 ? taken : await freePort(); given.push(port); return port; } });
    try {
      assert.equal(given.length, 2);
      assert.equal(given[0], taken);
      assert.equal(env.port, given[1]);
      const invoked = env.sandbox.invoke('{"after":"a taken port"}');
      const event = await next(env.proxy);
      await respond(env.proxy, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, event.body);
      assert.equal((await invoked).body.toString(), '{"after":"a taken port"}');
    } finally {
      await env.close();
    }
  } finally {
    squatter.close();
  }
});

test('a test that builds its own sandbox gets the same retry: startOnFreePort starts it again on a fresh port', async () => {
  const squatter = net.createServer();
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const taken = (squatter.address() as net.AddressInfo).port;
  const built: number[] = [];
  try {
    const { sandbox, port } = await startOnFreePort((p) => {
      built.push(p);
      return shutDownAtEnd(new LambdaSandbox({ layerDir: LAYER, runtime: 'external', wrapper: WRAPPER, env: { LRAP_LISTENER_PORT: String(p), OTEL_SDK_DISABLED: 'true' } }));
    }, async () => built.length === 0 ? taken : freePort());
    try {
      assert.deepEqual(built, [taken, port]);
      const invoked = sandbox.invoke('{"own":"sandbox"}');
      const event = await next(`127.0.0.1:${port}`);
      await respond(`127.0.0.1:${port}`, raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!, event.body);
      assert.equal((await invoked).body.toString(), '{"own":"sandbox"}');
    } finally {
      await sandbox.shutdown();
    }
  } finally {
    squatter.close();
  }
});
