// make soak: an hour (SOAK_MINUTES) of mixed invocations against the built
// extension in the local Lambda sandbox, tracing on, exporting to a loopback
// sink. Two environments run side by side: an on-demand one (events and
// responses from 0 B to 6 MB, function errors with big cause headers, streamed
// responses with and without error trailers, responses over Lambda's limit)
// and a Managed Instances one (4 concurrent runtime workers). Every minute the
// resident and anonymous memory and open file descriptors of both extension
// processes are read from /proc three times: under load (a second before the
// minute's traffic stops), at its end (every invocation answered; on demand,
// the environment frozen after the last one) and quiet (SOAK_SETTLE_MS later,
// nothing in flight); then the traffic resumes. The quiet readings compare like
// with like: after the warm-up they must stay within 5 % (SOAK_TOLERANCE_PERCENT).
// The other two are printed beside them, never judged, and so are the medians of the quiet
// readings over each 10 minutes (SOAK_WINDOW_MINUTES): the level, without the last invocation's mark.
//
// Not part of make test (it is an hour). Figures, not a unit test: it prints
// the table and exits 1 if memory or descriptors grew, or an invocation failed.
//
//   SOAK_MINUTES=60  SOAK_WARMUP_MINUTES=10  SOAK_SEED=<n>  SOAK_TOLERANCE_PERCENT=5  SOAK_SETTLE_MS=2000  SOAK_WINDOW_MINUTES=10
//
// Diagnostic runs (not the shipped process): SOAK_DIAGNOSE=<dir> runs a copy of
// the layer whose launcher preloads test/soak/heap-probe.cjs and prints, at each
// reading, V8's heap used, external memory (Buffers) and glibc's heap, read
// without collecting anything (<dir>/<pid>.jsonl has the rest: heap spaces,
// other anonymous memory, full collections and their durations).
// SOAK_DIAGNOSE_GC=1 also collects at each quiet reading (what V8 retains), and
// SOAK_HEAP_SNAPSHOTS=3,12 writes heap snapshots into <dir> at those
// minutes' quiet readings (compare them with test/soak/compare-snapshots.ts; a snapshot leaves
// tens of MB of freed native memory resident, so RSS after one says nothing).
// SOAK_DIAGNOSE_RELEASE=minor|major|last-resort runs that collection at each
// quiet reading before /proc is read: what each gives back. The probe itself
// (--expose-gc, reading smaps) costs a few MB: a diagnostic run's RSS is not the soak's.
// SOAK_ENV='NAME=value ...' adds variables to the function's environment, to
// compare allocator settings (MALLOC_*) or, in diagnostic runs, V8 flags set at
// run time (SOAK_PROBE_V8_FLAGS=--a,--b) before they go into the extension.

import http from 'node:http';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { FIXTURES, LAYER, RUNTIME, next, raw, request, respond, startWithProxy, type ProxiedSandbox, type RawResponse } from '../integration/harness.ts';
import { SeededRandom } from '../support/seeded-random.ts';
import { extensionPid } from '../support/extension-process.ts';
import { readCpuMs } from '../bench/processes.ts';
import { median } from '../bench/stats.ts';

const MINUTES = positiveNumber('SOAK_MINUTES', 60);
const WARMUP = positiveNumber('SOAK_WARMUP_MINUTES', Math.max(1, Math.round(MINUTES / 6)));
const TOLERANCE = positiveNumber('SOAK_TOLERANCE_PERCENT', 5);
/** Quiet readings summed up per window of this many minutes (their medians), beside the verdict. */
const WINDOW_MINUTES = positiveNumber('SOAK_WINDOW_MINUTES', 10);
// Pauses between invocations of one worker: the machine is shared, and a soak
// looks for growth over time, not for throughput.
// Each Managed Instances worker waits LMI_WORKERS times as long, so that both
// environments see about the same rate, with overlapping invocations in the second.
const PACE_MS = positiveNumber('SOAK_PACE_MS', 100);
const LMI_WORKERS = 4;
// The quiet point: how long after the minute's last invocation ended (and, on
// demand, the environment froze) memory is read. Long enough for the
// extension's release after traffic stops; short of V8's memory reducer (8 s),
// which a frozen environment would not run either.
const SETTLE_MS = positiveNumber('SOAK_SETTLE_MS', 2000);
// The sample under load is taken this long before the minute's traffic stops.
const LOADED_SAMPLE_BEFORE_MS = 1000;
const DIAGNOSE = process.env.SOAK_DIAGNOSE || undefined;
const EXTRA_ENV = Object.fromEntries((process.env.SOAK_ENV ?? '').split(/\s+/).filter(Boolean).map((pair) => {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new Error(`SOAK_ENV: ${pair}: expected NAME=value`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}));
// SOAK_LAYER=<dir>: another build of the layer (a launcher with other settings, say), to compare
// with the built one in a second soak run beside it.
const OTHER_LAYER = process.env.SOAK_LAYER || undefined;
const DIAGNOSE_GC = process.env.SOAK_DIAGNOSE_GC === '1';
// SOAK_DIAGNOSE_RELEASE=minor|major|last-resort: that collection at each quiet point, before it is
// read, to see what each gives back (the probe's line has the figures from before it).
const DIAGNOSE_RELEASE = process.env.SOAK_DIAGNOSE_RELEASE || undefined;
const SNAPSHOT_MINUTES = new Set((process.env.SOAK_HEAP_SNAPSHOTS ?? '').split(',').filter(Boolean).map(Number));
const LAMBDA_LIMIT = 6_291_556;
const MiB = 1024 * 1024;

function positiveNumber(name: string, fallback: number): number {
  const given = process.env[name];
  if (given === undefined || given === '') return fallback;
  const n = Number(given);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${given}: expected a positive number`);
  return n;
}

type Plan =
  | { readonly kind: 'response'; readonly bytes: number }
  | { readonly kind: 'error'; readonly causeBytes: number }
  | { readonly kind: 'stream'; readonly bytes: number; readonly chunks: number; readonly failAfter: boolean }
  | { readonly kind: 'too-large' };

/** What one environment did, for the table. */
interface Tally {
  invocations: number;
  bytesIn: number;
  bytesOut: number;
  failures: string[];
  /** The last invocation that ended: on-demand, the quiet point is the freeze after it. */
  lastRequestId?: string;
}

const rng = SeededRandom.fromEnv('SOAK_SEED');
const filler = Buffer.alloc(LAMBDA_LIMIT + 1, 'x');
const apigw = readFileSync(path.join(FIXTURES, 'apigw-http.json'));
const sqs = readFileSync(path.join(FIXTURES, 'sqs.json'));

function drawSize(r: SeededRandom): number {
  return r.weighted<number>([[0, 4], [r.between(1, 512), 30], [r.between(1024, 64 * 1024), 40], [r.between(64 * 1024, MiB), 20], [r.between(MiB, 6 * MiB), 4], [LAMBDA_LIMIT, 2]]);
}

/** An event of about `size` bytes: JSON with a pad, or a trigger fixture (traceparent injection, links) padded. */
function drawEvent(r: SeededRandom): Buffer {
  const size = drawSize(r);
  if (size === 0) return Buffer.alloc(0);
  const kind = r.weighted<'plain' | 'apigw' | 'sqs'>([['plain', 5], ['apigw', 3], ['sqs', 2]]);
  if (kind === 'plain') {
    const head = Buffer.from('{"pad":"');
    const tail = Buffer.from('"}');
    const pad = Math.max(0, size - head.length - tail.length);
    return Buffer.concat([head, filler.subarray(0, pad), tail]);
  }
  // A fixture with one more member holding the padding, so the trigger's shape is kept.
  const fixture = kind === 'apigw' ? apigw : sqs;
  const close = fixture.lastIndexOf('}');
  const pad = Math.max(0, size - fixture.length - 12);
  return Buffer.concat([fixture.subarray(0, close), Buffer.from(',"pad":"'), filler.subarray(0, pad), Buffer.from('"}')]);
}

function drawPlan(r: SeededRandom, lmi: boolean): Plan {
  const kind = r.weighted<Plan['kind']>(lmi
    ? [['response', 80], ['error', 20]]
    : [['response', 60], ['error', 20], ['stream', 18], ['too-large', 2]]);
  switch (kind) {
    case 'response': return { kind, bytes: Math.min(drawSize(r), LAMBDA_LIMIT) };
    case 'error': return { kind, causeBytes: r.weighted<number>([[r.between(100, 4096), 6], [r.between(16 * 1024, 200 * 1024), 3], [r.between(200 * 1024, 1000 * 1024), 1]]) };
    case 'stream': return { kind, bytes: drawSize(r), chunks: r.between(1, 32), failAfter: r.chance(0.3) };
    case 'too-large': return { kind };
  }
}

// ---------------------------------------------------------------------------
// The runtime side: workers that take events from the proxy and post what the
// plan in the event's `X-Soak-Plan` header (added by the sandbox) says.

async function runtimeWorker(env: ProxiedSandbox, tally: Tally): Promise<void> {
  for (;;) {
    let event: RawResponse;
    try {
      event = await next(env.proxy);
    } catch {
      return; // the environment shut down
    }
    const id = raw(event.rawHeaders, 'lambda-runtime-aws-request-id');
    const planText = raw(event.rawHeaders, 'x-soak-plan');
    if (id === undefined || planText === undefined) {
      tally.failures.push(`/next without request id or plan (status ${event.status})`);
      continue;
    }
    const plan = JSON.parse(planText) as Plan;
    const answer = await post(env, id, plan).catch((err: Error) => ({ status: 0, error: err.message }));
    const expected = plan.kind === 'too-large' ? 413 : 202;
    if (answer.status !== expected) tally.failures.push(`${plan.kind}: runtime got ${answer.status} for ${id}, not ${expected}`);
  }
}

function post(env: ProxiedSandbox, id: string, plan: Plan): Promise<{ status: number }> {
  const base = `${RUNTIME}/invocation/${id}`;
  switch (plan.kind) {
    case 'response':
      return respond(env.proxy, id, filler.subarray(0, plan.bytes));
    case 'too-large':
      return respond(env.proxy, id, filler.subarray(0, LAMBDA_LIMIT + 1));
    case 'error': {
      const message = 'm'.repeat(plan.causeBytes);
      const cause = JSON.stringify({ working_directory: '/var/task', exceptions: [{ type: 'SoakError', message, stack: [] }], paths: [] });
      const body = Buffer.from(JSON.stringify({ errorType: 'SoakError', errorMessage: message.slice(0, 200), trace: [] }));
      return request(env.proxy, { method: 'POST', path: `${base}/error`, headers: ['Content-Type', 'application/json', 'Lambda-Runtime-Function-XRay-Error-Cause', cause], body });
    }
    case 'stream': {
      const step = Math.max(1, Math.ceil(plan.bytes / plan.chunks));
      const chunks: Buffer[] = [];
      for (let at = 0; at < plan.bytes; at += step) chunks.push(filler.subarray(at, Math.min(plan.bytes, at + step)));
      if (chunks.length === 0) chunks.push(Buffer.alloc(0));
      return request(env.proxy, {
        method: 'POST', path: `${base}/response`,
        headers: ['Lambda-Runtime-Function-Response-Mode', 'streaming', 'Content-Type', 'application/octet-stream', 'Trailer', 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body'],
        body: chunks,
        ...(plan.failAfter ? { trailers: [['Lambda-Runtime-Function-Error-Type', 'Runtime.StreamError'], ['Lambda-Runtime-Function-Error-Body', Buffer.from('{"errorMessage":"broke"}').toString('base64')]] as const } : {}),
      });
    }
  }
}

// ---------------------------------------------------------------------------
// The caller side: invocations until `until`, one at a time per worker.

async function caller(env: ProxiedSandbox, r: SeededRandom, lmi: boolean, until: number, tally: Tally): Promise<void> {
  while (Date.now() < until) {
    const event = drawEvent(r);
    const plan = drawPlan(r, lmi);
    try {
      const result = await env.sandbox.invoke(event, { extraHeaders: [['X-Soak-Plan', JSON.stringify(plan)]] });
      tally.invocations++;
      tally.bytesIn += event.length;
      tally.bytesOut += result.body.length;
      tally.lastRequestId = result.requestId;
      const want = plan.kind === 'response' ? 'response' : plan.kind === 'stream' && !plan.failAfter ? 'response' : 'error';
      if (result.outcome !== want) tally.failures.push(`${plan.kind}: outcome ${result.outcome}, not ${want}`);
    } catch (err) {
      tally.failures.push(`invoke failed: ${(err as Error).message}`);
    }
    forgetBodies(env);
    await delay(lmi ? PACE_MS * LMI_WORKERS : PACE_MS);
  }
}

/** The sandbox records every byte; an hour of 6 MB bodies would fill the driver's memory, not the extension's. */
function forgetBodies(env: ProxiedSandbox): void {
  const empty = Buffer.alloc(0);
  for (const entry of env.sandbox.requests) {
    if (entry.complete && entry.body.length > 0) {
      entry.body = empty;
      entry.chunks.length = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// Measurements from /proc.

interface Sample {
  readonly minute: number;
  readonly rssKiB: number;
  /** Anonymous memory (heap, malloc arenas, buffers): the part a leak grows; the rest is mapped files (node's binary). */
  readonly anonKiB: number;
  readonly fds: number;
  /** SOAK_DIAGNOSE only: what the extension's own process says, read without collecting anything. */
  readonly probe?: Probe;
}

/** KiB each. `external` includes `arrayBuffers` (Buffers); `mallocHeap` is glibc's main arena ([heap] in smaps). */
interface Probe {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly mallocHeap: number;
  readonly otherAnon: number;
  /** V8's heap used after a full collection (SOAK_DIAGNOSE_GC=1, at quiet points only). */
  readonly retained?: number;
}

async function sample(pid: number, minute: number, probe: { gc: boolean; quiet?: boolean; release?: boolean } | undefined): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'latin1');
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'latin1');
  const figures = {
    minute,
    rssKiB: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]),
    anonKiB: Number(/^Anonymous:\s+(\d+) kB/m.exec(rollup)?.[1]),
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
  if (DIAGNOSE === undefined || probe === undefined) return figures;
  if (!probe.release) return { ...figures, probe: await probeHeap(DIAGNOSE, pid, minute, probe.gc, probe.quiet === true) };
  const probed = await probeHeap(DIAGNOSE, pid, minute, probe.gc, probe.quiet === true, DIAGNOSE_RELEASE);
  return { ...await sample(pid, minute, undefined), probe: probed };
}

// ---------------------------------------------------------------------------
// SOAK_DIAGNOSE: a copy of the layer whose launcher preloads heap-probe.cjs.

function diagnosticLayer(dir: string): string {
  const layer = path.join(dir, 'layer');
  rmSync(layer, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(LAYER, layer, { recursive: true, filter: (from) => !from.endsWith('/bin/node') });
  symlinkSync(path.join(LAYER, 'lambda-trace-proxy/bin/node'), path.join(layer, 'lambda-trace-proxy/bin/node'));
  // The standalone layer's extensions/lambda-trace-proxy is the Go launcher (src/stub): it execs
  // this script, which execs node.
  const launcher = path.join(layer, 'lambda-trace-proxy/launcher.sh');
  const shipped = readFileSync(launcher, 'utf8');
  const probe = path.join(path.dirname(new URL(import.meta.url).pathname), 'heap-probe.cjs');
  const patched = shipped.replace('exec "$root/bin/node" "$bundle"', `exec "$root/bin/node" --expose-gc -r ${probe} "$bundle"`);
  if (patched === shipped) throw new Error('SOAK_DIAGNOSE: the launcher no longer has the line to patch');
  writeFileSync(launcher, patched, { mode: 0o755 });
  return layer;
}

async function probeHeap(dir: string, pid: number, minute: number, gc: boolean, quiet: boolean, release?: string): Promise<Probe> {
  const lines = path.join(dir, `${pid}.jsonl`);
  const count = () => existsSync(lines) ? readFileSync(lines, 'utf8').split('\n').filter(Boolean).length : 0;
  const had = count();
  const snapshot = quiet && SNAPSHOT_MINUTES.has(minute) ? path.join(dir, `${pid}-minute-${minute}.heapsnapshot`) : undefined;
  writeFileSync(path.join(dir, `${pid}.request`), JSON.stringify({ minute, gc, snapshot, release }));
  process.kill(pid, 'SIGUSR2');
  // The probe answers within the extension's event loop; a snapshot takes seconds.
  while (count() === had) await delay(50);
  interface Line { before: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; resident: { brkHeap: number; otherAnon: number } }; afterGc?: { heapUsed: number } }
  const last = JSON.parse(readFileSync(lines, 'utf8').trim().split('\n').pop()!) as Line;
  const b = last.before;
  return {
    heapUsed: b.heapUsed / 1024, heapTotal: b.heapTotal / 1024, external: b.external / 1024, arrayBuffers: b.arrayBuffers / 1024,
    mallocHeap: b.resident.brkHeap, otherAnon: b.resident.otherAnon,
    ...(last.afterGc === undefined ? {} : { retained: last.afterGc.heapUsed / 1024 }),
  };
}

/** The verdict is on the quiet samples; those under load are summed up beside them, for what they show. */
function verdict(name: string, quiet: readonly Sample[], loaded: readonly Sample[]): { ok: boolean; lines: string[] } {
  const after = quiet.filter((s) => s.minute >= WARMUP);
  const afterLoaded = loaded.filter((s) => s.minute >= WARMUP);
  if (after.length < 2) return { ok: true, lines: [`${name}: fewer than 2 samples after the ${WARMUP}-minute warm-up; nothing to compare`] };
  const rss = after.map((s) => s.rssKiB);
  const fds = after.map((s) => s.fds);
  const spread = (xs: readonly number[]) => (Math.max(...xs) - Math.min(...xs)) / Math.min(...xs) * 100;
  const drift = (xs: readonly number[]) => (xs[xs.length - 1]! - xs[0]!) / xs[0]! * 100;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const ok = spread(rss) <= TOLERANCE && spread(fds) <= TOLERANCE;
  // A leak grows steadily; heap plateaus and GC timing do not: the least-squares trend over the second half tells them apart.
  const trend = (samples: readonly Sample[], of: (s: Sample) => number | undefined) => {
    const half = samples.slice(Math.floor(samples.length / 2));
    return slopePerHour(half.map((s) => s.minute), half.map((s) => (of(s) ?? 0) / 1024));
  };
  // The other figures say where RSS went: anonymous memory (V8's heap,
  // malloc), and with SOAK_DIAGNOSE V8's heap, Buffers and glibc's heap.
  const range = (samples: readonly Sample[], label: string, of: (s: Sample) => number | undefined) => {
    const xs = samples.map(of).filter((x): x is number => x !== undefined);
    return xs.length < samples.length || xs.length === 0 ? [] : [`${label} ${mb(Math.min(...xs))}-${mb(Math.max(...xs))} MB (spread ${spread(xs).toFixed(1)} %, second-half trend ${signed(trend(samples, of))} MB/hour)`];
  };
  const where = (samples: readonly Sample[]) => [
    ...range(samples, 'anonymous', (s) => s.anonKiB),
    ...range(samples, 'V8 heap used', (s) => s.probe?.heapUsed),
    ...range(samples, 'external (Buffers)', (s) => s.probe?.external),
    ...range(samples, 'glibc heap', (s) => s.probe?.mallocHeap),
    ...range(samples, 'other anonymous (V8 pages, big chunks)', (s) => s.probe?.otherAnon),
    ...range(samples, 'V8 retained after a full GC', (s) => s.probe?.retained),
  ].join('; ');
  // Each quiet reading holds whatever the minute's last invocations left (a 6 MB one, or a 0 B one):
  // medians over windows of WINDOW_MINUTES show the level without that, which a leak would still move.
  const windows: number[] = [];
  for (let from = WARMUP; from < after[after.length - 1]!.minute; from += WINDOW_MINUTES) {
    const inWindow = after.filter((s) => s.minute >= from && s.minute < from + WINDOW_MINUTES).map((s) => s.rssKiB);
    if (inWindow.length >= 3) windows.push(median(inWindow));
  }
  const windowed = windows.length < 2 ? [] : [
    `${name}: quiet RSS, median of each ${WINDOW_MINUTES} minutes after warm-up (not judged): ${windows.map(mb).join(', ')} MB, spread ${spread(windows).toFixed(1)} %`,
  ];
  return {
    ok,
    lines: [
      `${name}: quiet, after warm-up (minutes ${WARMUP}-${after[after.length - 1]!.minute}) RSS ${mb(Math.min(...rss))}-${mb(Math.max(...rss))} MB, ` +
        `spread ${spread(rss).toFixed(1)} %, first to last ${signed(drift(rss))} %; ` +
        `fds ${Math.min(...fds)}-${Math.max(...fds)}, spread ${spread(fds).toFixed(1)} % → ${ok ? 'flat' : `NOT flat within ${TOLERANCE} %`}; ` +
        `RSS trend over the second half ${signed(trend(after, (s) => s.rssKiB))} MB/hour`,
      ...windowed,
      `${name}: quiet, where it sits: ${where(after)}`,
      `${name}: under load (not judged): ${range(afterLoaded, 'RSS', (s) => s.rssKiB).join('')}; ${where(afterLoaded)}`,
    ],
  };
}

const mb = (kib: number) => (kib / 1024).toFixed(1);

function slopePerHour(minutes: readonly number[], values: readonly number[]): number {
  if (minutes.length < 2) return 0;
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const mx = mean(minutes);
  const my = mean(values);
  let num = 0;
  let den = 0;
  minutes.forEach((m, i) => { num += (m - mx) * (values[i]! - my); den += (m - mx) ** 2; });
  return den === 0 ? 0 : (num / den) * 60;
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => { sinkRequests++; res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(); });
  });
  let sinkRequests = 0;
  // Idle connections stay open (Node's server closes them after 5 s): the quiet reading, 2 s after
  // an on-demand minute's last export, would otherwise count one socket fewer some minutes.
  sink.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
  const tracing = { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...EXTRA_ENV, ...(DIAGNOSE === undefined ? {} : { SOAK_PROBE_DIR: DIAGNOSE }) };
  const layer = DIAGNOSE !== undefined ? { layerDir: diagnosticLayer(DIAGNOSE) } : OTHER_LAYER !== undefined ? { layerDir: OTHER_LAYER } : {};

  console.log(`soak: ${MINUTES} min, warm-up ${WARMUP} min, seed ${rng.seed} (SOAK_SEED=${rng.seed} to repeat), pace ${PACE_MS} ms, settle ${SETTLE_MS} ms, tolerance ${TOLERANCE} %${OTHER_LAYER === undefined ? '' : `, layer ${OTHER_LAYER}`}${process.env.SOAK_ENV ? `, SOAK_ENV='${process.env.SOAK_ENV}'` : ''}`);
  const onDemand = await startWithProxy({ timeoutMs: 60_000, env: tracing, ...layer });
  const lmi = await startWithProxy({ timeoutMs: 60_000, concurrency: LMI_WORKERS, env: tracing, ...layer });
  const envs = [{ name: 'on-demand', env: onDemand, lmi: false }, { name: `managed instances (${LMI_WORKERS})`, env: lmi, lmi: true }].map((e) => ({
    ...e, pid: extensionPid(e.env.port), loaded: [] as Sample[], ended: [] as Sample[], quiet: [] as Sample[],
    tally: { invocations: 0, bytesIn: 0, bytesOut: 0, failures: [] } as Tally, rng: rng.fork(),
  }));
  const cpuMs = (pid: number) => { const cpu = readCpuMs(pid); return cpu === undefined ? Number.NaN : cpu.user + cpu.system; };
  const cpuAtStart = envs.map((e) => cpuMs(e.pid));
  const workers = [runtimeWorker(onDemand, envs[0]!.tally), ...Array.from({ length: LMI_WORKERS }, () => runtimeWorker(lmi, envs[1]!.tally))];

  const probed = DIAGNOSE === undefined ? '' : ' | V8 heap used MB | external MB | glibc heap MB';
  const columns = `invocations | RSS MB under load | at end | quiet | anon MB quiet${probed} | fds`;
  const header = `| minute | ${envs.map((e) => `${e.name}: ${columns}`).join(' | ')} | exports |`;
  console.log(header);
  console.log(header.replace(/[^|]+/g, '---'));
  const look = DIAGNOSE === undefined ? undefined : { gc: false };
  const started = Date.now();
  for (let minute = 0; minute <= MINUTES; minute++) {
    if (minute > 0) {
      const until = started + minute * 60_000;
      const load = Promise.all(envs.flatMap((e) => e.lmi
        ? Array.from({ length: LMI_WORKERS }, () => caller(e.env, e.rng.fork(), true, until, e.tally))
        : [caller(e.env, e.rng, false, until, e.tally)]));
      // Under load: at an arbitrary moment of the traffic, as the first soaks sampled (printed, not judged).
      await delay(Math.max(0, until - LOADED_SAMPLE_BEFORE_MS - Date.now()));
      for (const e of envs) e.loaded.push(await sample(e.pid, minute, look));
      await load;
    }
    // At the end of the minute's traffic: every invocation answered and, on
    // demand, the environment frozen after the last one (the extension back in
    // /event/next); then the quiet point, SETTLE_MS later, with nothing in flight.
    for (const e of envs) {
      const last = e.tally.lastRequestId;
      if (!e.lmi && last !== undefined) await e.env.sandbox.waitForEvent('freeze', { match: (ev) => ev.detail['after'] === last });
      e.ended.push(await sample(e.pid, minute, look));
    }
    await delay(SETTLE_MS);
    for (const e of envs) e.quiet.push(await sample(e.pid, minute, DIAGNOSE === undefined ? undefined : { gc: DIAGNOSE_GC, quiet: true, release: DIAGNOSE_RELEASE !== undefined }));
    console.log(`| ${minute} | ${envs.map((e) => {
      const [l, n, q] = [e.loaded.at(-1), e.ended.at(-1)!, e.quiet.at(-1)!];
      const triple = (of: (s: Sample) => number | undefined) => [l, n, q].map((s) => { const v = s && of(s); return v === undefined ? '-' : mb(v); }).join(' / ');
      const probe = q.probe === undefined ? [] : [triple((s) => s.probe?.heapUsed), triple((s) => s.probe?.external), triple((s) => s.probe?.mallocHeap)];
      return [e.tally.invocations, l === undefined ? '-' : mb(l.rssKiB), mb(n.rssKiB), mb(q.rssKiB), mb(q.anonKiB), ...probe, q.fds].join(' | ');
    }).join(' | ')} | ${sinkRequests} |`);
  }

  // The extension's CPU per invocation (user + system, exports included): what a change costs.
  const cpuUsed = envs.map((e, i) => cpuMs(e.pid) - cpuAtStart[i]!);
  for (const e of envs) await e.env.sandbox.shutdown();
  await Promise.all(workers);
  sink.close();

  let ok = true;
  console.log('');
  for (const [i, e] of envs.entries()) {
    const v = verdict(e.name, e.quiet, e.loaded);
    ok &&= v.ok;
    for (const line of v.lines) console.log(line);
    const t = e.tally;
    console.log(`${e.name}: ${t.invocations} invocations, ${(t.bytesIn / MiB).toFixed(0)} MiB of events, ${(t.bytesOut / MiB).toFixed(0)} MiB posted back, ${t.failures.length} failures, extension CPU ${(cpuUsed[i]! / Math.max(1, t.invocations)).toFixed(2)} ms per invocation`);
    for (const f of t.failures.slice(0, 10)) console.log(`  failure: ${f}`);
    ok &&= t.failures.length === 0;
  }
  console.log(`soak: ${ok ? 'passed' : 'FAILED'} (seed ${rng.seed})`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
