// Our side of the Telemetry API: an HTTP listener Lambda delivers to, and the
// subscription. Lambda delivers to `http://sandbox.localdomain:<port>`, the
// execution environment's own name, so the listener is on the address(es) that
// name resolves to, as AWS's own Telemetry API samples listen on
// `sandbox.localdomain` (never on every interface: nothing but Lambda has
// business there); where the name does not resolve (a local run) it listens on
// 127.0.0.1. The port is the one the OS gave us, put in the subscription, so no
// other extension's port can collide with it. Runs after `register` (it is part
// of the tracing bundle): the name's lookup is never on the cold start's path
// to registration. In the standalone layers the launcher (src/stub) has looked
// the name up and bound the sockets already, while it registered: the listener
// serves on those. Its own lookup cost Node 22 3-7 ms of CPU before the first
// /event/next, most of it compiling Node's IPv6 address pattern, which
// dns.lookup runs on every name (to tell an address from a name).

import http from 'node:http';
import { closeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { listenWithoutCluster, type ListenAddress, type ListenOptions } from '../listen-without-cluster.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { HostPort } from '../settings/core-config.ts';
import type { TelemetrySockets } from '../settings/launcher-handover.ts';
import { parseTelemetryBatch, type PlatformEvent } from './platform-events.ts';

/** 2025-01-29 is required on Managed Instances; elsewhere 2022-12-13 has every field we read. */
export function schemaVersion(managedInstances: boolean): string {
  return managedInstances ? '2025-01-29' : '2022-12-13';
}

/**
 * The shortest buffering Lambda allows (timeoutMs 25-30,000): a span's
 * runtimeDone then arrives ~25 ms after the runtime's post, and the smallest
 * item and byte limits keep what Lambda holds for us small.
 */
export const BUFFERING = { maxItems: 1000, maxBytes: 262_144, timeoutMs: 25 } as const;

/** The name Lambda delivers to (the destination URI's host). */
export const SANDBOX_HOST = 'sandbox.localdomain';

/** Resolves a host name to all its addresses, as dns.lookup with all: true (injectable for tests). */
export type ResolveAll = (hostname: string) => Promise<readonly { address: string }[]>;

/**
 * dns.lookup with all: true. node:dns/promises is loaded only by a listener that
 * looks the name up itself, not by one given the launcher's sockets (0.15-0.5 ms
 * of CPU before /event/next, measured while node:perf_hooks was still loaded too).
 */
const lookUpAll: ResolveAll = async (hostname) => (await import('node:dns/promises')).lookup(hostname, { all: true });

/**
 * How long the name's lookup may take. In Lambda it is answered from the
 * environment's own hosts file in well under a millisecond; a resolver that
 * never answers (getaddrinfo waits for resolv.conf's timeouts, several seconds
 * by default) must not hold tracing's start, and with it the extension's first
 * /event/next, past Init's limit.
 */
export const LOOKUP_BUDGET_MS = 250;

/** A delivery larger than Lambda's largest batch (1 MiB) is not Lambda's: it is cut short. */
const MAX_DELIVERY_BYTES = 2 * 1024 * 1024;

export interface TelemetryListenerOptions {
  /** The launcher's sockets, if it handed any over: served on instead of resolving and listening. */
  readonly sockets?: TelemetrySockets | undefined;
  readonly resolve?: ResolveAll;
}

export class TelemetryListener {
  readonly #servers: http.Server[] = [];
  readonly #handler: http.RequestListener;
  readonly #log: Logger;
  readonly #resolve: ResolveAll;
  readonly #sockets: TelemetrySockets | undefined;
  #failedOnce = false;

  constructor(onEvents: (events: PlatformEvent[]) => void, log: Logger, { sockets, resolve = lookUpAll }: TelemetryListenerOptions = {}) {
    this.#log = log;
    this.#resolve = resolve;
    this.#sockets = sockets;
    this.#handler = (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_DELIVERY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => {
        // Always 200: Lambda re-sends a refused batch, and one we cannot read will not read better later.
        // No Date header: formatting it loads time-zone data into memory (measured: +8.6 MB RSS).
        res.sendDate = false;
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
        try {
          onEvents(parseTelemetryBatch(Buffer.concat(chunks)));
        } catch (err) {
          (this.#failedOnce ? log.debug : log.warn)('platform telemetry could not be used', { code: 'LRAP_TELEMETRY_FAILED', error: describeError(err) });
          this.#failedOnce = true;
        }
      });
      req.on('error', () => res.destroy());
    };
  }

  /**
   * Listens on every address sandbox.localdomain resolves to (127.0.0.1 when it
   * does not), all on one port the OS picks for the first; resolves with it.
   * Serves on the launcher's sockets instead when it handed them over.
   */
  async listen(): Promise<number> {
    const handed = this.#sockets;
    const fds = handed?.take();
    if (handed !== undefined && fds !== undefined) {
      try {
        return await this.#serveOn(fds, handed.resolved);
      } catch (err) {
        this.#log.warn('cannot serve on the launcher\'s Telemetry API sockets; listening again', { code: 'LRAP_HANDOVER_FAILED', error: describeError(err) });
      }
    }
    const addresses = await this.#addresses();
    const port = ((await this.#listenOn({ port: 0, host: addresses[0]! })) as AddressInfo).port;
    for (const address of addresses.slice(1)) {
      // One port for all: the subscription names one. Lambda reaches us on the
      // first address too, so losing another (taken port) is not worth failing for.
      await this.#listenOn({ port, host: address }).catch((err: unknown) => {
        this.#log.debug('the Telemetry API listener could not listen on one of its addresses', { code: 'LRAP_TELEMETRY_LISTEN_PARTIAL', address, error: describeError(err) });
      });
    }
    return port;
  }

  /**
   * Serves on sockets already listening on one port. All or none: on any
   * trouble every one of them is closed (the port they hold is freed) and the
   * caller listens as if none had been handed over.
   */
  async #serveOn(fds: readonly number[], resolved: boolean): Promise<number> {
    const addresses: ListenAddress[] = [];
    let port: number | undefined;
    try {
      for (const fd of fds) addresses.push(await this.#listenOn({ fd }));
      const ports = addresses.map((a) => (typeof a === 'object' && a !== null ? a.port : undefined));
      if (ports[0] === undefined || ports.some((p) => p !== ports[0])) {
        const where = addresses.map((a) => (typeof a === 'object' && a !== null ? `${a.address}:${a.port}` : String(a)));
        throw new Error(`the launcher's sockets listen on ${where.join(', ')}, not on one TCP port`);
      }
      port = ports[0];
    } catch (err) {
      // Those served on close with their servers; the one that failed and the rest are still ours to close.
      this.close();
      for (const fd of fds.slice(addresses.length)) {
        try { closeSync(fd); } catch { /* already closed */ }
      }
      throw err;
    }
    if (!resolved) this.#saidLoopback();
    return port;
  }

  close(): void {
    for (const server of this.#servers.splice(0)) {
      server.close();
      server.closeAllConnections();
    }
  }

  async #addresses(): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<'timed-out'>((resolve) => { timer = setTimeout(() => resolve('timed-out'), LOOKUP_BUDGET_MS); });
    try {
      const answer = await Promise.race([this.#resolve(SANDBOX_HOST), budget]);
      if (answer === 'timed-out') {
        this.#log.warn(`${SANDBOX_HOST} did not resolve within ${LOOKUP_BUDGET_MS} ms; the Telemetry API listener is on 127.0.0.1, where Lambda may not deliver`, {
          code: 'LRAP_TELEMETRY_LOOKUP_TIMEOUT',
        });
        return ['127.0.0.1'];
      }
      const found = [...new Set(answer.map((a) => a.address))];
      if (found.length > 0) return found;
    } catch {
      // Not resolvable here (a local run, not Lambda): loopback, where a local client can still reach us.
    } finally {
      clearTimeout(timer);
    }
    this.#saidLoopback();
    return ['127.0.0.1'];
  }

  #saidLoopback(): void {
    this.#log.debug(`${SANDBOX_HOST} does not resolve here; the Telemetry API listener is on 127.0.0.1`, { code: 'LRAP_TELEMETRY_LOOPBACK' });
  }

  /** Listens; resolves with the address it listens on, as `server.address()` gives it. */
  async #listenOn(where: ListenOptions): Promise<ListenAddress> {
    // Timeouts off, as on the proxy's server: no connection-checking timer, nothing
    // to trip over while the environment is frozen between deliveries.
    const server = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0 }, this.#handler);
    server.timeout = 0;
    const address = await listenWithoutCluster(server, where);
    server.unref();
    this.#servers.push(server);
    return address;
  }
}

export type SubscriptionOutcome = 'subscribed' | 'not-supported' | 'refused';

/**
 * PUT /2022-07-01/telemetry for platform events and the function's log (only
 * scanned for out-of-memory messages, which some runtimes write nowhere else).
 * 200 = subscribed; RIE's 202 means "accepted, nothing will come".
 */
export async function subscribeTelemetry(
  api: HostPort,
  extensionId: string,
  port: number,
  managedInstances: boolean,
  log: Logger,
): Promise<SubscriptionOutcome> {
  const body = Buffer.from(JSON.stringify({
    schemaVersion: schemaVersion(managedInstances),
    types: ['platform', 'function'],
    buffering: BUFFERING,
    destination: { protocol: 'HTTP', URI: `http://${SANDBOX_HOST}:${port}/` },
  }));
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({
      host: api.host, port: api.port, method: 'PUT', path: '/2022-07-01/telemetry',
      headers: { 'Lambda-Extension-Identifier': extensionId, 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  if (status === 200) return 'subscribed';
  if (status === 202) {
    log.info('the Telemetry API is not available here (local emulator); spans go without platform facts', { code: 'LRAP_TELEMETRY_UNAVAILABLE' });
    return 'not-supported';
  }
  log.warn('the Telemetry API refused our subscription; spans go without platform facts', { code: 'LRAP_TELEMETRY_REFUSED', status, error: errorTypeOf(text) });
  return 'refused';
}

function errorTypeOf(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    const type = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['errorType'] : undefined;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
