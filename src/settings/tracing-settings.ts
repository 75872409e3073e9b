// Tracing settings: every OTEL_* variable the extension honours and our LRAP_*
// tracing ones, parsed once (after `register`) by the OpenTelemetry rules of
// env-values.ts. A bad value never stops the function: it is skipped with one
// warning that says what was used instead (the default, or the next variable in
// line); only when spans could not be exported at all is tracing turned off.
// The OpenTelemetry libraries get these values, never the environment.

import {
  envText, NO_LIMIT_MS, parseKeyValueList, readBoolean, readEnum, readList, readWholeNumber, SettingProblems,
  type Env, type SettingProblem,
} from './env-values.ts';
import { parseFunctionEnvironment, type FunctionEnvironment } from './lambda-environment.ts';
import { parseOtlpExportSettings, type OtlpExportSettings, type ReadFile } from './otlp-export-settings.ts';
import { parseSigV4Settings, type SigV4Settings } from './sigv4-settings.ts';

export type FlushMode =
  | { readonly kind: 'adaptive' }
  | { readonly kind: 'end' }
  | { readonly kind: 'periodic'; readonly intervalMs: number }
  | { readonly kind: 'shutdown' };

export type SamplerSetting =
  | { readonly kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { readonly kind: 'traceidratio' | 'parentbased_traceidratio'; readonly ratio: number };

export type Propagator = 'tracecontext' | 'baggage' | 'xray' | 'xray-lambda';

export type ExporterSetting =
  | { readonly kind: 'otlp'; readonly otlp: OtlpExportSettings; readonly signing: SigV4Settings | undefined }
  /** No spans leave the process, so none are made: the proxy forwards only. */
  | { readonly kind: 'none'; readonly because: string };

export interface TracingSettings {
  readonly function: FunctionEnvironment;
  readonly serviceName: string | undefined;
  /** OTEL_RESOURCE_ATTRIBUTES, decoded. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly exporter: ExporterSetting;
  readonly sampler: SamplerSetting;
  readonly propagators: ReadonlySet<Propagator>;
  readonly flush: FlushMode;
  /** Point `Parent=` of Lambda-Runtime-Trace-Id at our span when we joined that X-Ray trace. */
  readonly rewriteXrayParent: boolean;
  /** Most an invocation is held for an export (ms); the budget learned from the collector stays under it. */
  readonly flushTimeoutMs: number;
  /** Spans kept waiting for export (or a retry) at most; past it new spans are dropped, counted and logged. */
  readonly maxQueueSize: number;
  /** Every bad value met, each once: to be logged by whoever has the logger. */
  readonly problems: readonly SettingProblem[];
}

export interface TracingSettingsContext {
  /** From the core settings (AWS_LAMBDA_INITIALIZATION_TYPE), which read it before `register`. */
  readonly managedInstances?: boolean;
  /** Reads the certificate files of OTEL_EXPORTER_OTLP_*CERTIFICATE / *CLIENT_KEY. */
  readonly readFile?: ReadFile;
}

export const DEFAULT_SAMPLER: SamplerSetting = { kind: 'parentbased_always_on' };
/** Our default also reads X-Ray headers: an event that carries only X-Ray context (SQS AWSTraceHeader, ALB) still joins its trace. */
export const DEFAULT_PROPAGATORS: readonly Propagator[] = ['tracecontext', 'baggage', 'xray'];
export const DEFAULT_MAX_QUEUE_SIZE = 2048;

export function parseTracingSettings(env: Env, context: TracingSettingsContext = {}): TracingSettings {
  const problems = new SettingProblems('LRAP_TRACING_CONFIG_INVALID');
  const fn = parseFunctionEnvironment(env);
  const maxQueueSize = readWholeNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE', { min: 1 }, problems, String(DEFAULT_MAX_QUEUE_SIZE)) ?? DEFAULT_MAX_QUEUE_SIZE;
  const settings: Omit<TracingSettings, 'problems'> = {
    function: fn,
    serviceName: envText(env, 'OTEL_SERVICE_NAME'),
    resourceAttributes: parseResourceAttributes(env, problems),
    exporter: parseExporter(env, fn, problems, context.readFile),
    sampler: parseSampler(env, problems),
    propagators: parsePropagators(env, problems),
    // Managed Instances never freeze between invocations and send no INVOKE:
    // a timer is the only way to export there.
    flush: parseFlush(env, context.managedInstances ?? false, problems),
    rewriteXrayParent: readBoolean(env, 'LRAP_XRAY_PARENT_REWRITE', problems, true),
    flushTimeoutMs: parseFlushTimeout(env, problems),
    maxQueueSize,
  };
  reportUnread(env, problems);
  return Object.freeze({ ...settings, problems: problems.list });
}

/**
 * OTEL_TRACES_EXPORTER: `otlp` (the default) or `none`. The spec's other
 * exporters (console, zipkin) are not in this extension: with them alone, otlp is used.
 */
function parseExporter(env: Env, fn: FunctionEnvironment, problems: SettingProblems, readFile: ReadFile | undefined): ExporterSetting {
  const names = readList(env, 'OTEL_TRACES_EXPORTER');
  if (names !== undefined) {
    const unsupported = names.filter((n) => n !== 'otlp' && n !== 'none');
    if (names.length === 1 && names[0] === 'none') return { kind: 'none', because: 'OTEL_TRACES_EXPORTER=none' };
    if (unsupported.length > 0 || names.includes('none')) {
      problems.add('OTEL_TRACES_EXPORTER', envText(env, 'OTEL_TRACES_EXPORTER') ?? '',
        `${unsupported.length > 0 ? `${unsupported.join(', ')}: not available in this extension` : 'none cannot be combined with an exporter'} (otlp or none)`, 'otlp');
    }
  }
  const otlp = parseOtlpExportSettings(env, problems, readFile);
  const signing = parseSigV4Settings(env, otlp.url, fn.region, problems);
  if (signing.sign === 'impossible') return { kind: 'none', because: 'SigV4 signing is needed but impossible' };
  return { kind: 'otlp', otlp, signing: signing.sign ? signing.settings : undefined };
}

/** `k=v,…`, percent-decoded; any bad entry discards the whole value, as the spec says. */
function parseResourceAttributes(env: Env, problems: SettingProblems): Readonly<Record<string, string>> {
  const text = envText(env, 'OTEL_RESOURCE_ATTRIBUTES');
  if (text === undefined) return {};
  const parsed = parseKeyValueList(text);
  if (!parsed.ok) {
    problems.add('OTEL_RESOURCE_ATTRIBUTES', text, `${parsed.why}; expected key=value,key2=value2 (percent-encode , and =)`, 'no attributes from it');
    return {};
  }
  return Object.fromEntries(parsed.entries);
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

function parseSampler(env: Env, problems: SettingProblems): SamplerSetting {
  const kind = readEnum(env, 'OTEL_TRACES_SAMPLER', SAMPLERS, problems, DEFAULT_SAMPLER.kind) ?? DEFAULT_SAMPLER.kind;
  switch (kind) {
    case 'traceidratio': case 'parentbased_traceidratio': {
      // The spec: a probability from 0 to 1, 1.0 when unset.
      const arg = envText(env, 'OTEL_TRACES_SAMPLER_ARG');
      const n = arg !== undefined && /^\+?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(arg) ? Number(arg) : NaN;
      const ratio = n >= 0 && n <= 1 ? n : undefined;
      if (arg !== undefined && ratio === undefined) problems.add('OTEL_TRACES_SAMPLER_ARG', arg, `must be a number from 0 to 1 for ${kind}`, '1');
      return { kind, ratio: ratio ?? 1 };
    }
    default:
      return { kind };
  }
}

const PROPAGATORS: readonly Propagator[] = ['tracecontext', 'baggage', 'xray', 'xray-lambda'];

/**
 * A case-insensitive list. Names we do not read (b3, b3multi, jaeger, ottrace)
 * are skipped with a warning; if none is left, the default applies. `none`
 * alone: no incoming context is joined. `baggage` is accepted and has no effect
 * (the event's own baggage header reaches the function unchanged).
 */
function parsePropagators(env: Env, problems: SettingProblems): ReadonlySet<Propagator> {
  const names = readList(env, 'OTEL_PROPAGATORS');
  if (names === undefined) return new Set(DEFAULT_PROPAGATORS);
  if (names.length === 1 && names[0] === 'none') return new Set();
  const known = names.flatMap((n) => PROPAGATORS.filter((p) => p === n));
  const others = names.filter((n) => !known.some((k) => k === n));
  const used = known.length > 0 ? known : [...DEFAULT_PROPAGATORS];
  if (others.length > 0) {
    problems.add('OTEL_PROPAGATORS', envText(env, 'OTEL_PROPAGATORS') ?? '',
      `${others.join(', ')}: not read by this extension (${PROPAGATORS.join(', ')} or none)`, used.join(','));
  }
  return new Set(used);
}

/**
 * Standard variables this extension does not read: set, each gets one warning
 * rather than silence. When to export is LRAP_FLUSH's decision (a frozen
 * environment fires no timer), and gRPC is not available.
 */
const NOT_READ: Readonly<Record<string, string>> = {
  OTEL_BSP_SCHEDULE_DELAY: 'not read: LRAP_FLUSH decides when spans are exported',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'not read: the export queue sends at most 512 spans per request',
  OTEL_BSP_EXPORT_TIMEOUT: 'not read: each export request is bounded by OTEL_EXPORTER_OTLP_TIMEOUT, and an invocation\'s wait by LRAP_FLUSH_TIMEOUT_MS',
  OTEL_EXPORTER_OTLP_INSECURE: 'not read: it applies to gRPC only, which this extension does not use',
  OTEL_EXPORTER_OTLP_TRACES_INSECURE: 'not read: it applies to gRPC only, which this extension does not use',
};

function reportUnread(env: Env, problems: SettingProblems): void {
  for (const [name, why] of Object.entries(NOT_READ)) {
    const text = envText(env, name);
    if (text !== undefined) problems.ignored(name, text, why);
  }
}

// ---- flush settings: LRAP_FLUSH, LRAP_FLUSH_TIMEOUT_MS, OTEL_BSP_MAX_QUEUE_SIZE (see src/export/flush-policy.ts) ----

export const DEFAULT_FLUSH_TIMEOUT_MS = 2000;

function parseFlush(env: Env, managedInstances: boolean, problems: SettingProblems): FlushMode {
  const fallback: FlushMode = managedInstances ? { kind: 'periodic', intervalMs: 1000 } : { kind: 'adaptive' };
  const raw = envText(env, 'LRAP_FLUSH');
  if (raw === undefined) return fallback;
  const text = raw.toLowerCase();
  if (text === 'adaptive') return { kind: 'adaptive' };
  if (text === 'end') return { kind: 'end' };
  if (text === 'shutdown') return { kind: 'shutdown' };
  const m = /^periodic:(\d{1,10})$/.exec(text);
  if (m && Number(m[1]) > 0 && Number(m[1]) <= NO_LIMIT_MS) return { kind: 'periodic', intervalMs: Number(m[1]) };
  problems.add('LRAP_FLUSH', raw, 'not one of adaptive, end, periodic:<milliseconds> (1 or more), shutdown', fallback.kind === 'periodic' ? 'periodic:1000' : 'adaptive');
  return fallback;
}

function parseFlushTimeout(env: Env, problems: SettingProblems): number {
  return readWholeNumber(env, 'LRAP_FLUSH_TIMEOUT_MS', { min: 1 }, problems, String(DEFAULT_FLUSH_TIMEOUT_MS)) ?? DEFAULT_FLUSH_TIMEOUT_MS;
}
