// Start-up, from spawn to the moments that matter: the register request reaching
// Lambda (Lambda starts the runtime only once every extension has registered),
// the listener accepting connections (a runtime that connects earlier is
// refused), and the extension waiting in /event/next (the end of its part of
// Init: the first event waits for it). Measured on fresh processes, rotating
// the kinds sample by sample so that noise hits them alike.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Upstream } from './upstream.ts';
import { BUNDLE, canConnect, extensionEnv, LAUNCHER, LAYER_NODE } from './variants.ts';
import { freePort, spawnChild, stopChild, withTimeout, type Child } from './processes.ts';

export type StartupKind = 'shipped-register' | 'bundle-register' | 'shipped-listener' | 'minimal-register' | 'bare-listener' | 'shipped-ready' | 'bundle-ready';

export const STARTUP_KINDS: readonly StartupKind[] = ['shipped-register', 'bundle-register', 'minimal-register', 'shipped-listener', 'bare-listener', 'shipped-ready', 'bundle-ready'];

// "Shipped" is the standalone layers' extensions/lambda-trace-proxy: the Go launcher
// (src/stub), which listens and registers, then execs launcher.sh and Node. "Bundle"
// is Node alone, listening and registering itself (as in the slim layer).
export const STARTUP_LABELS: Record<StartupKind, string> = {
  'shipped-register': 'lambda-trace-proxy (shipped: Go launcher, then Node): exec → register',
  'bundle-register': 'same bundle, node started directly (no launcher): exec → register',
  'minimal-register': 'smallest Node extension (register only): exec → register',
  'shipped-listener': 'lambda-trace-proxy (shipped): exec → connections accepted',
  'bare-listener': 'bare node:http server: exec → listening',
  'shipped-ready': 'lambda-trace-proxy (shipped), tracing on: exec → waiting in /event/next',
  'bundle-ready': 'same bundle, node started directly, tracing on: exec → waiting in /event/next',
};

const HERE = path.dirname(new URL(import.meta.url).pathname);
export const MINIMAL_EXTENSION = path.join(HERE, 'minimal-extension.cjs');
export const BARE_HTTP_SERVER = path.join(HERE, 'bare-http-server.cjs');
const SAMPLE_TIMEOUT_MS = 10_000;

/** One start-up, in ms from just before spawn. */
export async function sampleStartup(kind: StartupKind, collectorEndpoint: string): Promise<number> {
  const upstream = await new Upstream().listen();
  const port = await freePort();
  let child: Child | undefined;
  try {
    const env = extensionEnv(upstream.address, port, { endpoint: collectorEndpoint }, false);
    const started = performance.now();
    switch (kind) {
      case 'shipped-register':
      case 'shipped-listener':
      case 'shipped-ready':
        child = spawnChild(kind, LAUNCHER, [], env);
        break;
      case 'bundle-register':
      case 'bundle-ready':
        child = spawnChild(kind, LAYER_NODE, [BUNDLE, '--extension-name', 'lambda-trace-proxy'], env);
        break;
      case 'minimal-register':
        child = spawnChild(kind, LAYER_NODE, [MINIMAL_EXTENSION], env);
        break;
      case 'bare-listener':
        child = spawnChild(kind, LAYER_NODE, [BARE_HTTP_SERVER, String(port)], env);
        break;
    }
    const readyAt = kind.endsWith('-register') ? upstream.whenRegistered()
      : kind.endsWith('-ready') ? upstream.whenExtensionWaiting()
      : firstAccept(port, child);
    return (await withTimeout(readyAt, SAMPLE_TIMEOUT_MS, `${kind} to start`)) - started;
  } finally {
    if (child) await stopChild(child, 0);
    await upstream.close();
  }
}

/**
 * Polls with a connect about every millisecond: the first accepted one is the
 * listener's ready time (to within ~1 ms). Back-to-back connects would resolve
 * finer but take a core from the process being timed (2 cores here).
 */
async function firstAccept(port: number, child: Child): Promise<number> {
  let dead = false;
  void child.exited.then(() => { dead = true; });
  for (;;) {
    if (await canConnect(port)) return performance.now();
    if (dead) throw new Error(`${child.name} exited before listening: ${child.stderrTail() || 'no output'}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
