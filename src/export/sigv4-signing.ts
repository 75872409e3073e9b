// OTLP/HTTP export signed with AWS SigV4, for X-Ray's OTLP endpoint without a
// collector. Loaded (dynamic import from span-export.ts) only when
// parseSigV4Settings asks for signing.
//
// The stock exporter cannot sign: its headers factory never sees the body, and
// SigV4 signs the payload's SHA-256. So this is the stock exporter's own
// pipeline (export delegate: bounded queue, timeout, result mapping; the same
// OTEL_EXPORTER_OTLP_* configuration via convertLegacyHttpOptions; the same
// serializers) with a transport of ours that compresses, signs and posts.
//
// The signing is aws4's (checked against AWS's SigV4 test suite in
// test/layer/sigv4-signing.test.ts), not the AWS SDK's @smithy/signature-v4:
// with our esbuild settings (package "main" before "module") smithy's CommonJS
// build drags in most of @smithy/core, 150 KB of bundle whose compile cost
// 11 ms on every cold start with tracing on, signing or not; aws4 is 8 KB.

import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import {
  createOtlpNetworkExportDelegate, ExporterMetrics, OTLPExporterBase, OTLPExporterError,
  type ExportResponse, type IExporterTransport,
} from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions } from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonTraceSerializer, ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import aws4 from 'aws4';
import type { TracingSettings } from '../settings/tracing-settings.ts';
import type { AwsCredentials, SigV4Settings } from '../settings/sigv4-settings.ts';

const gzipAsync = promisify(gzip);

type HttpConfiguration = ReturnType<typeof convertLegacyHttpOptions>;

/** aws4 also reads this option, which its type declarations lack. */
interface Aws4Request extends aws4.Request {
  readonly extraHeadersToIgnore: Readonly<Record<string, boolean>>;
}

export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names. A given x-amz-date fixes the signing time (AWS's test suite does). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/**
 * The headers to send: the given ones plus host, x-amz-date, x-amz-security-token
 * (with a session token) and authorization, for `service` in `region`.
 */
export function signRequest(request: RequestToSign, region: string, service: string, credentials: AwsCredentials): Record<string, string> {
  const toSign: Aws4Request = {
    method: request.method,
    host: request.url.host,
    // As sent on the wire (percent-encoded once); aws4 encodes it again, as SigV4 wants for every service but S3.
    path: request.url.pathname + request.url.search,
    headers: { ...request.headers, host: request.url.host },
    body: request.body ?? '',
    service,
    region,
    // Content-Length stays out of the signature, as in AWS's test suite: the payload hash covers the body.
    extraHeadersToIgnore: { 'content-length': true },
  };
  const signed = aws4.sign(toSign, credentials);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return headers;
}

/** An OTLP trace exporter whose every request is signed for `settings.service`. */
export function createSigV4Exporter(protocol: TracingSettings['protocol'], settings: SigV4Settings): SpanExporter {
  const json = protocol === 'http/json';
  const config = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' });
  const metrics = new ExporterMetrics<ReadableSpan[]>({
    componentType: 'otlp_http_span_exporter',
    metricsHelper: TraceExporterMetricsHelper,
    url: config.url,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const transport = new RetryingTransport(new SignedHttpTransport(config, settings));
  const serializer = json ? JsonTraceSerializer : ProtobufTraceSerializer;
  return new OTLPExporterBase(createOtlpNetworkExportDelegate(config, serializer, metrics, transport));
}

/** One signed POST per call: compressed as configured, then signed over the bytes sent. */
class SignedHttpTransport implements IExporterTransport {
  readonly #config: HttpConfiguration;
  readonly #settings: SigV4Settings;
  readonly #url: URL;
  #agent: Promise<http.Agent> | undefined;

  constructor(config: HttpConfiguration, settings: SigV4Settings) {
    this.#config = config;
    this.#settings = settings;
    this.#url = new URL(config.url);
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(await this.#config.headers())) headers[name.toLowerCase()] = value;
    // A signature or date from a configured header would make the request unverifiable.
    for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) delete headers[name];
    let body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.#config.compression === 'gzip') {
      body = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    const { region, service, credentials } = this.#settings;
    const signed = signRequest({ method: 'POST', url: this.#url, headers, body }, region, service, credentials);
    // SigV4 never signs User-Agent, so it is added after.
    return this.#post({ ...signed, 'user-agent': 'lambda-trace-proxy' }, body, timeoutMillis);
  }

  shutdown(): void {
    void this.#agent?.then((agent) => agent.destroy());
  }

  async #post(headers: Record<string, string>, body: Buffer, timeoutMillis: number): Promise<ExportResponse> {
    this.#agent ??= Promise.resolve(this.#config.agentFactory(this.#url.protocol));
    const agent = await this.#agent;
    const request = this.#url.protocol === 'http:' ? http.request : https.request;
    return new Promise((resolve) => {
      const req = request(this.#url, { method: 'POST', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status: 'success', data: Buffer.concat(chunks) });
          else if (RETRYABLE_STATUS.has(status)) resolve({ status: 'retryable', retryInMillis: retryAfterMs(res.headers['retry-after']) });
          else resolve({ status: 'failure', error: new OTLPExporterError(res.statusMessage, status, Buffer.concat(chunks).toString()) });
        });
        res.on('error', (error) => resolve({ status: 'failure', error }));
      });
      req.setTimeout(timeoutMillis, () => {
        req.destroy();
        resolve({ status: 'retryable', error: new Error(`OTLP export timed out after ${timeoutMillis} ms`) });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        resolve(RETRYABLE_NETWORK_ERRORS.has(error.code ?? '') ? { status: 'retryable', error } : { status: 'failure', error });
      });
      req.end(body);
    });
  }
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
// As the stock OTLP exporter: the export specification's retryable answers.
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const RETRYABLE_NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH', 'EHOSTUNREACH']);

function retryAfterMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;

/**
 * Retries retryable answers, honouring Retry-After, never past the export's
 * deadline. Each attempt is signed anew (a fresh X-Amz-Date). The stock
 * exporter's RetryingTransport does the same but is not exported.
 */
class RetryingTransport implements IExporterTransport {
  readonly #inner: IExporterTransport;

  constructor(inner: IExporterTransport) {
    this.#inner = inner;
  }

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let backoff = INITIAL_BACKOFF_MS;
    let result = await this.#inner.send(data, timeoutMillis);
    for (let attempt = 1; attempt < MAX_ATTEMPTS && result.status === 'retryable'; attempt++) {
      const wait = result.retryInMillis ?? backoff * (0.8 + Math.random() * 0.4);
      backoff = Math.min(backoff * 1.5, MAX_BACKOFF_MS);
      const remaining = deadline - Date.now();
      if (wait >= remaining) break;
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      result = await this.#inner.send(data, deadline - Date.now());
    }
    return result;
  }

  shutdown(): void {
    this.#inner.shutdown();
  }
}
