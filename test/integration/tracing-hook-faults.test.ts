// A throw inside any tracing hook neither loses an invocation's release nor
// holds it until the deadline, and the runtime's bytes go through unchanged.
// The proxy and the lifecycle's watch run in this process (so a fault can be
// injected into each hook of the real tracker); Lambda is the sandbox, on real
// sockets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, AlwaysOnSampler } from '@opentelemetry/sdk-trace';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { makeLayer, type TempLayer } from '../sandbox/fixtures/temp-layer.ts';
import { RuntimeApiProxy } from '../../src/proxy/runtime-api-proxy.ts';
import { guardObserver, type InvocationObserver } from '../../src/proxy/invocation-observer.ts';
import { RuntimeWatch } from '../../src/lifecycle/runtime-watch.ts';
import { InvocationTracker } from '../../src/tracing/invocation-tracker.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';
import { createLogger } from '../../src/log.ts';
import { next, raw, respond, shutDownAtEnd } from './harness.ts';

const HOOKS = ['onNextRequest', 'onInvocationEvent', 'onEventForwarded', 'bodyReader', 'answerBytesToKeep', 'onInvocationResult'] as const;
type Hook = typeof HOOKS[number];

let layer: TempLayer;
let sandbox: LambdaSandbox;
before(async () => {
  layer = await makeLayer();
  sandbox = shutDownAtEnd(new LambdaSandbox({ layerDir: layer.dir, runtime: 'external', timeoutMs: 60_000 }));
  await sandbox.start();
});
after(async () => {
  await sandbox.shutdown();
  await layer.remove();
});

/** The proxy wired as main.ts wires it, with the real tracker; `faulty` throws from that hook. */
async function proxyWithFault(faulty: Hook | undefined) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const watch = new RuntimeWatch({ log, listenerPort: 0 });
  const proxy = new RuntimeApiProxy({ host: '127.0.0.1', port: Number(sandbox.address.split(':')[1]), text: sandbox.address }, watch, log);
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracker = new InvocationTracker({
    tracer: () => provider.getTracer('test'), settings: parseTracingSettings({}), log, processStartedAt: performance.timeOrigin,
    identity: { functionName: 'fn', functionVersion: '1', region: 'us-east-1', accountId: '123456789012', memoryMb: 128 },
  });
  const faultyTracker = new Proxy(tracker, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (name === faulty) throw new Error(`injected fault in ${name}`);
        return result;
      };
    },
  }) as InvocationObserver;
  proxy.setObserver(guardObserver(faultyTracker, log));
  const port = await proxy.listen(0);
  return { proxy, watch, lines, exporter, address: `127.0.0.1:${port}` };
}

for (const hook of [undefined, ...HOOKS]) {
  test(`a throw in ${hook ?? 'no hook'} neither loses the release nor holds the invocation, and the bytes go through`, async () => {
    const env = await proxyWithFault(hook);
    try {
      const payload = '{"body":"{\\"a\\":1}","headers":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},"requestContext":{"http":{"method":"POST"}},"rawPath":"/x","version":"2.0"}';
      const invoked = sandbox.invoke(payload);
      const got = await next(env.address);
      assert.equal(got.status, 200);
      const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
      // The INVOKE's wait, as the lifecycle runs it; the deadline is a minute away.
      const ended = env.watch.whenEnded(id, performance.now() + 60_000);
      const posted = await respond(env.address, id, Buffer.from('{"statusCode":200}'));
      assert.equal(posted.status, 202);
      assert.equal(await ended, 'posted');
      assert.equal((await invoked).body.toString(), '{"statusCode":200}');
      const failures = env.lines.filter((l) => l.code === 'LRAP_TRACING_HOOK_FAILED');
      assert.equal(failures.length, hook === undefined ? 0 : 1, 'the failure is logged once');
      if (hook === undefined || hook === 'onNextRequest') {
        assert.equal(env.exporter.getFinishedSpans().filter((s) => s.attributes['faas.invocation.id'] === id).length, 1);
      }
    } finally {
      await env.proxy.close(performance.now());
    }
  });
}

test('a bug in the proxy\'s own handling of a call answers that call 502 and releases it; the proxy carries on', async () => {
  const env = await proxyWithFault(undefined);
  try {
    // Unguarded on purpose: the throw reaches the proxy's per-exchange guard.
    let broken = true;
    const throwing: InvocationObserver = {
      onNextRequest() { if (broken) throw new Error('injected bug'); },
      onInvocationEvent: () => undefined,
      onEventForwarded() {},
      bodyReader: () => undefined,
      answerBytesToKeep: () => 0,
      onInvocationResult() {},
      onInitError() {},
    };
    env.proxy.setObserver(throwing);
    const failed = await next(env.address);
    assert.equal(failed.status, 502);
    assert.equal((JSON.parse(failed.body.toString()) as { errorType: string }).errorType, 'Extension.InternalError');
    assert.ok(env.lines.some((l) => l.code === 'LRAP_INTERNAL_ERROR'));
    // No phantom /next left outstanding: an INVOKE for an event never handed out is not held.
    assert.equal(await env.watch.whenEnded('never-handed-out', performance.now() + 60_000), 'bypassed');
    broken = false;
    const invoked = sandbox.invoke('{"after":true}');
    const got = await next(env.address);
    assert.equal(got.body.toString(), '{"after":true}');
    await respond(env.address, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('1'));
    assert.equal((await invoked).status, 202);
  } finally {
    await env.proxy.close(performance.now());
  }
});

test('a traced event that cannot be sent as tracing changed it reaches the runtime unchanged', async () => {
  const env = await proxyWithFault(undefined);
  try {
    const bad: InvocationObserver = {
      onNextRequest() {},
      // A rewrite the proxy cannot write (a piece that is not bytes): a tracing bug.
      onInvocationEvent: () => ({ body: ['not a buffer' as unknown as Buffer] }),
      onEventForwarded() {},
      bodyReader: () => undefined,
      answerBytesToKeep: () => 0,
      onInvocationResult() {},
      onInitError() {},
    };
    env.proxy.setObserver(bad);
    const invoked = sandbox.invoke('{"original":true}');
    const got = await next(env.address);
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), '{"original":true}');
    await respond(env.address, raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!, Buffer.from('1'));
    assert.equal((await invoked).status, 202);
    assert.ok(env.lines.some((l) => l.code === 'LRAP_TRACING_HOOK_FAILED'));
  } finally {
    await env.proxy.close(performance.now());
  }
});
