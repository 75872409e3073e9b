// Settings of what only the platform knows: the Telemetry API subscription and
// the metrics made from platform.report. Read by the rules of env-values.ts; a
// bad value keeps that part's default (or turns it off) with one warning,
// LRAP_TELEMETRY_CONFIG_INVALID; tracing itself goes on.

import { readBoolean, readEnum, readList, readWholeNumber, envText, SettingProblems, type Env, type SettingProblem } from './env-values.ts';
import { parseOtlpExportSettings, type OtlpExportSettings, type ReadFile } from './otlp-export-settings.ts';

export type TemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';

export interface TelemetrySettings {
  /** Subscribe to the Telemetry API (LRAP_TELEMETRY_API, default true). */
  readonly telemetryApi: boolean;
  /** Export platform.report figures as OTLP metrics (OTEL_METRICS_EXPORTER, default otlp; none turns them off). */
  readonly metrics: boolean;
  /** Where and how metrics go: OTEL_EXPORTER_OTLP_METRICS_* over the general OTEL_EXPORTER_OTLP_* (undefined when metrics are off). */
  readonly metricsExport: OtlpExportSettings | undefined;
  /** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, default cumulative. */
  readonly temporality: TemporalityPreference;
  /**
   * How long a posted span may wait for its platform.runtimeDone (LRAP_PLATFORM_WAIT_MS, default 100;
   * 0: never). The wait holds the environment after the response: measured ~28 ms median per invocation.
   */
  readonly runtimeDoneWaitMs: number;
  /** Every bad value met, each once: logged by the caller. */
  readonly problems: readonly SettingProblem[];
}

/** Four buffering periods of our subscription (25 ms): runtimeDone came after ~21-28 ms in the sandbox. */
export const DEFAULT_PLATFORM_WAIT_MS = 100;
/** Longer would hold the environment for figures nobody waits that long for. */
const MAX_WAIT_MS = 1000;

export function parseTelemetrySettings(env: Env, readFile?: ReadFile): TelemetrySettings {
  const problems = new SettingProblems('LRAP_TELEMETRY_CONFIG_INVALID');
  const telemetryApi = readBoolean(env, 'LRAP_TELEMETRY_API', problems, true);
  // OTEL_METRICS_EXPORTER is a list in the spec; only otlp and none mean something to us.
  const exporters = readList(env, 'OTEL_METRICS_EXPORTER') ?? ['otlp'];
  const metricsWanted = exporters.includes('otlp') && !exporters.includes('none');
  const unknown = exporters.filter((e) => e !== 'otlp' && e !== 'none');
  if (unknown.length > 0) {
    problems.add('OTEL_METRICS_EXPORTER', envText(env, 'OTEL_METRICS_EXPORTER') ?? '',
      `${unknown.join(', ')}: not available in this extension (otlp or none)`, metricsWanted ? 'otlp' : 'no metrics');
  }
  const runtimeDoneWaitMs = readWholeNumber(env, 'LRAP_PLATFORM_WAIT_MS', { min: 0, max: MAX_WAIT_MS }, problems, `${DEFAULT_PLATFORM_WAIT_MS} ms`)
    ?? DEFAULT_PLATFORM_WAIT_MS;
  // The metrics come from the Telemetry API: without it there is nothing to export.
  const metrics = telemetryApi && metricsWanted;
  let metricsExport: OtlpExportSettings | undefined;
  let temporality: TemporalityPreference = 'cumulative';
  const otlpProblems = new SettingProblems('LRAP_TELEMETRY_CONFIG_INVALID');
  if (metrics) {
    metricsExport = parseOtlpExportSettings(env, otlpProblems, readFile, 'metrics');
    temporality = readEnum(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', ['cumulative', 'delta', 'lowmemory'] as const, problems, 'cumulative')
      ?? 'cumulative';
  }
  return {
    telemetryApi,
    metrics,
    metricsExport,
    temporality,
    runtimeDoneWaitMs,
    // The general OTEL_EXPORTER_OTLP_* variables were reported with the tracing settings already.
    problems: [...problems.list, ...otlpProblems.list.filter((p) => p.variable.includes('_METRICS_'))],
  };
}
