// platform.report's figures as metrics, with the metrics SDK loaded only when
// the first report arrives: that is after the first invocation was released,
// so neither the cold start nor an environment that never reports pays for it
// (its own file, metrics.cjs: 0.8 MiB less idle RSS, telemetry-footprint.ts).

import type { Resource } from '@opentelemetry/resources';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import { loadBundleBeside } from '../load-bundle.ts';
import type { FlushMode } from '../settings/tracing-settings.ts';
import type { OtlpExportSettings } from '../settings/otlp-export-settings.ts';
import type { TemporalityPreference } from '../settings/telemetry-settings.ts';
import type { MetricExport } from '../export/metric-export.ts';
import type { InvocationReport } from './platform-telemetry.ts';

declare const LRAP_METRICS_MODULE: string;
// A file of its own in the layer (see Makefile), loaded as such; the source module when run from src/.
const METRICS_SOURCE = './metrics-bundle.ts';

export interface PlatformMetricsOptions {
  /** Where and how metrics go (OTEL_EXPORTER_OTLP_METRICS_* over OTEL_EXPORTER_OTLP_*). */
  readonly otlp: OtlpExportSettings;
  readonly temporality: TemporalityPreference;
  /** Made when first asked for (start-tracing.ts), here with the first report. */
  readonly resource: () => Resource;
  readonly flush: FlushMode;
  readonly flushTimeoutMs: number;
  readonly version: string;
  readonly log: Logger;
}

export class PlatformMetrics {
  readonly #options: PlatformMetricsOptions;
  #loading: Promise<{ exporter: MetricExport; record: (report: InvocationReport) => void } | undefined> | undefined;

  constructor(options: PlatformMetricsOptions) {
    this.#options = options;
  }

  record(report: InvocationReport): void {
    this.#loading ??= this.#load();
    void this.#loading.then((loaded) => {
      if (loaded === undefined) return;
      loaded.record(report);
      loaded.exporter.markDirty();
    });
  }

  /** With a span export, and at SHUTDOWN: exports what is new; nothing to do before the first report. */
  async flush(deadline: number): Promise<void> {
    const loaded = await this.#loading;
    await loaded?.exporter.flush(deadline);
  }

  async #load() {
    const { otlp, temporality, resource, flush, flushTimeoutMs, version, log } = this.#options;
    try {
      const { MetricExport, createOtlpMetricExporter, ReportMetrics } = (typeof LRAP_METRICS_MODULE === 'string'
        ? loadBundleBeside(module, LRAP_METRICS_MODULE)
        : await import(METRICS_SOURCE)) as typeof import('./metrics-bundle.ts');
      const exporter = new MetricExport({ exporter: createOtlpMetricExporter(otlp, temporality), resource: resource(), flush, flushTimeoutMs, log });
      const metrics = new ReportMetrics(exporter.meter('lambda-trace-proxy', version));
      return { exporter, record: (report: InvocationReport) => metrics.record(report) };
    } catch (err) {
      log.warn('metrics could not start; spans go on without them', { code: 'LRAP_METRICS_DISABLED', error: describeError(err) });
      return undefined;
    }
  }
}
