// A real OTLP/HTTP trace receiver for tests and the demo: it decodes what an
// exporter actually put on the wire (protobuf or JSON, gzip or not) with the
// official OTLP .proto files (test/support/otlp/, loaded by protobufjs) and an
// independent JSON reader, so it never shares code with the exporter it checks.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import protobuf from 'protobufjs';
import type { Message, Root, Type } from 'protobufjs';

const gunzipAsync = promisify(gunzip);

const TRACES_PATH = '/v1/traces';
const METRICS_PATH = '/v1/metrics';
const PROTO_FILE = new URL('./otlp/trace_service.proto', import.meta.url).pathname;
const METRICS_PROTO_FILE = new URL('./otlp/metrics_service.proto', import.meta.url).pathname;
const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';
const RESPONSE_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse';
const METRICS_REQUEST_TYPE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
const DEFAULT_WAIT_MS = 5000;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export type OtlpEncoding = 'protobuf' | 'json';

/**
 * An OTLP AnyValue. intValue is always a bigint (42 arrives as 42n), doubleValue
 * a number, bytesValue a Uint8Array, kvlistValue a plain object, an empty
 * AnyValue null.
 */
export type OtlpAnyValue =
  | string
  | number
  | boolean
  | bigint
  | Uint8Array
  | null
  | OtlpAnyValue[]
  | { [key: string]: OtlpAnyValue };

export type OtlpAttributes = Record<string, OtlpAnyValue>;

export type SpanKindName = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR';

export interface ReceivedEvent {
  name: string;
  timeUnixNano: bigint;
  attributes: OtlpAttributes;
  droppedAttributesCount: number;
}

export interface ReceivedLink {
  traceId: string;
  spanId: string;
  traceState?: string;
  /** W3C trace flags in bits 0-7; bit 8 "has is_remote", bit 9 "is_remote". */
  flags: number;
  attributes: OtlpAttributes;
  droppedAttributesCount: number;
}

/** One span as decoded from the wire; ids are lowercase hex whatever the encoding. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  /** W3C trace flags in bits 0-7; bit 8 "has is_remote", bit 9 "is_remote" (of the parent). */
  flags: number;
  name: string;
  kind: SpanKindName;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: OtlpAttributes;
  droppedAttributesCount: number;
  status: { code: StatusCodeName; message?: string };
  events: ReceivedEvent[];
  droppedEventsCount: number;
  links: ReceivedLink[];
  droppedLinksCount: number;
  resource: OtlpAttributes;
  scope: { name: string; version?: string; attributes: OtlpAttributes };
}

/** One data point of a metric: `value` for sums and gauges, `count`/`sum` for histograms. */
export interface ReceivedDataPoint {
  attributes: OtlpAttributes;
  value?: number;
  count?: number;
  sum?: number;
}

/** One metric of an ExportMetricsServiceRequest, as decoded from the wire. */
export interface ReceivedMetric {
  name: string;
  unit: string;
  kind: 'sum' | 'gauge' | 'histogram' | 'other';
  dataPoints: ReceivedDataPoint[];
  resource: OtlpAttributes;
  scope: string;
}

export type RequestOutcome =
  | { kind: 'pending' }
  | { kind: 'answered'; status: number; body: Buffer }
  /** The receiver destroyed the connection on purpose (behaviour `reset`). */
  | { kind: 'reset' }
  /** The connection closed before an answer: the client gave up, or the receiver closed. */
  | { kind: 'abandoned' };

/** Every request the receiver saw, kept raw. */
export interface ReceivedRequest {
  method: string;
  url: string;
  /** Header names lowercased, as node:http gives them. */
  headers: IncomingHttpHeaders;
  /** Names and values in wire order and case. */
  rawHeaders: string[];
  /** The client's port: equal ports on two requests mean one reused (keep-alive) connection. */
  remotePort: number;
  /** The body bytes exactly as received (still gzipped if Content-Encoding: gzip). */
  body: Buffer;
  /** The body after Content-Encoding was undone. */
  decodedBody: Buffer;
  encoding?: OtlpEncoding;
  /** The ExportTraceServiceRequest as a plain object (protobufjs toObject, or JSON.parse). */
  decoded?: unknown;
  spans: ReceivedSpan[];
  /** For /v1/metrics requests. */
  metrics: ReceivedMetric[];
  /** Why the request was refused (4xx), if it was. */
  error?: string;
  outcome: RequestOutcome;
}

/** What the receiver does with the next request(s). Every kind reads and records the body first. */
export type ReceiverBehaviour =
  /** 200 with an empty ExportTraceServiceResponse, optionally after `delayMs`. */
  | { kind: 'ok'; delayMs?: number }
  /** 200 with a partial_success in the request's encoding. */
  | { kind: 'partialSuccess'; rejectedSpans: bigint; errorMessage: string; delayMs?: number }
  /** Any status, e.g. 500, or 503/429 with `headers: { 'retry-after': '0' }`. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Never answer, until `release()` or `close()`. */
  | { kind: 'hang' }
  /** Destroy the connection instead of answering. */
  | { kind: 'reset' };

export interface WaitOptions {
  /** Safety net only; tests must not rely on it for timing. Default 5000. */
  timeoutMs?: number;
}

export interface WaitForSpansOptions extends WaitOptions {
  /** With a predicate: how many matching spans to wait for. Default 1. */
  count?: number;
}

export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
  readonly code = 'OTLP_RECEIVER_DECODE_FAILED';
}

type Fields = Record<string, unknown>;

/** Decodes ExportTraceServiceRequest bodies of either encoding into ReceivedSpans. */
export class OtlpTraceDecoder {
  readonly #requestType: Type;
  readonly #responseType: Type;
  readonly #metricsRequestType: Type;

  private constructor(root: Root) {
    this.#requestType = root.lookupType(REQUEST_TYPE);
    this.#responseType = root.lookupType(RESPONSE_TYPE);
    this.#metricsRequestType = root.lookupType(METRICS_REQUEST_TYPE);
  }

  static async load(): Promise<OtlpTraceDecoder> {
    return new OtlpTraceDecoder(await protobuf.load([PROTO_FILE, METRICS_PROTO_FILE]));
  }

  /** An ExportMetricsServiceRequest of either encoding; throws OtlpDecodeError. */
  decodeMetrics(body: Uint8Array, encoding: OtlpEncoding): { decoded: unknown; metrics: ReceivedMetric[] } {
    let decoded: unknown;
    if (encoding === 'json') decoded = parseJson(body);
    else {
      try {
        decoded = this.#metricsRequestType.toObject(this.#metricsRequestType.decode(body), { longs: BigInt, defaults: false, arrays: true });
      } catch (error) {
        throw new OtlpDecodeError(`body is not a protobuf ExportMetricsServiceRequest: ${String(error)}`);
      }
    }
    return { decoded, metrics: metricsOf(decoded) };
  }

  /** Returns the request as a plain object and its spans; throws OtlpDecodeError. */
  decode(body: Uint8Array, encoding: OtlpEncoding): { decoded: unknown; spans: ReceivedSpan[] } {
    const decoded = encoding === 'protobuf' ? this.#parseProtobuf(body) : parseJson(body);
    return { decoded, spans: spansOf(decoded) };
  }

  /** An ExportTraceServiceResponse in the given encoding, with a partial_success if asked. */
  encodeResponse(encoding: OtlpEncoding, partialSuccess?: { rejectedSpans: bigint; errorMessage: string }): Buffer {
    // int64 as a decimal string: proto3 JSON's form, and protobufjs fromObject reads it exactly.
    const response =
      partialSuccess === undefined
        ? {}
        : {
            partialSuccess: {
              rejectedSpans: partialSuccess.rejectedSpans.toString(),
              errorMessage: partialSuccess.errorMessage,
            },
          };
    if (encoding === 'json') return Buffer.from(JSON.stringify(response));
    return Buffer.from(this.#responseType.encode(this.#responseType.fromObject(response)).finish());
  }

  #parseProtobuf(body: Uint8Array): unknown {
    let message: Message;
    try {
      message = this.#requestType.decode(body);
    } catch (error) {
      throw new OtlpDecodeError(`body is not a protobuf ExportTraceServiceRequest: ${String(error)}`);
    }
    // Field names come out lowerCamelCase, as in OTLP/JSON, so one reader serves both.
    return this.#requestType.toObject(message, { longs: BigInt, defaults: false, arrays: true });
  }
}

function parseJson(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new OtlpDecodeError('JSON body is not valid UTF-8');
  }
  try {
    return JSON.parse(text, keepIntegerDigits);
  } catch (error) {
    throw new OtlpDecodeError(`body is not JSON: ${String(error)}`);
  }
}

// OTLP/JSON may carry int64 as bare numbers; JSON.parse would round those past
// 2^53, so integer literals that are not safe integers keep their exact digits.
function keepIntegerDigits(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    const source = context?.source;
    if (source !== undefined && /^-?\d+$/.test(source)) return BigInt(source);
  }
  return value;
}

function spansOf(request: unknown): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  const top = asFields(request, 'ExportTraceServiceRequest');
  arrayField(top, 'resourceSpans', '').forEach((resourceSpansValue, r) => {
    const rPath = `resourceSpans[${r}]`;
    const resourceSpans = asFields(resourceSpansValue, rPath);
    const resourceValue = resourceSpans['resource'];
    const resource =
      resourceValue === undefined ? {} : attributesField(asFields(resourceValue, `${rPath}.resource`), `${rPath}.resource`);
    arrayField(resourceSpans, 'scopeSpans', rPath).forEach((scopeSpansValue, s) => {
      const sPath = `${rPath}.scopeSpans[${s}]`;
      const scopeSpans = asFields(scopeSpansValue, sPath);
      const scope = scopeOf(scopeSpans['scope'], `${sPath}.scope`);
      arrayField(scopeSpans, 'spans', sPath).forEach((spanValue, i) => {
        spans.push(spanOf(asFields(spanValue, `${sPath}.spans[${i}]`), `${sPath}.spans[${i}]`, resource, scope));
      });
    });
  });
  return spans;
}

function metricsOf(request: unknown): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  const top = asFields(request, 'ExportMetricsServiceRequest');
  arrayField(top, 'resourceMetrics', '').forEach((rmValue, r) => {
    const rPath = `resourceMetrics[${r}]`;
    const rm = asFields(rmValue, rPath);
    const resource = rm['resource'] === undefined ? {} : attributesField(asFields(rm['resource'], `${rPath}.resource`), `${rPath}.resource`);
    arrayField(rm, 'scopeMetrics', rPath).forEach((smValue, s) => {
      const sPath = `${rPath}.scopeMetrics[${s}]`;
      const sm = asFields(smValue, sPath);
      const scope = scopeOf(sm['scope'], `${sPath}.scope`).name;
      arrayField(sm, 'metrics', sPath).forEach((mValue, i) => {
        const mPath = `${sPath}.metrics[${i}]`;
        const m = asFields(mValue, mPath);
        const kind = 'sum' in m ? 'sum' : 'gauge' in m ? 'gauge' : 'histogram' in m ? 'histogram' : 'other';
        const data = kind === 'other' ? {} : asFields(m[kind], `${mPath}.${kind}`);
        const dataPoints = arrayField(data, 'dataPoints', `${mPath}.${kind}`).map((pValue, j) => {
          const pPath = `${mPath}.${kind}.dataPoints[${j}]`;
          const p = asFields(pValue, pPath);
          const point: ReceivedDataPoint = { attributes: attributesField(p, pPath) };
          if ('asInt' in p) point.value = Number(int64Of(p['asInt'], `${pPath}.asInt`, INT64_MIN, INT64_MAX));
          if ('asDouble' in p) point.value = doubleOf(p['asDouble'], `${pPath}.asDouble`);
          if (kind === 'histogram') {
            point.count = Number(uint64Field(p, 'count', pPath));
            if ('sum' in p) point.sum = doubleOf(p['sum'], `${pPath}.sum`);
          }
          return point;
        });
        out.push({ name: stringField(m, 'name', mPath), unit: stringField(m, 'unit', mPath), kind, dataPoints, resource, scope });
      });
    });
  });
  return out;
}

function scopeOf(value: unknown, path: string): ReceivedSpan['scope'] {
  if (value === undefined) return { name: '', attributes: {} };
  const scope = asFields(value, path);
  const version = stringField(scope, 'version', path);
  return {
    name: stringField(scope, 'name', path),
    ...(version === '' ? {} : { version }),
    attributes: attributesField(scope, path),
  };
}

function spanOf(span: Fields, path: string, resource: OtlpAttributes, scope: ReceivedSpan['scope']): ReceivedSpan {
  const parentSpanId = idField(span, 'parentSpanId', path, 8, true);
  const traceState = stringField(span, 'traceState', path);
  const statusValue = span['status'];
  const status = statusValue === undefined ? undefined : asFields(statusValue, `${path}.status`);
  const statusMessage = status === undefined ? '' : stringField(status, 'message', `${path}.status`);
  return {
    traceId: idField(span, 'traceId', path, 16),
    spanId: idField(span, 'spanId', path, 8),
    ...(parentSpanId === '' ? {} : { parentSpanId }),
    ...(traceState === '' ? {} : { traceState }),
    flags: uint32Field(span, 'flags', path),
    name: stringField(span, 'name', path),
    kind: enumField(span, 'kind', path, SPAN_KINDS, 'SPAN_KIND_'),
    startTimeUnixNano: uint64Field(span, 'startTimeUnixNano', path),
    endTimeUnixNano: uint64Field(span, 'endTimeUnixNano', path),
    attributes: attributesField(span, path),
    droppedAttributesCount: uint32Field(span, 'droppedAttributesCount', path),
    status: {
      code: status === undefined ? 'UNSET' : enumField(status, 'code', `${path}.status`, STATUS_CODES, 'STATUS_CODE_'),
      ...(statusMessage === '' ? {} : { message: statusMessage }),
    },
    events: arrayField(span, 'events', path).map((value, i) => {
      const ePath = `${path}.events[${i}]`;
      const event = asFields(value, ePath);
      return {
        name: stringField(event, 'name', ePath),
        timeUnixNano: uint64Field(event, 'timeUnixNano', ePath),
        attributes: attributesField(event, ePath),
        droppedAttributesCount: uint32Field(event, 'droppedAttributesCount', ePath),
      };
    }),
    droppedEventsCount: uint32Field(span, 'droppedEventsCount', path),
    links: arrayField(span, 'links', path).map((value, i) => {
      const lPath = `${path}.links[${i}]`;
      const link = asFields(value, lPath);
      const linkTraceState = stringField(link, 'traceState', lPath);
      return {
        traceId: idField(link, 'traceId', lPath, 16),
        spanId: idField(link, 'spanId', lPath, 8),
        ...(linkTraceState === '' ? {} : { traceState: linkTraceState }),
        flags: uint32Field(link, 'flags', lPath),
        attributes: attributesField(link, lPath),
        droppedAttributesCount: uint32Field(link, 'droppedAttributesCount', lPath),
      };
    }),
    droppedLinksCount: uint32Field(span, 'droppedLinksCount', path),
    resource,
    scope,
  };
}

const SPAN_KINDS: readonly SpanKindName[] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS_CODES: readonly StatusCodeName[] = ['UNSET', 'OK', 'ERROR'];

function attributesField(fields: Fields, path: string): OtlpAttributes {
  return keyValues(arrayField(fields, 'attributes', path), `${path}.attributes`);
}

function keyValues(list: unknown[], path: string): OtlpAttributes {
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(
    list.map((value, i) => {
      const kvPath = `${path}[${i}]`;
      const kv = asFields(value, kvPath);
      const anyValue = kv['value'];
      return [stringField(kv, 'key', kvPath), anyValue === undefined ? null : anyValueOf(anyValue, `${kvPath}.value`)];
    }),
  );
}

function anyValueOf(value: unknown, path: string): OtlpAnyValue {
  const fields = asFields(value, path);
  if ('stringValue' in fields) return stringField(fields, 'stringValue', path);
  if ('boolValue' in fields) {
    const bool = fields['boolValue'];
    if (typeof bool !== 'boolean') throw new OtlpDecodeError(`${path}.boolValue: expected a boolean`);
    return bool;
  }
  if ('intValue' in fields) return int64Of(fields['intValue'], `${path}.intValue`, INT64_MIN, INT64_MAX);
  if ('doubleValue' in fields) return doubleOf(fields['doubleValue'], `${path}.doubleValue`);
  if ('bytesValue' in fields) return bytesOf(fields['bytesValue'], `${path}.bytesValue`);
  if ('arrayValue' in fields) {
    const array = asFields(fields['arrayValue'], `${path}.arrayValue`);
    return arrayField(array, 'values', `${path}.arrayValue`).map((item, i) =>
      anyValueOf(item, `${path}.arrayValue.values[${i}]`),
    );
  }
  if ('kvlistValue' in fields) {
    const kvlist = asFields(fields['kvlistValue'], `${path}.kvlistValue`);
    return keyValues(arrayField(kvlist, 'values', `${path}.kvlistValue`), `${path}.kvlistValue.values`);
  }
  return null;
}

function asFields(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new OtlpDecodeError(`${path || 'request'}: expected an object`);
  }
  return value as Fields;
}

function arrayField(fields: Fields, key: string, path: string): unknown[] {
  const value = fields[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${join(path, key)}: expected an array`);
  return value;
}

function stringField(fields: Fields, key: string, path: string): string {
  const value = fields[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new OtlpDecodeError(`${join(path, key)}: expected a string`);
  return value;
}

function uint32Field(fields: Fields, key: string, path: string): number {
  const value = fields[key];
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new OtlpDecodeError(`${join(path, key)}: expected a uint32, got ${describe(value)}`);
  }
  return value;
}

function uint64Field(fields: Fields, key: string, path: string): bigint {
  const value = fields[key];
  return value === undefined || value === null ? 0n : int64Of(value, join(path, key), 0n, UINT64_MAX);
}

// protobufjs gives bigint (longs: BigInt); OTLP/JSON gives a decimal string, or
// a number (the JS exporter writes intValue as a bare number).
function int64Of(value: unknown, path: string, min: bigint, max: bigint): bigint {
  let result: bigint | undefined;
  if (typeof value === 'bigint') result = value;
  else if (typeof value === 'number' && Number.isInteger(value)) result = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) result = BigInt(value);
  if (result === undefined) throw new OtlpDecodeError(`${path}: expected an integer, got ${describe(value)}`);
  if (result < min || result > max) throw new OtlpDecodeError(`${path}: ${result} is outside ${min}..${max}`);
  return result;
}

function doubleOf(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  // keepIntegerDigits turns a long integer literal into a bigint; here it was a double.
  if (typeof value === 'bigint') return Number(value);
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  throw new OtlpDecodeError(`${path}: expected a double, got ${describe(value)}`);
}

function bytesOf(value: unknown, path: string): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
    return new Uint8Array(Buffer.from(value, 'base64'));
  }
  throw new OtlpDecodeError(`${path}: expected base64 bytes, got ${describe(value)}`);
}

// Protobuf carries ids as bytes; OTLP/JSON as hex (not base64, unlike other
// proto3 JSON bytes), and a base64 id there is an exporter bug worth a 400.
function idField(fields: Fields, key: string, path: string, byteLength: number, optional = false): string {
  const value = fields[key];
  const fieldPath = join(path, key);
  let hex: string;
  if (value === undefined || value === null) hex = '';
  else if (value instanceof Uint8Array) hex = Buffer.from(value).toString('hex');
  else if (typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value)) hex = value.toLowerCase();
  else throw new OtlpDecodeError(`${fieldPath}: expected ${byteLength * 2} hex digits, got ${describe(value)}`);
  if (hex === '' && optional) return '';
  if (hex.length !== byteLength * 2) {
    throw new OtlpDecodeError(`${fieldPath}: expected ${byteLength} bytes, got ${hex.length / 2}`);
  }
  return hex;
}

function enumField<T extends string>(fields: Fields, key: string, path: string, names: readonly T[], prefix: string): T {
  const value = fields[key] ?? 0;
  // proto3 JSON allows an enum's name as well as its number.
  const index = typeof value === 'string' ? names.findIndex((name) => prefix + name === value) : value;
  const name = typeof index === 'number' && Number.isInteger(index) ? names[index] : undefined;
  if (name === undefined) throw new OtlpDecodeError(`${join(path, key)}: unknown value ${describe(value)}`);
  return name;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return JSON.stringify(value) ?? String(value);
}

interface QueuedBehaviour {
  behaviour: ReceiverBehaviour;
  remaining: number;
}

interface HeldRequest {
  record: ReceivedRequest;
  response: ServerResponse;
}

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1, port chosen by the OS.
 *
 *   const receiver = await OtlpReceiver.start();
 *   t.after(() => receiver.close());
 *   new OTLPTraceExporter({ url: receiver.tracesUrl });
 *   const [span] = await receiver.waitForSpans(1);
 */
export class OtlpReceiver {
  /** `http://127.0.0.1:<port>`: what OTEL_EXPORTER_OTLP_ENDPOINT takes. */
  readonly endpoint: string;
  /** `<endpoint>/v1/traces`: what the exporters' `url` option and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT take. */
  readonly tracesUrl: string;

  readonly #server: Server;
  readonly #decoder: OtlpTraceDecoder;
  readonly #sockets = new Set<Socket>();
  readonly #requests: ReceivedRequest[] = [];
  readonly #acceptedSpans: ReceivedSpan[] = [];
  readonly #acceptedMetrics: ReceivedMetric[] = [];
  readonly #queue: QueuedBehaviour[] = [];
  #standing: ReceiverBehaviour = { kind: 'ok' };
  readonly #held = new Set<HeldRequest>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<{ check: () => void; fail: (error: Error) => void }>();
  #closing: Promise<void> | undefined;

  private constructor(server: Server, decoder: OtlpTraceDecoder) {
    this.#server = server;
    this.#decoder = decoder;
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    this.tracesUrl = `${this.endpoint}${TRACES_PATH}`;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`receiver failed: ${String(error)}`);
      });
    });
  }

  /** On `port` (default: any free one), e.g. where an extension has been failing to reach a collector. */
  static async start(options: { port?: number } = {}): Promise<OtlpReceiver> {
    const decoder = await OtlpTraceDecoder.load();
    const server = createServer();
    server.listen(options.port ?? 0, '127.0.0.1');
    await once(server, 'listening');
    return new OtlpReceiver(server, decoder);
  }

  /** Every request so far, in arrival order, whatever the answer. */
  get requests(): readonly ReceivedRequest[] {
    return this.#requests;
  }

  /** Spans of requests answered 2xx: what a collector would have kept. Retried batches appear once per accepted copy. */
  get spans(): readonly ReceivedSpan[] {
    return this.#acceptedSpans;
  }

  /** Metrics of /v1/metrics requests answered 2xx, one entry per metric per request, in arrival order. */
  get metrics(): readonly ReceivedMetric[] {
    return this.#acceptedMetrics;
  }

  /** Resolves with the accepted metrics matching `predicate` once `options.count` (default 1) match. */
  waitForMetrics(predicate: (metric: ReceivedMetric) => boolean, options: WaitForSpansOptions = {}): Promise<ReceivedMetric[]> {
    return this.#waitForItems(this.#acceptedMetrics, predicate, options, 'metrics accepted');
  }

  /**
   * Sets how the receiver answers. With `times`, the behaviour applies to that
   * many next requests (queued after earlier `times` behaviours), then the
   * standing behaviour resumes; without, it becomes the standing behaviour.
   */
  respondWith(behaviour: ReceiverBehaviour, options: { times?: number } = {}): void {
    if (options.times === undefined) {
      this.#queue.length = 0;
      this.#standing = behaviour;
    } else if (options.times > 0) {
      this.#queue.push({ behaviour, remaining: options.times });
    }
  }

  /** Answers every held (`hang`) request with 200, as if it had just arrived under `ok`. */
  release(): void {
    for (const held of this.#held) {
      this.#held.delete(held);
      this.#answerOk(held.record, held.response, undefined);
    }
  }

  /** Destroys every open connection but keeps listening (a collector restart, or a dropped keep-alive). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /**
   * Resolves with all accepted spans once there are `count` of them, or with
   * the accepted spans matching `predicate` once `options.count` (default 1) match.
   */
  waitForSpans(count: number, options?: WaitOptions): Promise<ReceivedSpan[]>;
  waitForSpans(predicate: (span: ReceivedSpan) => boolean, options?: WaitForSpansOptions): Promise<ReceivedSpan[]>;
  waitForSpans(
    countOrPredicate: number | ((span: ReceivedSpan) => boolean),
    options: WaitForSpansOptions = {},
  ): Promise<ReceivedSpan[]> {
    return this.#waitForItems(this.#acceptedSpans, countOrPredicate, options, 'spans accepted');
  }

  /** Resolves with the first accepted span matching `predicate`. */
  async waitForSpan(predicate: (span: ReceivedSpan) => boolean, options?: WaitOptions): Promise<ReceivedSpan> {
    const [span] = await this.waitForSpans(predicate, { ...options, count: 1 });
    if (span === undefined) throw new Error('waitForSpans resolved without a span');
    return span;
  }

  /**
   * Resolves once `count` requests (or `options.count` requests matching
   * `predicate`) have been received and decoded; the answer may not be sent yet.
   */
  waitForRequests(count: number, options?: WaitOptions): Promise<ReceivedRequest[]>;
  waitForRequests(
    predicate: (request: ReceivedRequest) => boolean,
    options?: WaitOptions & { count?: number },
  ): Promise<ReceivedRequest[]>;
  waitForRequests(
    countOrPredicate: number | ((request: ReceivedRequest) => boolean),
    options: WaitOptions & { count?: number } = {},
  ): Promise<ReceivedRequest[]> {
    return this.#waitForItems(this.#requests, countOrPredicate, options, 'requests received');
  }

  /**
   * Stops listening, destroys every connection (held ones included), cancels
   * delayed answers and rejects pending waits. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#held.clear();
    for (const waiter of this.#waiters) waiter.fail(new Error('OtlpReceiver closed while a test was waiting'));
    const closed = once(this.#server, 'close');
    this.#server.close();
    this.dropConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const record: ReceivedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      rawHeaders: request.rawHeaders,
      remotePort: request.socket.remotePort ?? 0,
      body,
      decodedBody: body,
      spans: [],
      metrics: [],
      outcome: { kind: 'pending' },
    };
    response.once('close', () => {
      if (record.outcome.kind === 'pending') {
        record.outcome = { kind: 'abandoned' };
        this.#notify();
      }
    });

    const refusal = await this.#decodeInto(record);
    this.#requests.push(record);
    this.#notify();
    if (refusal !== undefined) {
      this.#answer(record, response, refusal.status, { 'content-type': 'text/plain' }, Buffer.from(refusal.message));
      return;
    }

    const behaviour = this.#nextBehaviour();
    switch (behaviour.kind) {
      case 'hang':
        this.#held.add({ record, response });
        return;
      case 'reset':
        record.outcome = { kind: 'reset' };
        request.socket.destroy();
        this.#notify();
        return;
      case 'ok':
      case 'partialSuccess':
        this.#after(behaviour.delayMs, () =>
          this.#answerOk(record, response, behaviour.kind === 'partialSuccess' ? behaviour : undefined),
        );
        return;
      case 'status':
        this.#after(behaviour.delayMs, () =>
          this.#answer(
            record,
            response,
            behaviour.status,
            { ...(behaviour.body === undefined ? {} : { 'content-type': 'text/plain' }), ...behaviour.headers },
            Buffer.from(behaviour.body ?? ''),
          ),
        );
        return;
    }
  }

  async #decodeInto(record: ReceivedRequest): Promise<{ status: number; message: string } | undefined> {
    const path = record.url.split('?', 1)[0];
    if (path !== TRACES_PATH && path !== METRICS_PATH) return this.#refuse(record, 404, `no route for ${path}; traces go to ${TRACES_PATH}, metrics to ${METRICS_PATH}`);
    if (record.method !== 'POST') return this.#refuse(record, 405, `${record.method} ${path}: only POST`);

    const mediaType = (record.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (mediaType === 'application/x-protobuf') record.encoding = 'protobuf';
    else if (mediaType === 'application/json') record.encoding = 'json';
    else return this.#refuse(record, 415, `unsupported Content-Type ${JSON.stringify(mediaType)}`);

    const contentEncoding = (record.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding === 'gzip') {
      try {
        record.decodedBody = await gunzipAsync(record.body);
      } catch (error) {
        return this.#refuse(record, 400, `Content-Encoding: gzip but the body does not gunzip: ${String(error)}`);
      }
    } else if (contentEncoding !== 'identity') {
      return this.#refuse(record, 415, `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}`);
    }

    try {
      if (path === METRICS_PATH) {
        const { decoded, metrics } = this.#decoder.decodeMetrics(record.decodedBody, record.encoding);
        record.decoded = decoded;
        record.metrics = metrics;
      } else {
        const { decoded, spans } = this.#decoder.decode(record.decodedBody, record.encoding);
        record.decoded = decoded;
        record.spans = spans;
      }
    } catch (error) {
      if (!(error instanceof OtlpDecodeError)) throw error;
      return this.#refuse(record, 400, error.message);
    }
    return undefined;
  }

  #refuse(record: ReceivedRequest, status: number, message: string): { status: number; message: string } {
    record.error = message;
    return { status, message };
  }

  #nextBehaviour(): ReceiverBehaviour {
    const next = this.#queue[0];
    if (next === undefined) return this.#standing;
    next.remaining -= 1;
    if (next.remaining <= 0) this.#queue.shift();
    return next.behaviour;
  }

  #after(delayMs: number | undefined, action: () => void): void {
    if (delayMs === undefined || delayMs <= 0) {
      action();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, delayMs);
    this.#timers.add(timer);
  }

  #answerOk(
    record: ReceivedRequest,
    response: ServerResponse,
    partialSuccess: { rejectedSpans: bigint; errorMessage: string } | undefined,
  ): void {
    const encoding = record.encoding ?? 'protobuf';
    const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    const body = this.#decoder.encodeResponse(encoding, partialSuccess);
    this.#answer(record, response, 200, { 'content-type': contentType }, body);
  }

  #answer(
    record: ReceivedRequest,
    response: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: Buffer,
  ): void {
    if (record.outcome.kind !== 'pending' || response.destroyed) return;
    response.writeHead(status, { ...headers, 'content-length': String(body.length) });
    response.end(body);
    record.outcome = { kind: 'answered', status, body };
    if (status >= 200 && status < 300) {
      this.#acceptedSpans.push(...record.spans);
      this.#acceptedMetrics.push(...record.metrics);
    }
    this.#notify();
  }

  #notify(): void {
    for (const waiter of this.#waiters) waiter.check();
  }

  #waitForItems<T>(
    items: readonly T[],
    countOrPredicate: number | ((item: T) => boolean),
    options: WaitOptions & { count?: number },
    noun: string,
  ): Promise<T[]> {
    const [wanted, pick] =
      typeof countOrPredicate === 'number'
        ? [countOrPredicate, () => [...items]]
        : [options.count ?? 1, () => items.filter(countOrPredicate)];
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
    return new Promise<T[]>((resolve, reject) => {
      if (this.#closing !== undefined) {
        reject(new Error('OtlpReceiver is closed'));
        return;
      }
      const waiter = {
        check: () => {
          const picked = pick();
          if (picked.length < wanted) return;
          settle();
          resolve(picked);
        },
        fail: (error: Error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        const progress = `${pick().length} of ${wanted} ${noun}`;
        waiter.fail(new Error(`OtlpReceiver: timed out after ${timeoutMs} ms: ${progress}; ${this.#summary()}`));
      }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
      waiter.check();
    });
  }

  #summary(): string {
    if (this.#requests.length === 0) return 'no request received';
    const lines = this.#requests.map((r) => {
      const outcome = r.outcome.kind === 'answered' ? String(r.outcome.status) : r.outcome.kind;
      return `${r.method} ${r.url} (${r.spans.length} spans) -> ${outcome}${r.error === undefined ? '' : `: ${r.error}`}`;
    });
    return `requests: ${lines.join('; ')}`;
  }
}
