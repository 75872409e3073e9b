// The OTLP exporter, built from validated settings only. Each export is one
// request: retries, drops and their counts belong to the export queue
// (export-queue.ts).

import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { httpAgentFactoryFromOptions } from '@opentelemetry/otlp-exporter-base/node-http';
import type { OtlpExportSettings } from '../settings/otlp-export-settings.ts';
import type { SigV4Settings } from '../settings/sigv4-settings.ts';
import { createHttpTraceExporter, type HttpConfiguration } from './otlp-http-transport.ts';

/** As the stock exporter's default: requests in flight at most. */
const CONCURRENCY_LIMIT = 30;

/**
 * The stock exporter pipeline's configuration, from our settings alone. The
 * stock OTLP exporters would also read OTEL_EXPORTER_OTLP_* themselves (and
 * parse them their own way, silently): this is the same configuration without that.
 */
export function otlpHttpConfiguration(otlp: OtlpExportSettings): HttpConfiguration {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(otlp.headers)) if (name.toLowerCase() !== 'content-type') headers[name] = value;
  headers['Content-Type'] = otlp.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
  return {
    url: otlp.url,
    // A copy each time: a transport may add to the object it gets.
    headers: () => Promise.resolve({ ...headers }),
    timeoutMillis: otlp.timeoutMs,
    concurrencyLimit: CONCURRENCY_LIMIT,
    compression: otlp.compression,
    agentFactory: httpAgentFactoryFromOptions({ keepAlive: true, ...otlp.tls }),
  };
}

/**
 * Exports to X-Ray's OTLP endpoint (or with LRAP_XRAY_SIGV4=true) are
 * SigV4-signed by an exporter of ours, whose code is loaded only then.
 */
export async function createOtlpExporter(otlp: OtlpExportSettings, signing: SigV4Settings | undefined): Promise<SpanExporter> {
  const config = otlpHttpConfiguration(otlp);
  const json = otlp.protocol === 'http/json';
  if (signing) {
    const { createSigV4Exporter } = await import('./sigv4-signing.ts');
    return createSigV4Exporter(config, json, signing);
  }
  return createHttpTraceExporter(config, json);
}
