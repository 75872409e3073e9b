// Exporting metrics: OTLP to /v1/metrics with OTEL_EXPORTER_OTLP_METRICS_* over
// the general OTEL_EXPORTER_OTLP_* settings (parsed by src/settings/, never by
// the exporter), and the same transport as spans: one request per export
// (otlp-http-transport.ts). The stock exporter retries inside an export for up
// to ~10 s, so at SHUTDOWN a refused connection held the metrics flush to its
// whole budget (measured: 1.86 s of the 2 s deadline). Like spans, metrics
// leave when the lifecycle says so: a frozen environment fires no timer. The
// reader's own timer serves only periodic flushing, where the environment stays thawed.

import type { ExportResult } from '@opentelemetry/core';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AggregationTemporalityPreference, OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { createOtlpNetworkExportDelegate, ExporterMetrics } from '@opentelemetry/otlp-exporter-base';
import { JsonMetricsSerializer, MetricsExporterMetricsHelper, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { Meter } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { FlushMode } from '../settings/tracing-settings.ts';
import type { OtlpExportSettings } from '../settings/otlp-export-settings.ts';
import type { TemporalityPreference } from '../settings/telemetry-settings.ts';
import { OtlpHttpTransport } from './otlp-http-transport.ts';
import { keepSerializerShapes } from './serializer-shapes.ts';
import { otlpHttpConfiguration } from './span-export.ts';

/**
 * The OTLP metric exporter: the stock pipeline (serializer, export delegate)
 * around our one-attempt transport, as createHttpTraceExporter does for spans,
 * configured from our settings alone (temporality included, so the stock base
 * never reads OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE itself).
 */
export function createOtlpMetricExporter(otlp: OtlpExportSettings, temporality: TemporalityPreference): PushMetricExporter {
  const config = otlpHttpConfiguration(otlp);
  const metrics = new ExporterMetrics<ResourceMetrics>({
    componentType: 'otlp_http_metric_exporter',
    metricsHelper: MetricsExporterMetricsHelper,
    url: config.url,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const transport = new OtlpHttpTransport(config);
  const serializer = otlp.protocol === 'http/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  if (serializer === ProtobufMetricsSerializer) keepSerializerShapes(); // The same writer classes as spans' (serializer-shapes.ts).
  return new OTLPMetricExporterBase(createOtlpNetworkExportDelegate(config, serializer, metrics, transport), { temporalityPreference: TEMPORALITY[temporality] });
}

const TEMPORALITY: Readonly<Record<TemporalityPreference, AggregationTemporalityPreference>> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};

/** setInterval's largest delay: "never" for the reader's timer outside periodic mode. */
const NEVER_MS = 0x7fffffff;

export interface MetricExportOptions {
  readonly exporter: PushMetricExporter;
  readonly resource: Resource;
  readonly flush: FlushMode;
  readonly flushTimeoutMs: number;
  readonly log: Logger;
}

/**
 * A MeterProvider whose data leaves at flush points: with the span exports the
 * flush policy decides (span-flusher.ts), when something new was recorded; on
 * the reader's timer (mode `periodic`); and at SHUTDOWN (every mode).
 */
export class MetricExport {
  readonly #reader: PeriodicExportingMetricReader;
  readonly #provider: MeterProvider;
  readonly #exporter: CountingMetricExporter;
  readonly #flushTimeoutMs: number;
  readonly #log: Logger;
  #dirty = false;

  constructor(options: MetricExportOptions) {
    this.#flushTimeoutMs = options.flushTimeoutMs;
    this.#log = options.log;
    this.#exporter = new CountingMetricExporter(options.exporter, options.log);
    const interval = options.flush.kind === 'periodic' ? options.flush.intervalMs : NEVER_MS;
    this.#reader = new PeriodicExportingMetricReader({
      exporter: this.#exporter,
      exportIntervalMillis: interval,
      exportTimeoutMillis: Math.min(options.flushTimeoutMs, interval),
    });
    this.#provider = new MeterProvider({ resource: options.resource, readers: [this.#reader] });
  }

  meter(name: string, version: string): Meter {
    return this.#provider.getMeter(name, version);
  }

  /** Something new was recorded: the next flush point exports. */
  markDirty(): void {
    this.#dirty = true;
  }

  get exported(): number {
    return this.#exporter.exported;
  }

  /** Exports now, giving up at `deadline` (performance.now() time) or after the flush timeout. */
  async flush(deadline: number): Promise<void> {
    const budget = Math.min(deadline - performance.now(), this.#flushTimeoutMs);
    if (budget <= 0 || !this.#dirty) return;
    this.#dirty = false;
    const failuresBefore = this.#exporter.failed;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), budget); });
    const late = await Promise.race([this.#reader.forceFlush().then(() => false, () => false), timedOut]);
    clearTimeout(timer);
    if (late || this.#exporter.failed > failuresBefore) {
      // Not exported: the data stays in the SDK (cumulative) or is lost (delta); try again later.
      this.#dirty = true;
      if (late) this.#log.warn('metric export did not finish in time; going on without it', { code: 'LRAP_METRICS_FLUSH_TIMEOUT', budgetMs: Math.round(budget) });
    }
  }
}

/** Counts exports and logs a failed one once per outage (spans: export-queue.ts). */
class CountingMetricExporter implements PushMetricExporter {
  readonly #inner: PushMetricExporter;
  readonly #log: Logger;
  exported = 0;
  failed = 0;
  #failing = false;

  constructor(inner: PushMetricExporter, log: Logger) {
    this.#inner = inner;
    this.#log = log;
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
  }

  selectAggregationTemporality?: PushMetricExporter['selectAggregationTemporality'];
  selectAggregation?: PushMetricExporter['selectAggregation'];

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(metrics, (result) => {
      if (result.code === 0) {
        this.exported++;
        this.#failing = false;
        this.#log.debug('metrics exported', { code: 'LRAP_METRICS_EXPORTED' });
      } else {
        this.failed++;
        (this.#failing ? this.#log.debug : this.#log.warn)('metric export failed', {
          code: 'LRAP_METRICS_EXPORT_FAILED', error: result.error ? describeError(result.error) : 'unknown',
        });
        this.#failing = true;
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}
