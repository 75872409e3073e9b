// `make demo`: a local Lambda sandbox runs a sample function with AWS's Node.js
// runtime interface client behind lambda-trace-proxy, invokes it with a few
// realistic events, and shows the traces that came out. Spans go to an OTLP
// receiver embedded here, or to OTEL_EXPORTER_OTLP_ENDPOINT when it is set
// (a Collector or Jaeger on this machine).

import path from 'node:path';
import net from 'node:net';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { renderMetrics, renderWaterfall } from './waterfall.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAYER = path.join(ROOT, 'dist/layer');
const FUNCTION_DIR = path.join(ROOT, 'test/demo/function');
const RIC = path.join(ROOT, 'test/runtimes/node/node_modules/aws-lambda-ric/index.mjs');
const event = (name: string) => readFileSync(path.join(ROOT, 'test/fixtures/events', name));

if (!existsSync(RIC)) throw new Error(`${RIC} is missing: run \`make demo\`, which installs it (test/runtimes/install.sh node).`);

const external = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
const receiver = external ? undefined : await OtlpReceiver.start();
const endpoint = external ?? receiver!.endpoint;
const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
});

const sandbox = new LambdaSandbox({
  layerDir: LAYER,
  // A V8 heap limit, as Lambda's Node runtime sets one: the last invocation runs into it.
  runtime: { command: [process.execPath, '--max-old-space-size=96', RIC], cwd: FUNCTION_DIR },
  wrapper: path.join(LAYER, 'wrapper-script.sh'),
  handler: 'index.handler',
  taskRoot: FUNCTION_DIR,
  functionName: 'demo-orders',
  memoryMb: 512,
  timeoutMs: 10_000,
  env: { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'demo-orders' },
});

const t0 = Date.now();
console.log(`lambda-trace-proxy demo: function "demo-orders" (Node.js aws-lambda-ric) behind the proxy on 127.0.0.1:${port}`);
console.log(`spans go to ${external ? `${external} (OTEL_EXPORTER_OTLP_ENDPOINT)` : `an OTLP receiver embedded in this demo (${endpoint})`}\n`);
await sandbox.start();
const registered = sandbox.events.find((e) => e.kind === 'extension-registered');
console.log(`init done in ${Date.now() - t0} ms (extension registered after ${registered ? Math.round(registered.at - t0) : '?'} ms)\n`);

const invocations: [string, Buffer | string][] = [
  ['API Gateway REST, caller sent a traceparent', event('apigw-rest.json')],
  ['SQS batch of 2 messages', event('sqs.json')],
  ['direct invoke that throws PaymentDeclined', '{"charge":{"card":"4242"}}'],
  ['direct invoke returning 5 MB', JSON.stringify({ bytes: 5 * 1024 * 1024 })],
  ['Function URL, no incoming trace', event('function-url.json')],
  ['direct invoke that runs out of memory', '{"leak":true}'],
];
for (const [label, payload] of invocations) {
  const result = await sandbox.invoke(payload);
  let detail = `${result.body.length} bytes`;
  if (result.outcome === 'error') detail = `error ${result.errorType}`;
  else if (result.outcome === 'crash') detail = 'the runtime died; Lambda resets the environment';
  else if (result.body.length < 2000) {
    try {
      const body = JSON.parse(result.body.toString()) as { statusCode?: number; body?: string };
      if (body.statusCode) detail = `HTTP ${body.statusCode}; function saw traceparent ${(JSON.parse(body.body ?? '{}') as { traceparent?: string }).traceparent}`;
    } catch { /* not JSON: keep the size */ }
  }
  console.log(`→ ${label.padEnd(46)} ${result.outcome.padEnd(8)} ${String(result.durationMs.toFixed(1)).padStart(7)} ms  ${detail}`);
}

await sandbox.shutdown();
console.log('');
if (receiver) {
  const spans = receiver.spans;
  console.log(`${spans.length} spans in ${new Set(spans.map((s) => s.traceId)).size} traces reached the OTLP receiver:\n`);
  console.log(renderWaterfall(spans));
  console.log(`\nmetrics from platform.report (Telemetry API), as last exported (at SHUTDOWN):\n`);
  console.log(renderMetrics(receiver.metrics));
  await receiver.close();
} else {
  console.log(`spans were sent to ${external}; look them up there (Jaeger: http://localhost:16686, service "demo-orders").`);
}
