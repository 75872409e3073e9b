import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import http from 'node:http';
import { now } from './clock.ts';
import type { EventLog } from './event-log.ts';
import { errorReply, jsonReply } from './replies.ts';
import type { Reply } from './replies.ts';

/**
 * The Telemetry API (`PUT /2022-07-01/telemetry`): subscription validation,
 * buffering and batched delivery over HTTP, and the platform events of the
 * lifecycle in the shape of the schema version each subscriber asked for.
 * Rules: telemetry-api.html, telemetry-api-reference.html and
 * telemetry-schema-reference.html of the Lambda developer guide (README.md here).
 */

export const SCHEMA_VERSIONS = ['2022-07-01', '2022-12-13', '2025-01-29'] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];
export type TelemetryType = 'platform' | 'function' | 'extension';

export interface Buffering {
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export interface Subscription {
  readonly schemaVersion: SchemaVersion;
  readonly types: ReadonlySet<TelemetryType>;
  readonly buffering: Buffering;
  readonly uri: URL;
}

/** Limits and defaults of `buffering` (telemetry-api-reference.html, "Subscribe"). */
export const BUFFERING_LIMITS = {
  maxItems: { min: 1_000, max: 10_000, default: 10_000 },
  maxBytes: { min: 262_144, max: 1_048_576, default: 262_144 },
  timeoutMs: { min: 25, max: 30_000, default: 1_000 },
} as const;

/** Port 9001 is the Runtime API's own (telemetry-api.html, "Specifying a destination protocol"). */
const RESERVED_PORT = 9001;
/** Host names that reach the execution environment itself. */
const SANDBOX_HOSTS = new Set(['sandbox.localdomain', 'sandbox']);

/**
 * Checks a subscription body. Lambda answers 400 `ValidationError` with every
 * problem joined by "; " (the guide's example: "URI port is not provided; types
 * should not be empty"); the exact wording of other messages is ours.
 */
export function parseSubscription(body: Buffer, managedInstances: boolean): Subscription | string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return ['request body is not valid JSON'];
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return ['request body must be a JSON object'];
  const doc = parsed as Record<string, unknown>;
  const problems: string[] = [];

  const schemaVersion = SCHEMA_VERSIONS.find((v) => v === doc['schemaVersion']);
  if (schemaVersion === undefined) {
    problems.push(`schemaVersion must be one of ${SCHEMA_VERSIONS.join(', ')}`);
  } else if (managedInstances && schemaVersion !== '2025-01-29') {
    // "Lambda Managed Instances require 2025-01-29" (telemetry-api-reference.html).
    problems.push('schemaVersion must be 2025-01-29 on Lambda Managed Instances');
  }

  const types = new Set<TelemetryType>();
  const rawTypes = doc['types'];
  if (!Array.isArray(rawTypes) || rawTypes.length === 0) problems.push('types should not be empty');
  else {
    for (const t of rawTypes) {
      if (t === 'platform' || t === 'function' || t === 'extension') types.add(t);
      else problems.push(`types: ${JSON.stringify(t)} is not one of platform, function, extension`);
    }
  }

  const buffering = parseBuffering(doc['buffering'], problems);

  let uri: URL | undefined;
  const destination = doc['destination'];
  if (typeof destination !== 'object' || destination === null) problems.push('destination is required');
  else {
    const { protocol, URI } = destination as Record<string, unknown>;
    if (protocol === 'TCP') problems.push('destination.protocol TCP is not modelled by the sandbox (use HTTP)');
    else if (protocol !== 'HTTP') problems.push('destination.protocol must be HTTP or TCP');
    if (typeof URI !== 'string') problems.push('destination.URI is required');
    else {
      try {
        uri = new URL(URI);
      } catch {
        problems.push(`destination.URI ${JSON.stringify(URI)} is not a URI`);
      }
      if (uri !== undefined) {
        if (uri.protocol !== 'http:') problems.push('destination.URI must use http (no HTTPS)');
        if (uri.port === '') problems.push('URI port is not provided');
        else if (Number(uri.port) === RESERVED_PORT) problems.push('URI port 9001 is reserved');
        if (!SANDBOX_HOSTS.has(uri.hostname)) problems.push('destination.URI host must be sandbox.localdomain');
      }
    }
  }
  if (problems.length > 0 || schemaVersion === undefined || uri === undefined || buffering === undefined) return problems;
  return { schemaVersion, types, buffering, uri };
}

function parseBuffering(raw: unknown, problems: string[]): Buffering | undefined {
  if (raw === undefined) {
    return {
      maxItems: BUFFERING_LIMITS.maxItems.default,
      maxBytes: BUFFERING_LIMITS.maxBytes.default,
      timeoutMs: BUFFERING_LIMITS.timeoutMs.default,
    };
  }
  if (typeof raw !== 'object' || raw === null) {
    problems.push('buffering must be an object');
    return undefined;
  }
  const doc = raw as Record<string, unknown>;
  const out: Record<keyof Buffering, number> = { maxItems: 0, maxBytes: 0, timeoutMs: 0 };
  let ok = true;
  for (const key of ['maxItems', 'maxBytes', 'timeoutMs'] as const) {
    const limits = BUFFERING_LIMITS[key];
    const value = doc[key] ?? limits.default;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < limits.min || value > limits.max) {
      problems.push(`buffering.${key} must be an integer from ${limits.min} to ${limits.max}`);
      ok = false;
    } else {
      out[key] = value;
    }
  }
  return ok ? out : undefined;
}

/** `{"errorType":"ValidationError", "errorMessage": problems joined}` with 400. */
export function subscriptionReply(result: Subscription | string[]): Reply {
  if (Array.isArray(result)) return errorReply(400, 'ValidationError', result.join('; '));
  // "HTTP/1.1 200 OK" with the JSON string "OK" (telemetry-api-reference.html).
  return jsonReply(200, 'OK');
}

// ── Events ────────────────────────────────────────────────────────────────

export interface TelemetryEvent {
  readonly time: string;
  readonly type: string;
  readonly record: unknown;
}

export type Status = 'success' | 'error' | 'failure' | 'timeout';

export interface TraceContext {
  readonly spanId: string;
  readonly value: string;
}

/** What the execution environment reports; each subscriber gets it in its schema's shape. */
export type PlatformFact =
  | { readonly kind: 'initStart'; readonly initializationType: string; readonly phase: 'init' | 'invoke' }
  | { readonly kind: 'initRuntimeDone'; readonly initializationType: string; readonly phase: 'init' | 'invoke'; readonly status: Status; readonly errorType?: string }
  | { readonly kind: 'initReport'; readonly initializationType: string; readonly phase: 'init' | 'invoke'; readonly status: Status; readonly errorType?: string; readonly durationMs: number }
  | { readonly kind: 'start'; readonly requestId: string; readonly version: string; readonly tracing: TraceContext }
  | {
      readonly kind: 'runtimeDone';
      readonly requestId: string;
      readonly status: Status;
      readonly errorType?: string;
      readonly durationMs: number;
      readonly producedBytes: number;
      readonly tracing: TraceContext;
      readonly responseStart: number;
      readonly responseLatencyMs: number;
      readonly responseDurationMs: number;
    }
  | {
      readonly kind: 'report';
      readonly requestId: string;
      readonly status: Status;
      readonly errorType?: string;
      readonly durationMs: number;
      readonly billedDurationMs: number;
      readonly memorySizeMB: number;
      readonly maxMemoryUsedMB: number;
      readonly initDurationMs?: number;
      readonly tracing: TraceContext;
      readonly responseStart: number;
      readonly responseLatencyMs: number;
      readonly responseDurationMs: number;
    }
  | { readonly kind: 'extension'; readonly name: string; readonly events: readonly string[] }
  | { readonly kind: 'telemetrySubscription'; readonly name: string; readonly types: readonly string[] };

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * The record of `fact` as a subscriber of `schema` receives it; undefined when
 * that schema (or Managed Instances) has no such event.
 * - 2022-07-01: no `tracing` on start/runtimeDone/report, no runtimeDone `spans`.
 * - 2022-12-13: adds them (telemetry-schema-reference.html).
 * - 2025-01-29 on Managed Instances: no `platform.runtimeDone`; `platform.report`
 *   carries status, `metrics.durationMs` and the response spans only (as observed
 *   by DataDog's extension, bottlecap `handle_managed_instance_report`).
 */
export function shapeFact(fact: PlatformFact, schema: SchemaVersion, managedInstances: boolean): TelemetryEvent['record'] | undefined {
  const traced = schema !== '2022-07-01';
  const tracing = (t: TraceContext) => (traced ? { tracing: { spanId: t.spanId, type: 'X-Amzn-Trace-Id', value: t.value } } : {});
  const spans = (f: { responseStart: number; responseLatencyMs: number; responseDurationMs: number }) => [
    { name: 'responseLatency', start: new Date(f.responseStart - f.responseLatencyMs).toISOString(), durationMs: round3(f.responseLatencyMs) },
    { name: 'responseDuration', start: new Date(f.responseStart).toISOString(), durationMs: round3(f.responseDurationMs) },
  ];
  const error = (errorType: string | undefined) => (errorType === undefined ? {} : { errorType });
  switch (fact.kind) {
    case 'initStart':
      return { initializationType: fact.initializationType, phase: fact.phase, runtimeVersion: 'sandbox', runtimeVersionArn: 'arn:aws:lambda:sandbox::runtime:sandbox' };
    case 'initRuntimeDone':
      return { initializationType: fact.initializationType, phase: fact.phase, status: fact.status, ...error(fact.errorType) };
    case 'initReport':
      return {
        initializationType: fact.initializationType,
        phase: fact.phase,
        ...(traced ? { status: fact.status, ...error(fact.errorType) } : {}),
        metrics: { durationMs: round3(fact.durationMs) },
      };
    case 'start':
      return { requestId: fact.requestId, version: fact.version, ...tracing(fact.tracing) };
    case 'runtimeDone':
      if (managedInstances) return undefined;
      return {
        requestId: fact.requestId,
        status: fact.status,
        ...error(fact.errorType),
        metrics: { durationMs: round3(fact.durationMs), producedBytes: fact.producedBytes },
        ...tracing(fact.tracing),
        ...(traced ? { spans: spans(fact) } : {}),
      };
    case 'report':
      if (managedInstances) {
        return { requestId: fact.requestId, status: fact.status, ...error(fact.errorType), metrics: { durationMs: round3(fact.durationMs) }, spans: spans(fact) };
      }
      return {
        requestId: fact.requestId,
        status: fact.status,
        ...error(fact.errorType),
        metrics: {
          durationMs: round3(fact.durationMs),
          billedDurationMs: fact.billedDurationMs,
          memorySizeMB: fact.memorySizeMB,
          maxMemoryUsedMB: fact.maxMemoryUsedMB,
          ...(fact.initDurationMs === undefined ? {} : { initDurationMs: round3(fact.initDurationMs) }),
        },
        ...tracing(fact.tracing),
      };
    case 'extension':
      return { name: fact.name, state: 'Ready', events: fact.events };
    case 'telemetrySubscription':
      return { name: fact.name, state: 'Subscribed', types: fact.types };
  }
}

// ── Delivery ──────────────────────────────────────────────────────────────

/**
 * The sandbox plays the environment's resolver: `sandbox.localdomain` (and
 * `sandbox`) is the environment itself, i.e. loopback here. Tests need no
 * /etc/hosts entry, and nothing else is resolved differently.
 */
export const sandboxLookup: LookupFunction = (hostname, options, callback) => {
  if (SANDBOX_HOSTS.has(hostname)) {
    if (options.all === true) (callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options, callback);
};

/** Lambda keeps undelivered events up to the buffer limits, then drops and says so (platform.logsDropped). */
const MAX_PENDING_ITEMS = 10_000;

/**
 * One subscriber's stream: events are buffered and POSTed as a JSON array when
 * `maxItems` or `maxBytes` is reached or `timeoutMs` after the first buffered
 * event. One delivery at a time, in order; a failed delivery is retried with
 * the next batch (Lambda re-sends what was not acknowledged).
 */
export class TelemetryStream {
  readonly extension: string;
  readonly subscription: Subscription;
  readonly #log: EventLog;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  #buffer: { event: TelemetryEvent; bytes: number }[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | null = null;
  #delivering = false;
  #closed = false;
  #dropped = { records: 0, bytes: 0 };

  constructor(extension: string, subscription: Subscription, log: EventLog) {
    this.extension = extension;
    this.subscription = subscription;
    this.#log = log;
  }

  push(event: TelemetryEvent): void {
    if (this.#closed) return;
    const bytes = Buffer.byteLength(JSON.stringify(event));
    if (this.#buffer.length >= MAX_PENDING_ITEMS) {
      this.#dropped.records++;
      this.#dropped.bytes += bytes;
      return;
    }
    this.#buffer.push({ event, bytes });
    this.#bytes += bytes;
    const { maxItems, maxBytes, timeoutMs } = this.subscription.buffering;
    if (this.#buffer.length >= maxItems || this.#bytes >= maxBytes) this.#deliver();
    else this.#timer ??= setTimeout(() => this.#deliver(), timeoutMs);
  }

  /** Delivers what is buffered now (the environment is about to be torn down). */
  flush(): void {
    this.#deliver();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#agent.destroy();
  }

  #deliver(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#delivering || this.#closed || this.#buffer.length === 0) return;
    if (this.#dropped.records > 0) {
      const dropped = this.#dropped;
      this.#dropped = { records: 0, bytes: 0 };
      const event: TelemetryEvent = {
        time: new Date(now()).toISOString(),
        type: 'platform.logsDropped',
        record: { reason: 'Consumer seems to have fallen behind as it has not acknowledged receipt of logs.', droppedRecords: dropped.records, droppedBytes: dropped.bytes },
      };
      this.#buffer.unshift({ event, bytes: Buffer.byteLength(JSON.stringify(event)) });
    }
    const { maxItems, maxBytes } = this.subscription.buffering;
    const batch: TelemetryEvent[] = [];
    let bytes = 0;
    while (batch.length < maxItems && this.#buffer.length > 0) {
      const next = this.#buffer[0]!;
      if (batch.length > 0 && bytes + next.bytes > maxBytes) break;
      this.#buffer.shift();
      batch.push(next.event);
      bytes += next.bytes;
    }
    this.#bytes -= bytes;
    this.#delivering = true;
    void this.#post(batch).then((ok) => {
      this.#delivering = false;
      this.#log.record('telemetry-delivered', { extension: this.extension, events: batch.length, ok, types: batch.map((e) => e.type) });
      if (!ok && !this.#closed) {
        // Not acknowledged: those events go out again, first, with the next delivery.
        this.#buffer.unshift(...batch.map((event) => ({ event, bytes: Buffer.byteLength(JSON.stringify(event)) })));
        this.#bytes += bytes;
        this.#timer ??= setTimeout(() => this.#deliver(), this.subscription.buffering.timeoutMs);
        return;
      }
      if (this.#buffer.length > 0) this.#timer ??= setTimeout(() => this.#deliver(), this.subscription.buffering.timeoutMs);
    });
  }

  #post(batch: readonly TelemetryEvent[]): Promise<boolean> {
    const body = Buffer.from(JSON.stringify(batch));
    const uri = this.subscription.uri;
    return new Promise((resolve) => {
      const req = http.request({
        host: uri.hostname,
        port: Number(uri.port),
        path: `${uri.pathname}${uri.search}`,
        method: 'POST',
        agent: this.#agent,
        lookup: sandboxLookup,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.end(body);
    });
  }
}

const INIT_KINDS: ReadonlySet<PlatformFact['kind']> = new Set(['initStart', 'initRuntimeDone', 'initReport', 'extension']);

/**
 * Every subscription of the current environment. The environment reports
 * facts; each stream gets them shaped by its schema version, filtered by its types.
 */
export class TelemetryHub {
  readonly #log: EventLog;
  readonly #managedInstances: boolean;
  #streams = new Map<string, TelemetryStream>();
  /** This Init's platform events, replayed to whoever subscribes later in this environment (our modelling). */
  #initEvents: { fact: PlatformFact; time: string }[] = [];

  constructor(log: EventLog, managedInstances: boolean) {
    this.#log = log;
    this.#managedInstances = managedInstances;
  }

  subscribe(extension: string, subscription: Subscription): void {
    this.#streams.get(extension)?.close();
    const stream = new TelemetryStream(extension, subscription, this.#log);
    this.#streams.set(extension, stream);
    this.#log.record('telemetry-subscribed', {
      extension, schemaVersion: subscription.schemaVersion, types: [...subscription.types], timeoutMs: subscription.buffering.timeoutMs,
    });
    for (const { fact, time } of this.#initEvents) this.#deliverTo(stream, fact, time);
    this.#deliverTo(stream, { kind: 'telemetrySubscription', name: extension, types: [...subscription.types] }, new Date(now()).toISOString());
  }

  /** A platform event, at `at` (epoch ms, default now). */
  report(fact: PlatformFact, at: number = now()): void {
    const time = new Date(at).toISOString();
    if (INIT_KINDS.has(fact.kind)) this.#initEvents.push({ fact, time });
    for (const stream of this.#streams.values()) this.#deliverTo(stream, fact, time);
  }

  /** A line the runtime wrote (stdout/stderr), as a `function` event. */
  functionLog(line: string, at: number = now()): void {
    const event: TelemetryEvent = { time: new Date(at).toISOString(), type: 'function', record: line };
    for (const stream of this.#streams.values()) if (stream.subscription.types.has('function')) stream.push(event);
  }

  /** Delivers what is buffered now, without waiting for the buffering timeout. */
  flush(): void {
    for (const stream of this.#streams.values()) stream.flush();
  }

  /** A new Init starts a new set of subscriptions (extensions subscribe again). */
  reset(): void {
    for (const stream of this.#streams.values()) stream.close();
    this.#streams.clear();
    this.#initEvents = [];
  }

  #deliverTo(stream: TelemetryStream, fact: PlatformFact, time: string): void {
    if (!stream.subscription.types.has('platform')) return;
    const record = shapeFact(fact, stream.subscription.schemaVersion, this.#managedInstances);
    if (record === undefined) return;
    stream.push({ time, type: `platform.${fact.kind}`, record });
  }
}
