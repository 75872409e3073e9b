// Resident memory of the processes the benchmark compares: the extension's node
// process (found behind its launcher), a bare node:http server and the smallest
// Node extension, all on the same binary, read from /proc/<pid>/status.

import { setTimeout as sleep } from 'node:timers/promises';
import { Upstream } from './upstream.ts';
import { BARE_HTTP_SERVER, MINIMAL_EXTENSION } from './startup.ts';
import { baseEnv, extensionEnv, LAYER_NODE, waitForListener } from './variants.ts';
import { freePort, readMemory, spawnChild, stopChild, withTimeout } from './processes.ts';
import { median } from './stats.ts';

/** Let start-up garbage and lazy compilation settle before calling a process idle. */
export const IDLE_SETTLE_MS = 500;

/** VmRSS, bytes: the median of five readings 20 ms apart. */
export async function idleRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const m = readMemory(pid);
    if (!m) throw new Error(`process ${pid} is gone`);
    readings.push(m.rss);
    await sleep(20);
  }
  return median(readings);
}

export function peakRss(pid: number): number {
  const m = readMemory(pid);
  if (!m) throw new Error(`process ${pid} is gone`);
  return m.hwm;
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
