// The extension's life: it listens before it registers, exits promptly on
// SHUTDOWN, reports bad configuration to Lambda instead of leaving it waiting,
// and listens on loopback only.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { LAYER, TRACING_MODES, WRAPPER, freePort, next, raw, respond, startWithProxy, shutDownAtEnd } from './harness.ts';
import { LambdaSandbox, SandboxInitError } from '../sandbox/sandbox.ts';

for (const tracing of TRACING_MODES) {
  describe(`with tracing ${tracing ? 'on' : 'off'}`, () => {
    test('exits 0 on its own before the SHUTDOWN deadline, after an in-flight invocation', async () => {
      const env = await startWithProxy({ tracing });
      const invoked = env.sandbox.invoke('{}');
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      await respond(env.proxy, id, Buffer.from('1'));
      await invoked;
      const report = await env.sandbox.shutdown();
      await env.close();
      const ext = report.extensions.find((e) => e.name === 'lambda-trace-proxy')!;
      // On its own, before the deadline: the sandbox SIGKILLs whatever still runs then.
      assert.equal(ext.exitCode, 0);
      assert.equal(ext.killed, false);
    });
  });
}

async function initFailure(env: Record<string, string>): Promise<SandboxInitError> {
  const sandbox = shutDownAtEnd(new LambdaSandbox({ layerDir: LAYER, runtime: 'external', wrapper: WRAPPER, env: { OTEL_SDK_DISABLED: 'true', ...env } }));
  try {
    await sandbox.start();
  } catch (err) {
    assert.ok(err instanceof SandboxInitError, String(err));
    return err;
  } finally {
    await sandbox.shutdown().catch(() => undefined);
  }
  assert.fail('init should have failed');
}

test('a listener port that is not a number is reported through /extension/init/error', async () => {
  const err = await initFailure({ LRAP_LISTENER_PORT: 'ninety' });
  assert.equal(err.errorType, 'Extension.InvalidListenerPort');
  assert.match(err.message, /LRAP_LISTENER_PORT/);
});

test('an upstream endpoint that is not host:port is reported through /extension/init/error', async () => {
  const err = await initFailure({ LRAP_LISTENER_PORT: String(await freePort()), LRAP_RUNTIME_API_ENDPOINT: 'http://somewhere/' });
  assert.equal(err.errorType, 'Extension.InvalidRuntimeApiEndpoint');
  assert.match(err.message, /host:port/);
});

test('a listener port already in use is reported through /extension/init/error', async () => {
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  try {
    const port = (squatter.address() as net.AddressInfo).port;
    const err = await initFailure({ LRAP_LISTENER_PORT: String(port) });
    assert.equal(err.errorType, 'Extension.ListenerFailed');
    assert.match(err.message, /EADDRINUSE/);
    assert.match(err.message, /LRAP_LISTENER_PORT/);
  } finally {
    squatter.close();
  }
});

for (const tracing of TRACING_MODES) {
  describe(`with tracing ${tracing ? 'on' : 'off'}`, () => {
    test('the listener is bound to loopback only', async () => {
      const external = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
      const env = await startWithProxy({ tracing });
      try {
        const connect = (host: string) => new Promise<string>((resolve) => {
          const s = net.connect(env.port, host);
          s.on('connect', () => { s.destroy(); resolve('connected'); });
          s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        assert.equal(await connect('127.0.0.1'), 'connected');
        if (external) assert.equal(await connect(external.address), 'ECONNREFUSED');
        assert.notEqual(await connect('::1'), 'connected');
      } finally {
        await env.close();
      }
    });

    /** One invocation played through the proxy. */
    async function invokeThrough(env: Awaited<ReturnType<typeof startWithProxy>>, payload: string) {
      const invoked = env.sandbox.invoke(payload);
      const got = await next(env.proxy);
      await respond(env.proxy, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, got.body);
      return invoked;
    }

    test('one connection reset on /event/next does not end the extension: it asks again', async () => {
      const env = await startWithProxy({ tracing });
      try {
        env.sandbox.faults.resetOnce('extension.next');
        assert.equal((await invokeThrough(env, '{"n":1}')).body.toString(), '{"n":1}');
        await env.sandbox.waitForEvent('fault-applied', { match: (e) => e.detail.route === 'extension.next' });
        const from = env.sandbox.events.length;
        assert.equal((await invokeThrough(env, '{"n":2}')).body.toString(), '{"n":2}');
        await env.sandbox.waitForEvent('freeze', { fromIndex: from });
        assert.equal(env.sandbox.events.filter((e) => e.kind === 'crash' || e.kind === 'reset').length, 0);
        assert.match(env.sandbox.output('lambda-trace-proxy').stderr, /"code":"LRAP_EXTENSIONS_API_RETRY"/);
      } finally {
        await env.close();
      }
    });

    test('an error answer from Lambda on /event/next ends the extension, as the Extensions API asks', async () => {
      const env = await startWithProxy({ tracing });
      try {
        env.sandbox.faults.failOnce('extension.next', 500, '{"errorMessage":"broken","errorType":"Extension.Fatal"}');
        const invoked = invokeThrough(env, '{}').catch(() => undefined);
        const exit = await env.sandbox.waitForEvent('process-exit', { match: (e) => e.detail.name === 'lambda-trace-proxy' });
        assert.equal(exit.detail.code, 1);
        await invoked;
      } finally {
        await env.close();
      }
    });
  });
}
