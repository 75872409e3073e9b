// Two Runtime API proxies in a row (ours twice, as two extensions): the runtime
// talks to the first, LRAP_RUNTIME_API_ENDPOINT sends it on to the second, and
// the second reaches Lambda. Both see every invocation, and the trace nests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, LAYER, WRAPPER, freePort, next, raw, respond, shutDownAtEnd, startOnFreePort } from './harness.ts';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

test('two chained proxies both forward and trace, the inner span a child of the outer one', async () => {
  const [innerReceiver, outerReceiver] = [await OtlpReceiver.start(), await OtlpReceiver.start()];
  // A layer with two extensions: ours, and a second copy listening on its own
  // port with its own settings, closer to Lambda in the chain.
  const layer = mkdtempSync(path.join(os.tmpdir(), 'chained-layer-'));
  mkdirSync(path.join(layer, 'extensions'));
  symlinkSync(path.join(LAYER, 'lambda-trace-proxy'), path.join(layer, 'lambda-trace-proxy'));
  symlinkSync(path.join(LAYER, 'extensions/lambda-trace-proxy'), path.join(layer, 'extensions/lambda-trace-proxy'));
  const outer = path.join(layer, 'extensions/outer-proxy');
  let sandbox: LambdaSandbox | undefined;
  try {
    // Both ports fresh on each attempt: either may be taken between freePort() and the listen.
    const { sandbox: started, port: first } = await startOnFreePort(async (first) => {
      const second = await freePort();
      writeFileSync(outer, `#!/bin/sh
export LRAP_LISTENER_PORT=${second} OTEL_EXPORTER_OTLP_ENDPOINT=${outerReceiver.endpoint} OTEL_SERVICE_NAME=outer
unset LRAP_RUNTIME_API_ENDPOINT
exec "${path.join(LAYER, 'lambda-trace-proxy/bin/node')}" "${path.join(LAYER, 'lambda-trace-proxy/extension.cjs')}" --extension-name outer-proxy
`);
      chmodSync(outer, 0o755);
      return shutDownAtEnd(new LambdaSandbox({
        layerDir: layer, runtime: 'external', wrapper: WRAPPER,
        env: { LRAP_LISTENER_PORT: String(first), LRAP_RUNTIME_API_ENDPOINT: `127.0.0.1:${second}`, OTEL_EXPORTER_OTLP_ENDPOINT: innerReceiver.endpoint },
      }));
    });
    sandbox = started;
    const event = readFileSync(path.join(FIXTURES, 'function-url.json'));
    const invoked = sandbox.invoke(event);
    const got = await next(`127.0.0.1:${first}`);
    const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
    assert.equal((await respond(`127.0.0.1:${first}`, id, Buffer.from('{"statusCode":201}'))).status, 202);
    assert.equal((await invoked).body.toString(), '{"statusCode":201}');

    const innerSpan = await innerReceiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id);
    const outerSpan = await outerReceiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id);
    assert.equal(innerSpan.traceId, outerSpan.traceId);
    assert.equal(innerSpan.parentSpanId, outerSpan.spanId, 'the proxy nearer the runtime joined the traceparent the outer one injected');
    const delivered = JSON.parse(got.body.toString()) as { headers: Record<string, string> };
    assert.equal(delivered.headers.traceparent, `00-${innerSpan.traceId}-${innerSpan.spanId}-01`);
    assert.equal(innerSpan.attributes['http.response.status_code'], 201n);
    assert.equal(outerSpan.attributes['http.response.status_code'], 201n);
  } finally {
    await sandbox?.shutdown();
    await innerReceiver.close();
    await outerReceiver.close();
    rmSync(layer, { recursive: true, force: true });
  }
});
