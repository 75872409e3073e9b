// A layer attached to a function whose runtime does not talk through the proxy
// (AWS_LAMBDA_EXEC_WRAPPER forgotten, or a provided.* bootstrap without the
// wrapper): the extension must notice, say what to set, and stop holding
// invocations. A slow runtime (long Init, a /next asked late) must never be
// mistaken for one. Real processes: the built extension and the sandbox's fake
// runtime, started with or without the wrapper; tracing on, as users run it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAYER, WRAPPER, RUNTIME, freePort, next, raw, request, respond, shutDownAtEnd, startOnFreePort } from './harness.ts';
import { LambdaSandbox, SandboxInitError, type LambdaSandboxOptions } from '../sandbox/sandbox.ts';
import { FixtureControl } from '../sandbox/fixtures/control.ts';
import { fakeRuntime, type FakeRuntimeConfig } from '../sandbox/fixtures/temp-layer.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const EXTENSION = 'lambda-trace-proxy';

async function start(options: {
  wrapper: boolean; runtime: FakeRuntimeConfig | 'external'; timeoutMs?: number; initTimeoutMs?: number;
  beforeInit?: (sb: LambdaSandbox, control: FixtureControl) => Promise<void>;
  /** The first Init is expected to fail (it is run again at the first invoke). */
  initFails?: boolean;
}) {
  const control = new FixtureControl();
  await control.listen();
  const receiver = await OtlpReceiver.start();
  const sandboxOptions = (port: number): LambdaSandboxOptions => ({
    layerDir: LAYER,
    runtime: options.runtime === 'external' ? 'external' : { command: fakeRuntime(options.runtime) },
    ...(options.wrapper ? { wrapper: WRAPPER } : {}),
    timeoutMs: options.timeoutMs ?? 3_000,
    ...(options.initTimeoutMs !== undefined ? { initTimeoutMs: options.initTimeoutMs } : {}),
    env: {
      LRAP_LISTENER_PORT: String(port), FIXTURE_CONTROL: control.address,
      OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    },
  });
  let sandbox: LambdaSandbox;
  let port: number;
  if (options.beforeInit === undefined && options.initFails !== true) {
    // Started again on a fresh port if this one was taken meanwhile (startOnFreePort).
    ({ sandbox, port } = await startOnFreePort((p) => shutDownAtEnd(new LambdaSandbox(sandboxOptions(p)))));
  } else {
    // Init is watched while it runs (or expected to fail): one attempt, on a port free a moment ago.
    port = await freePort();
    sandbox = shutDownAtEnd(new LambdaSandbox(sandboxOptions(port)));
    const started = sandbox.start();
    await options.beforeInit?.(sandbox, control);
    if (options.initFails === true) await assert.rejects(started, SandboxInitError);
    else await started;
  }
  const close = async () => {
    await sandbox.shutdown();
    await receiver.close();
    await control.close();
  };
  return { sandbox, control, receiver, proxy: `127.0.0.1:${port}`, close };
}

/** The extension's log lines with this code. */
function logged(sandbox: LambdaSandbox, code: string): Record<string, unknown>[] {
  return sandbox.output(EXTENSION).stderr.split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.code === code);
}

function extensionBackAfter(sandbox: LambdaSandbox, at: number) {
  return sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= at);
}

/**
 * How long the extension held the environment past the runtime's answer: from
 * the post to its next /event/next (0 when it was back before the post).
 */
async function holdAfter(sandbox: LambdaSandbox, fromEvent: number): Promise<number> {
  const invoked = await sandbox.waitForEvent('invoke', { fromIndex: fromEvent });
  const done = await sandbox.waitForEvent('invoke-done', { fromIndex: fromEvent });
  const back = await extensionBackAfter(sandbox, invoked.at);
  return Math.max(0, back.at - done.at);
}

test('a runtime that is not behind the proxy is released at once and reported in one error line', async () => {
  const env = await start({ wrapper: false, runtime: {}, timeoutMs: 8_000 });
  try {
    const holds: number[] = [];
    for (let n = 0; n < 3; n++) {
      const from = env.sandbox.events.length;
      const result = await env.sandbox.invoke(JSON.stringify({ n }));
      assert.equal(result.outcome, 'response');
      assert.equal(result.body.toString(), JSON.stringify({ n }));
      holds.push(await holdAfter(env.sandbox, from));
      // Back in /event/next with the runtime in /next: the environment can freeze, nothing timed out.
      await env.sandbox.waitForEvent('freeze', { fromIndex: from });
    }
    assert.equal(env.sandbox.events.filter((e) => e.kind === 'timeout' || e.kind === 'reset').length, 0);
    const errors = logged(env.sandbox, 'LRAP_RUNTIME_BYPASS');
    assert.equal(errors.length, 1, 'one error, not one per invocation');
    assert.equal(errors[0]?.level, 'error');
    assert.match(String(errors[0]?.msg), /AWS_LAMBDA_EXEC_WRAPPER=\/opt\/wrapper-script\.sh/);
    process.stdout.write(`# hold after the runtime's answer with a bypassing runtime (8 s timeout): ${holds.map((h) => `${h.toFixed(1)} ms`).join(', ')}\n`);
  } finally {
    await env.close();
  }
});

test('a runtime with a long Init that asks for /next late is held for, traced, and never taken for a bypass', async () => {
  const env = await start({
    wrapper: true,
    runtime: { nextGates: true },
    // Init goes on while the extension already waits in /event/next; only then may the runtime ask.
    beforeInit: async (sandbox, control) => {
      await sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next'));
      control.open('next-0');
    },
  });
  try {
    const firstResult = await env.sandbox.invoke('{"first":true}');
    assert.equal(firstResult.outcome, 'response');
    // Held until the post and traced: the span is out by the time the extension asks for its next event.
    await extensionBackAfter(env.sandbox, firstResult.endedAt);
    assert.ok(env.receiver.spans.some((s) => s.attributes['faas.invocation.id'] === firstResult.requestId));

    // The second event is queued before the runtime asks for it.
    const second = env.sandbox.invoke('{"second":true}');
    await env.control.waitForGate('next-1');
    env.control.open('next-1');
    const secondResult = await second;
    assert.equal(secondResult.outcome, 'response');
    await extensionBackAfter(env.sandbox, secondResult.endedAt);
    assert.ok(env.receiver.spans.some((s) => s.attributes['faas.invocation.id'] === secondResult.requestId));
    assert.equal(logged(env.sandbox, 'LRAP_RUNTIME_BYPASS').length, 0);
    env.control.open('next-2');
  } finally {
    await env.close();
  }
});

test('an Init that timed out and is run again at the first invoke is held for and traced, not taken for a bypass', async () => {
  // The runtime never asks for /next within the Init limit: Lambda gives up on
  // that Init and runs a new one when the first invocation comes.
  const env = await start({
    wrapper: true, runtime: { nextGates: true }, initTimeoutMs: 1_000, initFails: true,
  });
  try {
    env.control.open('next-0');
    const result = await env.sandbox.invoke('{"after":"init retried"}');
    assert.equal(result.outcome, 'response');
    await extensionBackAfter(env.sandbox, result.endedAt);
    assert.ok(env.receiver.spans.some((s) => s.attributes['faas.invocation.id'] === result.requestId));
    assert.equal(logged(env.sandbox, 'LRAP_RUNTIME_BYPASS').length, 0);
    env.control.open('next-1');
  } finally {
    await env.close();
  }
});

test('once the runtime shows up through the proxy, its invocations are held for and traced again', async () => {
  const env = await start({ wrapper: false, runtime: 'external' });
  try {
    // First invocation: the runtime asks Lambda directly.
    const bypassed = env.sandbox.invoke('{"around":true}');
    const direct = await request(env.sandbox.address, { path: `${RUNTIME}/invocation/next` });
    const directId = raw(direct.rawHeaders, 'lambda-runtime-aws-request-id')!;
    await request(env.sandbox.address, { method: 'POST', path: `${RUNTIME}/invocation/${directId}/response`, body: Buffer.from('1') });
    await bypassed;
    await extensionBackAfter(env.sandbox, (await env.sandbox.waitForEvent('invoke')).at);
    assert.equal(logged(env.sandbox, 'LRAP_RUNTIME_BYPASS').length, 1);

    // Then through the proxy: held until the post, span exported before the extension asks for more.
    const proxied = env.sandbox.invoke('{"through":true}');
    const got = await next(env.proxy);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    await respond(env.proxy, id, Buffer.from('2'));
    const result = await proxied;
    await extensionBackAfter(env.sandbox, result.endedAt);
    assert.ok(env.receiver.spans.some((s) => s.attributes['faas.invocation.id'] === id));
    assert.equal(logged(env.sandbox, 'LRAP_RUNTIME_PROXIED').length, 0, 'info lines are off at the default level');
  } finally {
    await env.close();
  }
});
