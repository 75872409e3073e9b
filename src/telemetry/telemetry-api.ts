// Our side of the Telemetry API: an HTTP listener Lambda delivers to, and the
// subscription. Lambda reaches the listener as `sandbox.localdomain`, the
// execution environment's own name, so it listens on every interface of the
// environment's (private) network; the port is the one the OS gave us, put in
// the subscription, so no other extension's port can collide with it. Runs
// after `register` (it is part of the tracing bundle): never on the cold
// start's path to registration.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { HostPort } from '../settings/core-config.ts';
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

/** A delivery larger than Lambda's largest batch (1 MiB) is not Lambda's: it is cut short. */
const MAX_DELIVERY_BYTES = 2 * 1024 * 1024;

export class TelemetryListener {
  readonly #server: http.Server;
  readonly #log: Logger;
  #failedOnce = false;

  constructor(onEvents: (events: PlatformEvent[]) => void, log: Logger) {
    this.#log = log;
    // Timeouts off, as on the proxy's server: no connection-checking timer, nothing
    // to trip over while the environment is frozen between deliveries.
    this.#server = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0 }, (req, res) => {
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
    });
    this.#server.timeout = 0;
  }

  /** Listens on every interface, on a port the OS picks; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '0.0.0.0', () => {
        this.#server.off('error', reject);
        this.#server.unref();
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  close(): void {
    this.#server.close();
    this.#server.closeAllConnections();
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
    destination: { protocol: 'HTTP', URI: `http://sandbox.localdomain:${port}/` },
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
