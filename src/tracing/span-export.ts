// Exporting spans: the OTLP exporter for the configured protocol, wrapped so
// that a failed export is reported once (with how many spans were lost) instead
// of being retried forever or piling up in memory.

import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { TracingSettings } from './settings.ts';

/** Loads only the exporter that is used: each pulls its own serializer. */
export async function createOtlpExporter(protocol: TracingSettings['protocol']): Promise<SpanExporter> {
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

/** Counts what was exported and lost, and logs each failed export once. */
export class ReportingExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #log: Logger;
  exported = 0;
  dropped = 0;

  constructor(inner: SpanExporter, log: Logger) {
    this.#inner = inner;
    this.#log = log;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code === 0) {
        this.exported += spans.length;
        this.#log.debug('spans exported', { code: 'LRAP_EXPORTED', spans: spans.length });
      } else {
        this.dropped += spans.length;
        this.#log.warn('span export failed; these spans are dropped', {
          code: 'LRAP_EXPORT_FAILED', spans: spans.length, error: result.error ? describeError(result.error) : 'unknown',
        });
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
