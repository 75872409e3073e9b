// One OTLP/HTTP POST per export, no retries. The stock exporter retries inside
// one export for up to its whole timeout (10 s by default), so a refused
// connection would only be reported seconds later, and an invocation held for
// that export would pay for it. Here a failure is reported at once, marked
// retryable or not by the export specification, and the export queue decides
// when to try again (export-queue.ts), in the background.

import type http from 'node:http';
import { promisify } from 'node:util';
import {
  createOtlpNetworkExportDelegate, ExporterMetrics, OTLPExporterBase, OTLPExporterError,
  type ExportResponse, type IExporterTransport,
} from '@opentelemetry/otlp-exporter-base';
import type { createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { keepSerializerShapes } from './serializer-shapes.ts';

type GzipAsync = (body: Buffer) => Promise<Buffer>;

/** The exporter pipeline's own configuration (url, headers, timeout, compression, agent), built by span-export.ts from our settings. */
export type HttpConfiguration = Parameters<typeof createOtlpHttpExportDelegate>[0];
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Turns the headers and body about to be sent into the headers to send (SigV4 signing, say). */
export type RequestSigner = (url: URL, headers: Record<string, string>, body: Buffer) => Record<string, string>;

/** An export that may succeed if tried again later (429, 502, 503, 504, a network error, a timeout). */
export class RetryableExportError extends Error {
  override readonly name = 'RetryableExportError';
  /** From Retry-After, when the collector sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The OTLP trace exporter for `config` (from our settings: the environment is
 * never read here), with the stock pipeline (serializer, export delegate)
 * around our transport.
 */
export function createHttpTraceExporter(config: HttpConfiguration, json: boolean, sign?: RequestSigner): SpanExporter {
  const metrics = new ExporterMetrics<ReadableSpan[]>({
    componentType: 'otlp_http_span_exporter',
    metricsHelper: TraceExporterMetricsHelper,
    url: config.url,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const transport = new OtlpHttpTransport(config, sign);
  if (!json) keepSerializerShapes(); // Or every full collection discards the serializer's optimized code.
  return new OTLPExporterBase(createOtlpNetworkExportDelegate(config, json ? JsonTraceSerializer : ProtobufTraceSerializer, metrics, transport));
}

/** One POST per call: compressed as configured, signed if asked, over a keep-alive agent. */
export class OtlpHttpTransport implements IExporterTransport {
  readonly #config: HttpConfiguration;
  readonly #sign: RequestSigner | undefined;
  readonly #url: URL;
  /** Whether requests go to 127.0.0.1 for a `localhost` endpoint (see LOOPBACK); off for good once that address refuses. */
  #viaLoopback: boolean;
  #agent: Promise<http.Agent> | undefined;
  #request: Promise<typeof http.request> | undefined;
  #gzip: GzipAsync | undefined;

  constructor(config: HttpConfiguration, sign?: RequestSigner) {
    this.#config = config;
    this.#sign = sign;
    this.#url = new URL(config.url);
    this.#viaLoopback = this.#url.hostname === 'localhost';
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(await this.#config.headers())) headers[name.toLowerCase()] = value;
    let body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.#config.compression === 'gzip') {
      // node:zlib only for a collector that asks for gzip: loaded with tracing, it held 0.05-0.3
      // MiB at idle (its module and the Node binary's pages it touches; idle-breakdown.ts, same
      // runs) and cost ~0.4 ms of CPU before /event/next. With gzip, Init's warm-up export loads it.
      this.#gzip ??= promisify(process.getBuiltinModule('node:zlib').gzip);
      body = await this.#gzip(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    const sent = this.#sign ? this.#sign(this.#url, headers, body) : headers;
    return this.#post({ ...sent, 'user-agent': 'lambda-trace-proxy' }, body, timeoutMillis);
  }

  shutdown(): void {
    void this.#agent?.then((agent) => agent.destroy());
  }

  async #post(headers: Record<string, string>, body: Buffer, timeoutMillis: number): Promise<ExportResponse> {
    this.#agent ??= Promise.resolve(this.#config.agentFactory(this.#url.protocol));
    // node:https (with tls and crypto) only when used: loading it costs ~10 ms of Init.
    this.#request ??= this.#url.protocol === 'http:' ? import('node:http').then((m) => m.request) : import('node:https').then((m) => m.request);
    const [agent, request] = await Promise.all([this.#agent, this.#request]);
    const viaLoopback = this.#viaLoopback;
    // The name stays in Host (and so in TLS's server name and certificate check): only the address is given.
    const target = viaLoopback ? { hostname: LOOPBACK, headers: { host: this.#url.host, ...headers } } : { headers };
    return new Promise((resolve) => {
      const req = request(this.#url, { method: 'POST', agent, ...target }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status: 'success', data: Buffer.concat(chunks) });
          else if (RETRYABLE_STATUS.has(status)) {
            const retryAfter = retryAfterMs(res.headers['retry-after']);
            resolve({ status: 'retryable', retryInMillis: retryAfter, error: new RetryableExportError(`the collector answered ${status}`, retryAfter) });
          } else resolve({ status: 'failure', error: new OTLPExporterError(res.statusMessage, status, Buffer.concat(chunks).toString()) });
        });
        res.on('error', (error) => resolve({ status: 'retryable', error: new RetryableExportError('the response broke off', undefined, { cause: error }) }));
      });
      req.setTimeout(timeoutMillis, () => {
        req.destroy();
        resolve({ status: 'retryable', error: new RetryableExportError(`no answer within ${timeoutMillis} ms`) });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (viaLoopback && error.code === 'ECONNREFUSED') {
          // Nothing on 127.0.0.1: a collector where the name resolves to (::1, say), or none yet. Tried by
          // name at once, and by name from then on, unless the name is refused too: then there is no
          // collector yet (one in another extension that starts after us), and 127.0.0.1 stays first.
          this.#viaLoopback = false;
          resolve(this.#post(headers, body, timeoutMillis).then((result) => {
            if (refused(result)) this.#viaLoopback = true;
            return result;
          }));
          return;
        }
        // A pooled connection that died while the environment was frozen ends
        // here too (ECONNRESET, EPIPE): retryable, so its spans are sent again.
        resolve(RETRYABLE_NETWORK_ERRORS.has(error.code ?? '')
          ? { status: 'retryable', error: new RetryableExportError(`cannot reach the collector (${error.code})`, undefined, { cause: error }) }
          : { status: 'failure', error });
      });
      req.end(body);
    });
  }
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/**
 * Where a `localhost` endpoint is reached: the loopback address the name stands for (RFC 6761 §6.3),
 * and where a collector in another layer listens (the default endpoint; ADOT's collector layer).
 * By name, Node would first load node:dns (which the extension otherwise never loads), run its IPv6
 * address pattern on the name (compiled then) and look the name up on libuv's thread pool: ~4 ms of
 * CPU (a fresh Node 22.20's first POST through node:http: 22.3 ms by name, 18.4 by address, medians
 * of 15 pairs). That lands on Init's warm-up export, still running when Lambda hands out the first
 * event, and so on the first invocation.
 */
const LOOPBACK = '127.0.0.1';
// As the stock OTLP exporter: the export specification's retryable answers.
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);

function refused(result: ExportResponse): boolean {
  return result.status === 'retryable' && (result.error?.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
}

function retryAfterMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
