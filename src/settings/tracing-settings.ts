// Tracing settings, parsed once from the standard OTEL_* variables and our
// LRAP_* ones. The OTLP exporters read their own OTEL_EXPORTER_OTLP_* variables
// (endpoint, headers, timeout, compression); only what they leave to us is here.
// A bad value here turns tracing off with a warning: the function must run on.

import { LrapError } from '../errors.ts';

// ---- flush settings: LRAP_FLUSH, LRAP_FLUSH_TIMEOUT_MS, OTEL_BSP_MAX_QUEUE_SIZE (see src/export/flush-policy.ts)

export type FlushMode =
  | { readonly kind: 'adaptive' }
  | { readonly kind: 'end' }
  | { readonly kind: 'periodic'; readonly intervalMs: number }
  | { readonly kind: 'shutdown' };

export type SamplerSetting =
  | { readonly kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { readonly kind: 'traceidratio' | 'parentbased_traceidratio'; readonly ratio: number };

export type Propagator = 'tracecontext' | 'baggage' | 'xray' | 'xray-lambda';

export interface TracingSettings {
  readonly serviceName: string | undefined;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly sampler: SamplerSetting;
  readonly propagators: ReadonlySet<Propagator>;
  readonly flush: FlushMode;
  /** Point `Parent=` of Lambda-Runtime-Trace-Id at our span when we joined that X-Ray trace. */
  readonly rewriteXrayParent: boolean;
  /** Most an invocation is held for an export (ms); the budget learned from the collector stays under it. */
  readonly flushTimeoutMs: number;
  /** Spans kept waiting for export at most; past it new spans are dropped, not queued. */
  readonly maxQueueSize: number;
}

export class TracingConfigError extends LrapError {
  constructor(message: string) {
    super('LRAP_TRACING_CONFIG_INVALID', message);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function parseTracingSettings(env: Env): TracingSettings {
  const managedInstances = env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances';
  return {
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME),
    protocol: parseProtocol(nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL)),
    sampler: parseSampler(nonEmpty(env.OTEL_TRACES_SAMPLER), nonEmpty(env.OTEL_TRACES_SAMPLER_ARG)),
    propagators: parsePropagators(nonEmpty(env.OTEL_PROPAGATORS)),
    // Managed Instances never freeze between invocations and send no INVOKE:
    // a timer is the only way to export there.
    flush: parseFlush(nonEmpty(env.LRAP_FLUSH), managedInstances),
    rewriteXrayParent: parseBoolean(env.LRAP_XRAY_PARENT_REWRITE, 'LRAP_XRAY_PARENT_REWRITE', true),
    flushTimeoutMs: parsePositiveInt(env.LRAP_FLUSH_TIMEOUT_MS, 'LRAP_FLUSH_TIMEOUT_MS', 2000),
    maxQueueSize: parsePositiveInt(env.OTEL_BSP_MAX_QUEUE_SIZE, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048),
  };
}

export function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function parseProtocol(raw: string | undefined): TracingSettings['protocol'] {
  if (raw === undefined || raw === 'http/protobuf') return 'http/protobuf';
  if (raw === 'http/json') return 'http/json';
  throw new TracingConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL ${JSON.stringify(raw)} is not supported: use http/protobuf (default) or http/json (gRPC is not available in this extension).`);
}

function parseSampler(raw: string | undefined, arg: string | undefined): SamplerSetting {
  const kind = raw ?? 'parentbased_always_on';
  switch (kind) {
    case 'always_on': case 'always_off': case 'parentbased_always_on': case 'parentbased_always_off':
      return { kind };
    case 'traceidratio': case 'parentbased_traceidratio': {
      const ratio = arg === undefined ? 1 : Number(arg);
      if (!(ratio >= 0 && ratio <= 1)) {
        throw new TracingConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 for ${kind}, got ${JSON.stringify(arg)}.`);
      }
      return { kind, ratio };
    }
    default:
      throw new TracingConfigError(`OTEL_TRACES_SAMPLER ${JSON.stringify(kind)} is not supported: use always_on, always_off, traceidratio or their parentbased_ forms.`);
  }
}

const KNOWN_PROPAGATORS: readonly Propagator[] = ['tracecontext', 'baggage', 'xray', 'xray-lambda'];

function parsePropagators(raw: string | undefined): ReadonlySet<Propagator> {
  // Our default also reads X-Ray headers: an event that carries only X-Ray
  // context (SQS AWSTraceHeader, ALB) still joins its trace.
  if (raw === undefined) return new Set<Propagator>(['tracecontext', 'baggage', 'xray']);
  const out = new Set<Propagator>();
  for (const name of raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (name === 'none') return new Set();
    const known = KNOWN_PROPAGATORS.find((p) => p === name);
    if (known) out.add(known);
    // Others (b3, jaeger, ottrace) are valid OTel names we do not read: ignored, as the SDKs ignore unknown ones.
  }
  return out;
}

function parseFlush(raw: string | undefined, managedInstances: boolean): FlushMode {
  if (raw === undefined) return managedInstances ? { kind: 'periodic', intervalMs: 1000 } : { kind: 'adaptive' };
  const value = raw.toLowerCase();
  if (value === 'adaptive') return { kind: 'adaptive' };
  if (value === 'end') return { kind: 'end' };
  if (value === 'shutdown') return { kind: 'shutdown' };
  const m = /^periodic:(\d+)$/.exec(value);
  if (m && Number(m[1]) > 0) return { kind: 'periodic', intervalMs: Number(m[1]) };
  throw new TracingConfigError(`LRAP_FLUSH ${JSON.stringify(raw)} is not valid: use adaptive (default), end, periodic:<milliseconds> or shutdown.`);
}

function parseBoolean(raw: string | undefined, name: string, fallback: boolean): boolean {
  return parseOptionalBoolean(raw, name) ?? fallback;
}

/** true/1, false/0, or undefined when unset. */
export function parseOptionalBoolean(raw: string | undefined, name: string): boolean | undefined {
  const v = nonEmpty(raw)?.toLowerCase();
  if (v === undefined) return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new TracingConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}.`);
}

function parsePositiveInt(raw: string | undefined, name: string, fallback: number): number {
  const v = nonEmpty(raw);
  if (v === undefined) return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n > 0)) throw new TracingConfigError(`${name} must be a positive whole number, got ${JSON.stringify(raw)}.`);
  return n;
}
