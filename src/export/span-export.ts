// The OTLP exporter for the configured protocol. Each export is one request:
// retries, drops and their counts belong to the export queue (export-queue.ts).

import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { TracingSettings } from '../settings/tracing-settings.ts';
import { parseSigV4Settings } from '../settings/sigv4-settings.ts';
import { createHttpTraceExporter } from './otlp-http-transport.ts';

/**
 * Exports to X-Ray's OTLP endpoint (or with LRAP_XRAY_SIGV4=true) are
 * SigV4-signed by an exporter of ours, whose code is loaded only then.
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
  return createHttpTraceExporter(protocol);
}
