// The Telemetry API's events, read from what Lambda POSTs to our listener: a
// JSON array of {time, type, record}. Only what spans and metrics use is kept;
// unknown types and malformed entries are skipped, never fatal (Lambda would
// re-send a batch we refused, forever). Field names per the schema reference
// (telemetry-schema-reference.html); every schema version (2022-07-01,
// 2022-12-13, 2025-01-29) parses here, the newer fields being optional.

import { isOutOfMemoryLine } from './out-of-memory.ts';

export type PlatformStatus = 'success' | 'error' | 'failure' | 'timeout';

export interface PhaseOutcome {
  readonly status: PlatformStatus | undefined;
  readonly errorType: string | undefined;
}

export type PlatformEvent =
  | { readonly type: 'initStart'; readonly at: number; readonly initializationType: string | undefined; readonly phase: string | undefined }
  | ({ readonly type: 'initRuntimeDone'; readonly at: number; readonly phase: string | undefined } & PhaseOutcome)
  | ({ readonly type: 'initReport'; readonly at: number; readonly phase: string | undefined; readonly durationMs: number | undefined } & PhaseOutcome)
  | { readonly type: 'restoreStart'; readonly at: number }
  | ({ readonly type: 'restoreRuntimeDone'; readonly at: number } & PhaseOutcome)
  | ({ readonly type: 'restoreReport'; readonly at: number; readonly durationMs: number | undefined } & PhaseOutcome)
  | { readonly type: 'start'; readonly at: number; readonly requestId: string; readonly traceHeader: string | undefined }
  | ({ readonly type: 'runtimeDone'; readonly at: number; readonly requestId: string } & InvocationTimings & PhaseOutcome)
  | ({ readonly type: 'report'; readonly at: number; readonly requestId: string; readonly metrics: ReportMetrics } & Partial<InvocationTimings> & PhaseOutcome)
  | { readonly type: 'logsDropped'; readonly at: number; readonly droppedRecords: number | undefined }
  /** A line of the function's log that says the runtime ran out of memory: the only lines kept (out-of-memory.ts). */
  | { readonly type: 'outOfMemoryLine'; readonly at: number; readonly requestId: string | undefined };

export interface InvocationTimings {
  readonly durationMs: number | undefined;
  readonly producedBytes: number | undefined;
  readonly responseLatencyMs: number | undefined;
  readonly responseDurationMs: number | undefined;
  readonly traceHeader: string | undefined;
}

export interface ReportMetrics {
  readonly durationMs: number | undefined;
  readonly billedDurationMs: number | undefined;
  readonly memorySizeMb: number | undefined;
  readonly maxMemoryUsedMb: number | undefined;
  readonly initDurationMs: number | undefined;
  readonly restoreDurationMs: number | undefined;
}

type Obj = Readonly<Record<string, unknown>>;

/** Every event of one delivery that we use, in delivery order. Never throws. */
export function parseTelemetryBatch(body: Buffer): PlatformEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const events: PlatformEvent[] = [];
  for (const entry of parsed) {
    const event = parseEvent(entry);
    if (event !== undefined) events.push(event);
  }
  return events;
}

function parseEvent(entry: unknown): PlatformEvent | undefined {
  const e = obj(entry);
  const type = str(e, 'type');
  // The function's log can be most of a batch (a line a record): a line is looked at before its time is parsed.
  if (type === 'function') return outOfMemoryLine(e);
  const at = timeOf(e);
  if (type === undefined || at === undefined) return undefined;
  const r = obj(e?.['record']);
  if (r === undefined) return undefined;
  switch (type) {
    case 'platform.initStart':
      return { type: 'initStart', at, initializationType: str(r, 'initializationType'), phase: str(r, 'phase') };
    case 'platform.initRuntimeDone':
      return { type: 'initRuntimeDone', at, phase: str(r, 'phase'), ...outcome(r) };
    case 'platform.initReport':
      return { type: 'initReport', at, phase: str(r, 'phase'), durationMs: num(obj(r['metrics']), 'durationMs'), ...outcome(r) };
    case 'platform.restoreStart':
      return { type: 'restoreStart', at };
    case 'platform.restoreRuntimeDone':
      return { type: 'restoreRuntimeDone', at, ...outcome(r) };
    case 'platform.restoreReport':
      return { type: 'restoreReport', at, durationMs: num(obj(r['metrics']), 'durationMs'), ...outcome(r) };
    case 'platform.logsDropped':
      return { type: 'logsDropped', at, droppedRecords: num(r, 'droppedRecords') };
  }
  const requestId = str(r, 'requestId');
  if (requestId === undefined) return undefined;
  switch (type) {
    case 'platform.start':
      return { type: 'start', at, requestId, traceHeader: traceHeader(r) };
    case 'platform.runtimeDone':
      return { type: 'runtimeDone', at, requestId, ...outcome(r), ...timings(r) };
    case 'platform.report': {
      const m = obj(r['metrics']);
      return {
        type: 'report', at, requestId, ...outcome(r), ...timings(r),
        metrics: {
          durationMs: num(m, 'durationMs'),
          billedDurationMs: num(m, 'billedDurationMs'),
          memorySizeMb: num(m, 'memorySizeMB'),
          maxMemoryUsedMb: num(m, 'maxMemoryUsedMB'),
          initDurationMs: num(m, 'initDurationMs'),
          restoreDurationMs: num(m, 'restoreDurationMs'),
        },
      };
    }
    default:
      return undefined;
  }
}

function timeOf(e: Obj | undefined): number | undefined {
  const at = Date.parse(str(e, 'time') ?? '');
  return Number.isFinite(at) ? at : undefined;
}

/**
 * A line of the function's log, if it says out of memory: text lines, or JSON log lines
 * (`AWS_LAMBDA_LOG_FORMAT=JSON`), which carry their request id. Every other line is dropped here,
 * before anything is made of it: a chatty function's log costs its parse and one look per line.
 */
function outOfMemoryLine(e: Obj | undefined): PlatformEvent | undefined {
  const record = e?.['record'];
  let requestId: string | undefined;
  let text: string;
  if (typeof record === 'string') {
    text = record;
  } else {
    const r = obj(record);
    if (r === undefined) return undefined;
    const message = r['message'];
    text = `${str(r, 'errorType') ?? ''} ${typeof message === 'string' ? message : JSON.stringify(message ?? '')}`;
    requestId = str(r, 'requestId');
  }
  if (!isOutOfMemoryLine(text)) return undefined;
  const at = timeOf(e);
  return at === undefined ? undefined : { type: 'outOfMemoryLine', at, requestId };
}

const STATUSES: readonly PlatformStatus[] = ['success', 'error', 'failure', 'timeout'];

function outcome(r: Obj): PhaseOutcome {
  const status = STATUSES.find((s) => s === r['status']);
  return { status, errorType: str(r, 'errorType') };
}

function timings(r: Obj): InvocationTimings {
  let responseLatencyMs: number | undefined;
  let responseDurationMs: number | undefined;
  const spans = r['spans'];
  if (Array.isArray(spans)) {
    for (const span of spans) {
      const s = obj(span);
      if (s?.['name'] === 'responseLatency') responseLatencyMs = num(s, 'durationMs');
      else if (s?.['name'] === 'responseDuration') responseDurationMs = num(s, 'durationMs');
    }
  }
  const m = obj(r['metrics']);
  return { durationMs: num(m, 'durationMs'), producedBytes: num(m, 'producedBytes'), responseLatencyMs, responseDurationMs, traceHeader: traceHeader(r) };
}

function traceHeader(r: Obj): string | undefined {
  const tracing = obj(r['tracing']);
  return tracing?.['type'] === 'X-Amzn-Trace-Id' ? str(tracing, 'value') : undefined;
}

function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(o: Obj | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

function num(o: Obj | undefined, key: string): number | undefined {
  const v = o?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
