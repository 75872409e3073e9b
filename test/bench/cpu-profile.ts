// Reads a V8 .cpuprofile (node --cpu-prof) and adds up self time: per function,
// and per source module when the bundle is an unminified esbuild build, whose
// `// path/to/module.ts` comments tell which module each line came from.

import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly ms: number;
  /** Who called it, by self time spent under each caller (functions only). */
  readonly callers?: ReadonlyMap<string, number>;
}

export interface ProfileSummary {
  /** Sampled time not spent idle, ms. */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly functions: readonly SelfTime[];
  readonly modules: readonly SelfTime[];
}

export function summarizeProfile(file: string, bundle: string | undefined): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // The bundle and the files it loads beside it (tracing.cjs, metrics.cjs): each frame names its file.
  const maps = new Map<string, (line: number) => string | undefined>();
  const moduleOf = (file: string, line: number): string | undefined => {
    if (!bundle || path.dirname(file) !== path.dirname(bundle)) return undefined;
    let map = maps.get(file);
    if (!map) maps.set(file, map = bundleModules(file));
    return map(line);
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map<number, number>();
  // A sample lasts until the next one: timeDeltas[i + 1] belongs to samples[i].
  for (let i = 0; i < profile.samples.length - 1; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i + 1]!);
  }
  const functions = new Map<string, SelfTime>();
  const modules = new Map<string, SelfTime>();
  let busyUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const { module, where } = locate(frame, moduleOf);
    const key = `${frame.functionName}@${where}`;
    const f = functions.get(key);
    const callers = new Map(f?.callers ?? []);
    const parent = byId.get(parentOf.get(id) ?? -1);
    if (parent) {
      const p = locate(parent.callFrame, moduleOf);
      const caller = `${parent.callFrame.functionName || '(anonymous)'} ${p.where}`;
      callers.set(caller, (callers.get(caller) ?? 0) + us / 1000);
    }
    functions.set(key, { name: frame.functionName || '(anonymous)', where, ms: (f?.ms ?? 0) + us / 1000, callers });
    const m = modules.get(module);
    modules.set(module, { name: shortPath(module), where: '', ms: (m?.ms ?? 0) + us / 1000 });
  }
  const byTime = (a: SelfTime, b: SelfTime) => b.ms - a.ms;
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions: [...functions.values()].sort(byTime), modules: [...modules.values()].sort(byTime) };
}

function locate(frame: ProfileNode['callFrame'], moduleOf: (file: string, line: number) => string | undefined): { module: string; where: string } {
  const file = frame.url.replace(/^file:\/\//, '');
  if (file.endsWith('.cjs')) {
    const module = moduleOf(file, frame.lineNumber);
    return { module: module ?? file, where: `${module ? `${shortPath(module)}, ` : ''}${path.basename(file)} line ${frame.lineNumber + 1}` };
  }
  return { module: file || frame.functionName, where: file ? `${shortPath(file)}:${frame.lineNumber + 1}` : '' };
}

/** Line (0-based) → module path, from esbuild's `// src/x.ts` markers in an unminified bundle. */
function bundleModules(bundle: string): (line: number) => string | undefined {
  const starts: { line: number; module: string }[] = [];
  readFileSync(bundle, 'utf8').split('\n').forEach((text, line) => {
    const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
    if (m) starts.push({ line, module: m[1]! });
  });
  return (line) => {
    let found: string | undefined;
    for (const s of starts) {
      if (s.line > line) break;
      found = s.module;
    }
    return found;
  };
}

function shortPath(file: string): string {
  return file.replace(/^.*\/node_modules\//, '').replace(/^\/work\/main\//, '');
}
