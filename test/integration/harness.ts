// Shared set-up for integration tests: the built layer (dist/layer) running as
// a real extension process inside the local Lambda sandbox, and a scripted
// runtime that speaks raw HTTP to the proxy so tests control every byte.

import http from 'node:http';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { LambdaSandbox, SandboxInitError, type LambdaSandboxOptions } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LAYER = path.join(ROOT, 'dist/layer');
export const WRAPPER = path.join(LAYER, 'wrapper-script.sh');
export const NODE = process.execPath;
export const FIXTURES = path.join(ROOT, 'test/fixtures/events');

if (!existsSync(path.join(LAYER, 'extensions/lambda-trace-proxy'))) {
  throw new Error(`${LAYER} has no built extension: run \`make build\` first (make test does).`);
}

export { freePort } from '../support/free-port.ts';
import { freePort } from '../support/free-port.ts';

export interface ProxiedSandbox {
  readonly sandbox: LambdaSandbox;
  /** Where the runtime reaches the proxy: host:port. */
  readonly proxy: string;
  readonly port: number;
  /** The collector, when tracing is on. */
  readonly receiver: OtlpReceiver | undefined;
  /** Shuts the sandbox down, then the collector. */
  close(): Promise<void>;
}

export interface ProxiedSandboxOptions extends Partial<LambdaSandboxOptions> {
  env?: Record<string, string>;
  /** Tracing on, exporting to a collector of the test's own (default: off, a plain proxy). */
  tracing?: boolean;
  /** Where listener ports come from (default: freePort); the harness's own test gives a taken one first. */
  ports?: () => Promise<number>;
}

/** Both ways the extension runs: what holds as a plain proxy must hold with tracing on. */
export const TRACING_MODES = [false, true] as const;

/**
 * What a test file started and has not shut down yet. A test that fails (or
 * forgets) before its own clean-up would otherwise leave the sandbox's server
 * listening and its extension and runtime processes running: the file would
 * never end. Each test file is a process of its own, so this list is that
 * file's; when the file's tests are done (failed or not), whatever is still on
 * it is shut down (SIGTERM, SHUTDOWN, then SIGKILL of each process group).
 */
class LeftBehind {
  readonly #open = new Set<{ close(): Promise<unknown> }>();

  constructor() {
    // Only under the test runner (make's `node --test` runs each file with NODE_TEST_CONTEXT set):
    // scripts that use the harness (soak, benchmarks) clean up themselves, and a root
    // hook would make them print a test report.
    if (process.env.NODE_TEST_CONTEXT !== undefined) after(() => this.closeAll());
  }

  /** Keeps `resource` on the list until it is closed; returns it. */
  track<T extends { close(): Promise<unknown> }>(resource: T): T {
    this.#open.add(resource);
    return resource;
  }

  forget(resource: { close(): Promise<unknown> }): void {
    this.#open.delete(resource);
  }

  async closeAll(): Promise<void> {
    const open = [...this.#open];
    this.#open.clear();
    await Promise.all(open.map((r) => r.close().catch(() => undefined)));
  }
}

const leftBehind = new LeftBehind();

/**
 * A sandbox a test built itself: shut down when the test file ends if the test
 * did not (a failed assertion before its `finally`). Returns the sandbox.
 */
export function shutDownAtEnd(sandbox: LambdaSandbox): LambdaSandbox {
  leftBehind.track({ close: () => sandbox.shutdown() });
  return sandbox;
}

/** Attempts at a listener port before giving up (each a fresh port from the kernel). */
const PORT_ATTEMPTS = 5;

/**
 * Starts the sandbox with the built layer and the given runtime. With runtime
 * 'external' the test is the runtime and talks to `proxy` itself.
 *
 * The proxy's port must be fixed before the extension starts (the wrapper reads
 * LRAP_LISTENER_PORT too), so it is a port free a moment ago: another listener
 * of the machine may take it meanwhile, the sandbox's own Runtime API among them.
 * The extension then fails its Init with `Extension.ListenerFailed` (main.ts) or,
 * when the port is the sandbox's, with its own-port configuration error, and the
 * sandbox is started again on a fresh port.
 */
export async function startWithProxy(options: ProxiedSandboxOptions = {}): Promise<ProxiedSandbox> {
  const receiver = options.tracing === true ? await OtlpReceiver.start() : undefined;
  try {
    // A listener port the test set itself is not raced for: its failure is the test's to see.
    const raced = (err: unknown) => options.env?.LRAP_LISTENER_PORT === undefined && isPortRace(err);
    return await onFreePort((port) => startOnce(options, receiver, port), options.ports ?? freePort, raced);
  } catch (err) {
    await receiver?.close();
    throw err;
  }
}

async function startOnce(options: ProxiedSandboxOptions, receiver: OtlpReceiver | undefined, port: number): Promise<ProxiedSandbox> {
  const tracingEnv: Record<string, string> = receiver
    ? { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }
    : { OTEL_SDK_DISABLED: 'true' };
  const { tracing: _tracing, ports: _ports, ...sandboxOptions } = options;
  const sandbox = new LambdaSandbox({
    layerDir: LAYER,
    runtime: 'external',
    wrapper: WRAPPER,
    ...sandboxOptions,
    env: { LRAP_LISTENER_PORT: String(port), ...tracingEnv, ...options.env },
  });
  let closing: Promise<void> | undefined;
  const env: ProxiedSandbox = {
    sandbox, proxy: `127.0.0.1:${port}`, port, receiver,
    close: () => closing ??= (async () => {
      leftBehind.forget(env);
      await sandbox.shutdown();
      await receiver?.close();
    })(),
  };
  leftBehind.track(env);
  try {
    await sandbox.start();
    return env;
  } catch (err) {
    leftBehind.forget(env);
    await sandbox.shutdown().catch(() => undefined);
    throw err;
  }
}

/** `start` on a port from `ports`, again on a fresh one (up to PORT_ATTEMPTS) while it fails as `raced` says. */
async function onFreePort<T>(start: (port: number) => Promise<T>, ports: () => Promise<number>, raced: (err: unknown) => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await ports());
    } catch (err) {
      if (attempt === PORT_ATTEMPTS || !raced(err)) throw err;
    }
  }
}

/**
 * Whether a sandbox failed to start because the listener port, free a moment ago, was taken
 * between freePort() and the extension's listen: by another listener, or by the sandbox's own
 * Runtime API, which listens on a port the kernel picks (the extension refuses its upstream's port).
 */
function isPortRace(err: unknown): boolean {
  return err instanceof SandboxInitError
    && (err.errorType === 'Extension.ListenerFailed' || /is also the upstream Runtime API port/.test(err.message));
}

/**
 * For tests that build their sandbox themselves: `make` builds it with the given listener port
 * (LRAP_LISTENER_PORT), and it is started, again with a fresh port if that one was taken
 * meanwhile (isPortRace). The sandbox returned has started.
 */
export async function startOnFreePort(
  make: (port: number) => LambdaSandbox | Promise<LambdaSandbox>, ports: () => Promise<number> = freePort,
): Promise<{ sandbox: LambdaSandbox; port: number }> {
  const started = await startOnFreePortSettled(make, ports);
  if (started.failed !== undefined) {
    await started.sandbox.shutdown().catch(() => undefined);
    throw started.failed;
  }
  return started;
}

/**
 * As startOnFreePort, for tests whose Init may fail on purpose (fault injection): the sandbox
 * comes back with how its Init failed (undefined: it started), and is started again on a fresh
 * port only when it failed as a port race, which is never the failure a test is after.
 */
export async function startOnFreePortSettled(
  make: (port: number) => LambdaSandbox | Promise<LambdaSandbox>, ports: () => Promise<number> = freePort,
): Promise<{ sandbox: LambdaSandbox; port: number; failed: SandboxInitError | undefined }> {
  return onFreePort(async (port) => {
    const sandbox = await make(port);
    try {
      await sandbox.start();
      return { sandbox, port, failed: undefined };
    } catch (err) {
      if (err instanceof SandboxInitError && !isPortRace(err)) return { sandbox, port, failed: err };
      await sandbox.shutdown().catch(() => undefined);
      throw err;
    }
  }, ports, isPortRace);
}

export interface RawResponse {
  readonly status: number;
  readonly rawHeaders: readonly string[];
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: readonly string[];
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  /** Raw header list, sent as given. */
  readonly headers?: readonly string[];
  /** A Buffer is sent with Content-Length; an array is sent chunk by chunk (chunked). */
  readonly body?: Buffer | readonly Buffer[];
  readonly trailers?: readonly [string, string][];
  /** Called after each chunk is written, before the next one. */
  readonly betweenChunks?: (index: number) => Promise<void>;
}

const runtimeAgent = new http.Agent({ keepAlive: true });

/** One HTTP exchange with exact control of headers, framing and trailers. */
export function request(hostPort: string, req: RawRequest): Promise<RawResponse> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve, reject) => {
    // A raw header list gets no automatic Host header from node:http.
    const headers = raw(req.headers ?? [], 'host') === undefined ? ['Host', hostPort, ...(req.headers ?? [])] : [...(req.headers ?? [])];
    const body = req.body;
    if (Buffer.isBuffer(body)) headers.push('Content-Length', String(body.length));
    // Heads as large as Lambda's Runtime API sends (1 MiB + 4 KiB), all headers kept.
    const out = http.request({ host, port: Number(port), method: req.method ?? 'GET', path: req.path, headers, agent: runtimeAgent, maxHeaderSize: 2 << 20 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks), trailers: res.rawTrailers,
      }));
      res.on('error', reject);
    });
    out.maxHeadersCount = 0;
    out.on('error', reject);
    if (body === undefined || Buffer.isBuffer(body)) {
      out.end(body);
      return;
    }
    void (async () => {
      for (let i = 0; i < body.length; i++) {
        out.write(body[i]);
        await req.betweenChunks?.(i);
      }
      if (req.trailers) out.addTrailers(req.trailers as [string, string][]);
      out.end();
    })().catch(reject);
  });
}

export const RUNTIME = '/2018-06-01/runtime';

export function next(proxy: string): Promise<RawResponse> {
  return request(proxy, { path: `${RUNTIME}/invocation/next` });
}

export function respond(proxy: string, requestId: string, body: Buffer, headers: readonly string[] = []): Promise<RawResponse> {
  return request(proxy, { method: 'POST', path: `${RUNTIME}/invocation/${requestId}/response`, headers, body });
}

/** Header value from a raw list, case-insensitively. */
export function raw(headers: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lower) return headers[i + 1];
  return undefined;
}

/** Every header except framing and hop-by-hop ones, for comparing both sides of the proxy. */
export function endToEndHeaders(headers: readonly string[]): string[] {
  const skip = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!skip.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  return out;
}
