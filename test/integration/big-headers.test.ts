// Heads as big as Lambda's own Runtime API takes (Go's net/http default: 1 MiB
// plus 4 KiB, see src/proxy/header-limits.ts) pass through the proxy both ways,
// byte for byte. The case that broke: a runtime client reporting an error with
// a long message puts message and stack in
// `Lambda-Runtime-Function-XRay-Error-Cause`, and the proxy answered 400.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { LAYER, NODE, ROOT, RUNTIME, WRAPPER, startOnFreePort, next, raw, request, startWithProxy, type ProxiedSandbox, shutDownAtEnd } from './harness.ts';
import { LambdaSandbox, type InvokeResult } from '../sandbox/sandbox.ts';

const CAUSE = 'Lambda-Runtime-Function-XRay-Error-Cause';

/**
 * Without Host (it names the sandbox, whose port differs between runs) and
 * Connection (hop-by-hop: Node's client announces its keep-alive, curl does not).
 */
function endToEnd(headers: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (name !== 'host' && name !== 'connection') out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** Where two header lists first differ, short enough to read in a failure. */
function firstDifference(a: readonly string[], b: readonly string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `entry ${i}: ${JSON.stringify(a[i]?.slice(0, 80))} vs ${JSON.stringify(b[i]?.slice(0, 80))}`;
  }
  return 'none';
}

/** A cause document of exactly `bytes` bytes, shaped as the clients send it. */
function causeOf(bytes: number): string {
  const head = '{"working_directory":"/var/task","exceptions":[{"type":"OrderError","message":"';
  const tail = '","stack":[]}],"paths":[]}';
  return head + 'm'.repeat(bytes - head.length - tail.length) + tail;
}

describe('hand-made big heads through the proxy, tracing on', () => {
  let env: ProxiedSandbox;
  before(async () => { env = await startWithProxy({ tracing: true }); });
  after(async () => { await env.close(); });

  for (const [label, bytes] of [['64 KiB + 1', 64 * 1024 + 1], ['1 MiB', 1024 * 1024]] as const) {
    test(`an error cause header of ${label} bytes reaches Lambda byte for byte`, async () => {
      const invoked = env.sandbox.invoke('{"n":1}');
      const id = raw((await next(env.proxy)).rawHeaders, 'lambda-runtime-aws-request-id')!;
      const cause = causeOf(bytes);
      const body = Buffer.from('{"errorMessage":"m","errorType":"OrderError","stackTrace":[]}');
      const answer = await request(env.proxy, {
        method: 'POST', path: `${RUNTIME}/invocation/${id}/error`,
        headers: ['Content-Type', 'application/json', CAUSE, cause], body,
      });
      assert.equal(answer.status, 202);
      const result = await invoked;
      assert.equal(result.outcome, 'error');
      assert.ok(raw(result.requestHeaders, CAUSE) === cause, 'the cause arrived unchanged');
      assert.ok(result.body.equals(body));
      await env.receiver!.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 5000 });
    });
  }

  test('a /next answer with a 1 MiB header reaches the runtime whole', async () => {
    const value = 'c'.repeat(1024 * 1024 - 64);
    const invoked = env.sandbox.invoke('{"n":2}', { extraHeaders: [['X-Big-Context', value]] });
    const event = await next(env.proxy);
    assert.equal(event.status, 200);
    assert.ok(raw(event.rawHeaders, 'x-big-context') === value, 'the header arrived unchanged');
    assert.equal(event.body.toString(), '{"n":2}');
    const id = raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!;
    assert.equal((await request(env.proxy, { method: 'POST', path: `${RUNTIME}/invocation/${id}/response`, body: Buffer.from('1') })).status, 202);
    await invoked;
  });

  test('3000 headers go through both ways, none dropped, in order', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, `v${i}`] as const);
    const invoked = env.sandbox.invoke('{"n":3}', { extraHeaders: many });
    const event = await next(env.proxy);
    const seen = event.rawHeaders.filter((_, i) => i % 2 === 0 && /^X-H\d+$/.test(event.rawHeaders[i]!));
    assert.ok(seen.length === many.length && seen.every((n, i) => n === many[i]![0]), `all ${many.length} headers reached the runtime in order (got ${seen.length})`);
    const id = raw(event.rawHeaders, 'lambda-runtime-aws-request-id')!;
    const posted = many.flat();
    assert.equal((await request(env.proxy, { method: 'POST', path: `${RUNTIME}/invocation/${id}/response`, headers: posted, body: Buffer.from('2') })).status, 202);
    const result = await invoked;
    const kept = result.requestHeaders.filter((_, i) => i % 2 === 0 ? /^X-H\d+$/.test(result.requestHeaders[i]!) : /^X-H\d+$/.test(result.requestHeaders[i - 1]!));
    assert.ok(kept.length === posted.length && kept.every((v, i) => v === posted[i]), `all ${posted.length / 2} headers arrived in order (got ${kept.length / 2})`);
  });
});

// AWS's own clients, throwing an error with a 40 KB message from 200 nested
// calls. Each runs twice, straight against the sandbox and behind the proxy:
// what Lambda receives must be the same bytes (only the request id differs).
const clients = {
  node: {
    installed: path.join(ROOT, 'test/runtimes/node/node_modules/aws-lambda-ric/index.mjs'),
    command: [NODE, path.join(ROOT, 'test/runtimes/node/node_modules/aws-lambda-ric/index.mjs')],
    handler: 'handler.failLong',
    cwd: path.join(ROOT, 'test/runtimes/node'),
    event: '{"messageBytes":40000,"depth":200}',
    errorType: 'OrderError',
    install: 'test/runtimes/install.sh node',
  },
  java: {
    installed: path.join(ROOT, 'test/e2e/functions/java/target/function.jar'),
    command: [path.join(ROOT, 'test/e2e/functions/run.sh'), 'java', 'handler'],
    handler: 'e2e.Handlers::handler',
    cwd: path.join(ROOT, 'test/e2e/functions/java'),
    event: '{"scenario":"long-error","messageBytes":40000,"depth":200}',
    errorType: 'Runtime.UserException', // the Error-Type header wins in Lambda; the class is in the body
    install: 'test/e2e/functions/build.sh java',
  },
} as const;

for (const [name, client] of Object.entries(clients)) {
  const installed = existsSync(client.installed);
  if (!installed && process.env.CI === 'true') throw new Error(`${name} runtime client missing in CI: make test runs ${client.install}`);

  describe(`${name} runtime client throwing an error with a 40 KB message and a deep stack`, { skip: installed ? false : `run ${client.install}` }, () => {
    let noExtensions: string;
    before(async () => { noExtensions = await mkdtemp(path.join(tmpdir(), 'ltp-no-layer-')); });
    after(async () => { await rm(noExtensions, { recursive: true, force: true }); });

    async function invokeOnce(proxied: boolean): Promise<InvokeResult> {
      const make = (port?: number) => shutDownAtEnd(new LambdaSandbox({
        layerDir: proxied ? LAYER : noExtensions,
        runtime: { command: client.command, cwd: client.cwd },
        ...(proxied ? { wrapper: WRAPPER } : {}),
        handler: client.handler,
        taskRoot: client.cwd,
        functionName: `${name}-fail-long`,
        timeoutMs: 20_000,
        env: port !== undefined ? { LRAP_LISTENER_PORT: String(port), OTEL_SDK_DISABLED: 'true' } : {},
      }));
      let sandbox: LambdaSandbox | undefined;
      try {
        if (proxied) {
          sandbox = (await startOnFreePort(make)).sandbox;
        } else {
          sandbox = make();
          await sandbox.start();
        }
        return await sandbox.invoke(client.event);
      } finally {
        await sandbox?.shutdown();
      }
    }

    test('Lambda gets the same error post through the proxy as without it, byte for byte', async () => {
      const direct = await invokeOnce(false);
      const proxied = await invokeOnce(true);
      for (const result of [direct, proxied]) {
        assert.equal(result.outcome, 'error');
        assert.equal(result.status, 202);
        assert.equal(result.errorType, client.errorType);
      }
      const cause = raw(direct.requestHeaders, CAUSE);
      assert.ok(cause !== undefined && cause.length > 40_000, `the client sent a cause header of ${cause?.length} bytes`);
      const frames = (JSON.parse(cause) as { exceptions: { stack: unknown[] }[] }).exceptions[0]!.stack.length;
      assert.ok(frames >= 200, `the cause carries the deep stack (${frames} frames)`);
      const [through, straight] = [endToEnd(proxied.requestHeaders), endToEnd(direct.requestHeaders)];
      assert.ok(through.length === straight.length && through.every((v, i) => v === straight[i]),
        `same headers, same order (first difference: ${firstDifference(through, straight)})`);
      assert.ok(proxied.body.equals(direct.body), 'same error body');
    });
  });
}
