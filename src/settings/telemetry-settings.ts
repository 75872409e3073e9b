// Settings of what only the platform knows: the Telemetry API subscription and
// the metrics made from platform.report. A bad value here turns that part off
// (or keeps its default) with a warning; tracing itself goes on.

import { nonEmpty, parseOptionalBoolean } from './tracing-settings.ts';

export interface TelemetrySettings {
  /** Subscribe to the Telemetry API (LRAP_TELEMETRY_API, default true). */
  readonly telemetryApi: boolean;
  /** Export platform.report figures as OTLP metrics (OTEL_METRICS_EXPORTER, default otlp; none turns them off). */
  readonly metrics: boolean;
  /** What was wrong, and what is used instead: logged once by the caller. */
  readonly warnings: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

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
  return { telemetryApi, metrics, warnings };
}
