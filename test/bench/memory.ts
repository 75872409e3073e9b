// Resident memory of the processes the benchmark compares: the extension's node
// process (found behind its launcher), a bare node:http server and the smallest
// Node extension, all on the same binary, read from /proc/<pid>/status.

import { setTimeout as sleep } from 'node:timers/promises';
import { Upstream } from './upstream.ts';
import { BARE_HTTP_SERVER, MINIMAL_EXTENSION } from './startup.ts';
import { baseEnv, extensionEnv, LAYER_NODE, waitForListener } from './variants.ts';
import { freePort, readAnonymous, readFootprint, spawnChild, stopChild, withTimeout, type FootprintFigures } from './processes.ts';
import { median } from './stats.ts';

/** Let start-up garbage and lazy compilation settle before calling a process idle. */
export const IDLE_SETTLE_MS = 500;

/** Resident bytes (smaps_rollup Rss): the median of five readings 20 ms apart. */
export async function idleRss(pid: number): Promise<number> {
  return (await idleFootprint(pid)).rss;
}

export interface Yardstick {
  readonly pid: number;
  close(): Promise<void>;
}

/** A bare node:http server listening on loopback, same Node binary as the layer. */
export async function startBareServer(): Promise<Yardstick> {
  const port = await freePort();
  const child = spawnChild('bare-http-server', LAYER_NODE, [BARE_HTTP_SERVER, String(port)], baseEnv());
  await withTimeout(waitForListener(port, child), 10_000, 'the bare HTTP server to listen');
  return { pid: child.pid, close: async () => { await stopChild(child, 0); } };
}

/** The smallest Node extension, registered and waiting in `/event/next`. */
export async function startMinimalExtension(): Promise<Yardstick> {
  const upstream = await new Upstream().listen();
  const child = spawnChild('minimal-extension', LAYER_NODE, [MINIMAL_EXTENSION], extensionEnv(upstream.address, 0, undefined, false));
  await withTimeout(upstream.whenRegistered().then(() => upstream.whenExtensionWaiting()), 10_000, 'the minimal extension to register');
  return {
    pid: child.pid,
    close: async () => {
      upstream.shutdownExtension();
      await stopChild(child, 1000);
      await upstream.close();
    },
  };
}

export type Footprint = Pick<FootprintFigures, 'rss' | 'anon' | 'file'>;

/** Rss, anonymous and file-backed: the medians of five readings 20 ms apart. */
export async function idleFootprint(pid: number): Promise<Footprint> {
  const readings: FootprintFigures[] = [];
  for (let i = 0; i < 5; i++) {
    const m = readFootprint(pid);
    if (!m) throw new Error(`process ${pid} is gone`);
    readings.push(m);
    await sleep(20);
  }
  return { rss: median(readings.map((r) => r.rss)), anon: median(readings.map((r) => r.anon)), file: median(readings.map((r) => r.file)) };
}

/**
 * The kernel keeps a high-water mark for RSS (VmHWM) but none for anonymous
 * memory: sample it every 10 ms, as Lambda samples a sandbox's memory.
 */
export class MemorySampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #anon = 0;

  constructor(pid: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.#sample(), 10);
    this.#timer.unref();
  }

  #sample(): void {
    const anon = readAnonymous(this.#pid);
    if (anon !== undefined) this.#anon = Math.max(this.#anon, anon);
  }

  /** The peak seen (a last reading included). */
  stop(): { anon: number } {
    this.#sample();
    clearInterval(this.#timer);
    return { anon: this.#anon };
  }
}

/** The yardstick of the targets: the layer's Node binary running an empty timer, nothing loaded. */
export async function startEmptyNode(): Promise<Yardstick> {
  const child = spawnChild('empty-node', LAYER_NODE, ['-e', 'setInterval(() => {}, 1 << 30)'], baseEnv());
  // Let it reach its loop (no port to wait on): its own start-up garbage settles here too.
  await sleep(IDLE_SETTLE_MS);
  if (!readFootprint(child.pid)) throw new Error(`the empty node process died: ${child.stderrTail()}`);
  return { pid: child.pid, close: async () => { await stopChild(child, 0); } };
}
