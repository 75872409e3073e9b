// AWS's own runtime interface clients (Node's aws-lambda-ric, aws-lambda-go)
// running a function behind the proxy, inside the local Lambda sandbox: what
// works here works with the software Lambda really runs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { FIXTURES, NODE, ROOT, WRAPPER, startOnFreePort, LAYER, shutDownAtEnd } from './harness.ts';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const RUNTIMES = path.join(ROOT, 'test/runtimes');
const clients = {
  // Managed runtime: Lambda runs AWS_LAMBDA_EXEC_WRAPPER with the runtime command.
  node: { command: [NODE, path.join(RUNTIMES, 'node/node_modules/aws-lambda-ric/index.mjs')], handler: (h: string) => `handler.${h}`, wrapped: true, taskRoot: path.join(RUNTIMES, 'node') },
  // OS-only runtime: no AWS_LAMBDA_EXEC_WRAPPER; the bootstrap recipe puts the wrapper in front.
  go: { command: [WRAPPER, path.join(RUNTIMES, 'go/bootstrap')], handler: (h: string) => h, wrapped: false, taskRoot: path.join(RUNTIMES, 'go') },
} as const;

for (const [name, client] of Object.entries(clients)) {
  const installed = existsSync(client.command[client.command.length - 1]!);
  if (!installed && process.env.CI === 'true') throw new Error(`${name} runtime client missing in CI: make test runs test/runtimes/install.sh`);

  describe(`${name} runtime client behind the proxy`, { skip: installed ? false : `run test/runtimes/install.sh ${name}` }, () => {
    let receiver: OtlpReceiver;
    const sandboxes: LambdaSandbox[] = [];
    before(async () => { receiver = await OtlpReceiver.start(); });
    after(async () => {
      for (const s of sandboxes) await s.shutdown().catch(() => undefined);
      await receiver.close();
    });

    async function start(handler: string, extra: { timeoutMs?: number } = {}) {
      const { sandbox } = await startOnFreePort((port) => {
        const made = shutDownAtEnd(new LambdaSandbox({
          layerDir: LAYER,
          runtime: { command: client.command, cwd: client.taskRoot },
          ...(client.wrapped ? { wrapper: WRAPPER } : {}),
          handler: client.handler(handler),
          taskRoot: client.taskRoot,
          functionName: `${name}-${handler}`,
          timeoutMs: extra.timeoutMs ?? 5000,
          env: { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
        }));
        sandboxes.push(made);
        return made;
      });
      return sandbox;
    }
    const spanOf = (requestId: string) => receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === requestId, { timeoutMs: 5000 });

    test('returns the function\'s result and exports its span', async () => {
      const sandbox = await start('echo');
      const result = await sandbox.invoke('{"order":42,"items":["a","b"]}');
      assert.equal(result.outcome, 'response');
      assert.deepEqual(JSON.parse(result.body.toString()), { order: 42, items: ['a', 'b'] });
      const span = await spanOf(result.requestId);
      assert.equal(span.attributes['faas.coldstart'], true);
      assert.equal(span.resource['faas.instance'] !== undefined, true, 'the wrapper handed over the log stream name');
    });

    test('the function receives a traceparent of the exported span and can continue the trace', async () => {
      const sandbox = await start('http');
      const result = await sandbox.invoke(readFileSync(path.join(FIXTURES, 'apigw-http.json')));
      const seen = JSON.parse((JSON.parse(result.body.toString()) as { body: string }).body) as { traceparent: string };
      const span = await spanOf(result.requestId);
      assert.equal(seen.traceparent, `00-${span.traceId}-${span.spanId}-01`);
      assert.equal(span.attributes['http.response.status_code'], 200n);
    });

    test('a function error comes out as an ERROR span with the type the client sent', async () => {
      const sandbox = await start('fail');
      const result = await sandbox.invoke('{"message":"order 7 failed"}');
      assert.equal(result.outcome, 'error');
      const span = await spanOf(result.requestId);
      assert.equal(span.status.code, 'ERROR');
      assert.equal(span.attributes['error.type'], 'OrderError');
    });

    test('a 6 MB response goes through whole', async () => {
      const sandbox = await start('big');
      const result = await sandbox.invoke(JSON.stringify({ bytes: 6 * 1024 * 1024 }));
      assert.equal(result.outcome, 'response');
      assert.equal(result.body.length, 6 * 1024 * 1024);
    });

    test('a runtime crash ends the invocation span as an error', async () => {
      const sandbox = await start('crash');
      const result = await sandbox.invoke('{}');
      assert.equal(result.outcome, 'crash');
      const span = await spanOf(result.requestId);
      assert.equal(span.status.code, 'ERROR');
    });

    if (name === 'node') {
      test('a streamed response reaches Lambda chunk by chunk', async () => {
        const sandbox = await start('stream');
        const result = await sandbox.invoke('{"chunks":5,"pauseMs":50}');
        assert.equal(result.streamed, true);
        assert.equal(result.body.toString(), [1, 2, 3, 4, 5].map((i) => `chunk ${i}/5\n`).join(''));
        // Each write reached Lambda as a chunk of its own (a buffering relay would deliver one): no clock needed.
        const chunks = result.chunks ?? [];
        assert.ok(chunks.length >= 5, `${chunks.length} chunks: streamed as written, not all at the end`);
        await spanOf(result.requestId);
      });
    }
  });
}
