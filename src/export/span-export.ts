// Exporting spans: the OTLP exporter for the configured protocol, wrapped so
// that a failed export is reported once (with how many spans were lost) instead
// of being retried forever or piling up in memory.

import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { TracingSettings } from '../settings/tracing-settings.ts';
import { parseSigV4Settings } from '../settings/sigv4-settings.ts';

/**
 * Loads only the exporter that is used: each pulls its own serializer. Exports
 * to X-Ray's OTLP endpoint (or with LRAP_XRAY_SIGV4=true) are SigV4-signed by
 * an exporter of ours, whose code is loaded only then.
 */
export async function createOtlpExporter(
  protocol: TracingSettings['protocol'],
  env: Readonly<Record<string, string | undefined>>,
): Promise<SpanExporter> {
  const sigV4 = parseSigV4Settings(env);
  if (sigV4) {
    const { createSigV4Exporter } = await import('./sigv4-signing.ts');
    return createSigV4Exporter(protocol, sigV4);
  }
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
  /** One warning per outage, not one per export: the rest go to debug until an export succeeds. */
  #failing = false;

  constructor(inner: SpanExporter, log: Logger) {
    this.#inner = inner;
    this.#log = log;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code === 0) {
        this.exported += spans.length;
        this.#failing = false;
        this.#log.debug('spans exported', { code: 'LRAP_EXPORTED', spans: spans.length });
      } else {
        this.dropped += spans.length;
        (this.#failing ? this.#log.debug : this.#log.warn)('span export failed; these spans are dropped', {
          code: 'LRAP_EXPORT_FAILED', spans: spans.length, droppedSoFar: this.dropped, error: result.error ? describeError(result.error) : 'unknown',
        });
        this.#failing = true;
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
