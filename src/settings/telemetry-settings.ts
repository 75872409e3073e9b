// Settings of what only the platform knows: the Telemetry API subscription and
// the metrics made from platform.report. A bad value here turns that part off
// (or keeps its default) with a warning; tracing itself goes on.

import { nonEmpty, parseOptionalBoolean } from './tracing-settings.ts';

export interface TelemetrySettings {
  /** Subscribe to the Telemetry API (LRAP_TELEMETRY_API, default true). */
  readonly telemetryApi: boolean;
  /** Export platform.report figures as OTLP metrics (OTEL_METRICS_EXPORTER, default otlp; none turns them off). */
  readonly metrics: boolean;
  /**
   * How long a posted span may wait for its platform.runtimeDone (LRAP_PLATFORM_WAIT_MS, default 100;
   * 0: never). The wait holds the environment after the response: measured ~28 ms median per invocation.
   */
  readonly runtimeDoneWaitMs: number;
  /** What was wrong, and what is used instead: logged once by the caller. */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** Four buffering periods of our subscription (25 ms): runtimeDone came after ~21-28 ms in the sandbox. */
const DEFAULT_WAIT_MS = 100;
/** Longer would hold the environment for figures nobody waits that long for. */
const MAX_WAIT_MS = 1000;

export function parseTelemetrySettings(env: Env): TelemetrySettings {
  const warnings: string[] = [];
  let telemetryApi = true;
  try {
    telemetryApi = parseOptionalBoolean(env.LRAP_TELEMETRY_API, 'LRAP_TELEMETRY_API') ?? true;
  } catch (err) {
    warnings.push(`${(err as Error).message} The Telemetry API is used (the default).`);
  }
  // OTEL_METRICS_EXPORTER is a list in the spec; only otlp and none mean something to us.
  const exporters = (nonEmpty(env.OTEL_METRICS_EXPORTER) ?? 'otlp').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  let metrics = exporters.includes('otlp') && !exporters.includes('none');
  const unknown = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unknown.length > 0) {
    warnings.push(`OTEL_METRICS_EXPORTER ${JSON.stringify(env.OTEL_METRICS_EXPORTER)}: only otlp and none are supported; ${metrics ? 'otlp is used' : 'metrics are off'}.`);
  }
  // The metrics come from the Telemetry API: without it there is nothing to export.
  if (!telemetryApi) metrics = false;
  let runtimeDoneWaitMs = DEFAULT_WAIT_MS;
  const rawWait = nonEmpty(env.LRAP_PLATFORM_WAIT_MS);
  if (rawWait !== undefined) {
    if (/^\d+$/.test(rawWait) && Number(rawWait) <= MAX_WAIT_MS) runtimeDoneWaitMs = Number(rawWait);
    else warnings.push(`LRAP_PLATFORM_WAIT_MS ${JSON.stringify(rawWait)} must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}; ${DEFAULT_WAIT_MS} is used.`);
  }
  return { telemetryApi, metrics, runtimeDoneWaitMs, warnings };
}
