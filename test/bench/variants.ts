// The ways a runtime can reach Lambda that the benchmark compares, each an
// environment of its own (its own upstream, relay or extension process):
// direct, through a bare TCP relay (the floor: what one more hop costs at
// least), through the shipped extension with tracing off and on, and, for
// reference, through a bare relay written in Node (what Node's own I/O costs
// before any HTTP handling).

import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Upstream } from './upstream.ts';
import { findNodePid, freePort, spawnChild, stopChild, withTimeout, type Child } from './processes.ts';
import { layerParts, stageLayer } from './staged-layer.ts';

/** `node-http-relay` is concurrency.ts's yardstick only: not in VARIANTS, so not in `make bench`. */
export type VariantName = 'direct' | 'floor' | 'node-relay' | 'node-http-relay' | 'proxy-off' | 'proxy-on';

export const VARIANTS: readonly VariantName[] = ['direct', 'floor', 'node-relay', 'proxy-off', 'proxy-on'];

export const VARIANT_LABELS: Record<VariantName, string> = {
  'direct': 'direct',
  'floor': 'floor (socat relay)',
  'node-relay': 'Node relay (reference)',
  'node-http-relay': 'node:http relay (reference)',
  'proxy-off': 'proxy, tracing off',
  'proxy-on': 'proxy, tracing on',
};

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The layer as the build leaves it: under the repository's package.json, so never measured in place (staged-layer.ts). */
export const BUILT_LAYER = path.join(ROOT, 'dist/layer');
/** Where this process measures it: stageBuiltLayer() copies it there, outside the repository, as Lambda's /opt. */
export const LAYER = path.join(tmpdir(), `lambda-trace-proxy-bench-${process.pid}`);
export const { launcher: LAUNCHER, node: LAYER_NODE, bundle: BUNDLE } = layerParts(LAYER);

/** Every entry point of the benchmark calls this before it starts a process: LAYER is then dist/layer as Lambda runs it. */
export function stageBuiltLayer(): void {
  stageLayer(BUILT_LAYER, { at: LAYER });
}

/**
 * The launcher of a variant's `layer:DIR` (`layer:` alone: the staged build), DIR staged
 * outside the repository first, as the build is.
 */
export function layerLauncher(spec: string): string {
  const dir = spec.slice('layer:'.length);
  return dir === '' ? LAUNCHER : stageLayer(dir).launcher;
}
const NODE_RELAY = path.join(ROOT, 'test/bench/node-relay.cjs');
const NODE_HTTP_RELAY = path.join(ROOT, 'test/bench/node-http-relay.cjs');

/** socat's buffer: 256 KiB per read, so a large body crosses the relay in few syscalls. */
const RELAY_BUFFER = 262144;
const READY_TIMEOUT_MS = 15_000;

export interface Environment {
  readonly variant: VariantName;
  readonly upstream: Upstream;
  /** Where the runtime sends its requests. */
  readonly runtimePort: number;
  /** The extension's node process (not its sh launcher), when there is one. */
  readonly extensionPid: number | undefined;
  /** The one process that relays (the extension's node, or a Node relay), whose CPU a variant costs; undefined for socat (a process per connection) and direct. */
  readonly relayPid?: number | undefined;
  close(): Promise<void>;
}

export interface EnvironmentOptions {
  /** OTLP endpoint for tracing on (a closed port plays a collector that is down). */
  readonly collectorEndpoint: string;
  /** Lambda Managed Instances: concurrent `/next`, the extension registers SHUTDOWN only and flushes on a timer. */
  readonly managedInstances?: boolean;
  readonly eventSource?: () => Buffer;
  /**
   * Start the extension's node directly (not through the launcher) with these
   * flags and this bundle: for profiling (`--cpu-prof`) or an unminified twin.
   */
  readonly direct?: { readonly nodeArgs: readonly string[]; readonly bundle: string; readonly env?: Readonly<Record<string, string>> };
  /** Start another layer's launcher (its extensions/lambda-trace-proxy) with these variables added: another build as shipped. */
  readonly layer?: { readonly launcher: string; readonly env?: Readonly<Record<string, string>> };
}

export async function startEnvironment(variant: VariantName, options: EnvironmentOptions): Promise<Environment> {
  const upstream = await new Upstream(options.eventSource ? { eventSource: options.eventSource } : {}).listen();
  switch (variant) {
    case 'direct':
      return { variant, upstream, runtimePort: upstream.port, extensionPid: undefined, close: () => upstream.close() };
    case 'floor':
      return startRelay(variant, upstream, (port) => ['socat', [
        '-b', String(RELAY_BUFFER),
        `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,nodelay`,
        `TCP:127.0.0.1:${upstream.port},nodelay`,
      ]]);
    case 'node-relay':
      return startRelay(variant, upstream, (port) => [LAYER_NODE, [NODE_RELAY, String(port), String(upstream.port)]]);
    case 'node-http-relay':
      return startRelay(variant, upstream, (port) => [LAYER_NODE, [NODE_HTTP_RELAY, String(port), String(upstream.port)]]);
    case 'proxy-off':
    case 'proxy-on': {
      const port = await freePort();
      const tracing = variant === 'proxy-on' ? { endpoint: options.collectorEndpoint } : undefined;
      const env = { ...extensionEnv(upstream.address, port, tracing, options.managedInstances ?? false), ...options.direct?.env, ...options.layer?.env };
      const child = options.direct
        ? spawnChild(variant, LAYER_NODE, [...options.direct.nodeArgs, options.direct.bundle, '--extension-name', 'lambda-trace-proxy'], env)
        : spawnChild(variant, options.layer?.launcher ?? LAUNCHER, [], env);
      await untilReady(child, upstream);
      const extensionPid = findNodePid(child.pid);
      if (extensionPid === undefined) throw new Error(`${variant}: no node process found under pid ${child.pid}`);
      return {
        variant, upstream, runtimePort: port, extensionPid, relayPid: extensionPid,
        close: async () => {
          upstream.shutdownExtension();
          await stopChild(child, 3000);
          await upstream.close();
        },
      };
    }
  }
}

/** A relay process between the runtime and the upstream; `command` gets the port it must listen on. */
async function startRelay(variant: VariantName, upstream: Upstream, command: (port: number) => [string, string[]]): Promise<Environment> {
  const port = await freePort();
  const [file, args] = command(port);
  const relay = spawnChild(variant, file, args, baseEnv());
  await withTimeout(waitForListener(port, relay), READY_TIMEOUT_MS, `${variant} to listen`);
  return {
    variant, upstream, runtimePort: port, extensionPid: undefined,
    relayPid: variant === 'floor' ? undefined : relay.pid,
    close: async () => { await stopChild(relay, 0); await upstream.close(); },
  };
}

/** Only PATH: nothing of the benchmark's own environment (NODE_OPTIONS…) leaks into what it times. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin' };
}

/** The environment Lambda gives an extension, with only what the benchmark varies added. */
export function extensionEnv(runtimeApi: string, listenerPort: number, tracing: { endpoint: string } | undefined, managedInstances: boolean): Record<string, string> {
  const env: Record<string, string> = {
    ...baseEnv(),
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    LRAP_LISTENER_PORT: String(listenerPort),
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_REGION: 'us-east-1',
  };
  if (tracing) env.OTEL_EXPORTER_OTLP_ENDPOINT = tracing.endpoint;
  else env.OTEL_SDK_DISABLED = 'true';
  if (managedInstances) {
    env.AWS_LAMBDA_INITIALIZATION_TYPE = 'lambda-managed-instances';
    env.AWS_LAMBDA_MAX_CONCURRENCY = '8';
  }
  return env;
}

/** Registered and blocked in `/event/next` (tracing loaded by then), or a clear error if it died. */
async function untilReady(child: Child, upstream: Upstream): Promise<void> {
  const died = child.exited.then((code) => {
    throw new Error(`${child.name} exited (${code}) before it was ready: ${child.stderrTail() || 'no output'}`);
  });
  const ready = upstream.whenRegistered().then(() => upstream.whenExtensionWaiting());
  await withTimeout(Promise.race([ready, died]), READY_TIMEOUT_MS, `${child.name} to register and wait for events`);
}

/** Connects until something accepts on `port`, or the process that should listen has died. */
export async function waitForListener(port: number, child: Child | undefined): Promise<void> {
  let dead = false;
  void child?.exited.then(() => { dead = true; });
  while (!(await canConnect(port))) {
    if (dead) throw new Error(`${child?.name} exited before listening: ${child?.stderrTail() || 'no output'}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}
