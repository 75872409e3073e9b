// An InvocationTracker wired to an in-memory exporter, as unit tests build it:
// one function identity, default settings, spans exported as they end.

import { performance } from 'node:perf_hooks';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InvocationTracker } from '../../src/tracing/invocation-tracker.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';
import { createLogger } from '../../src/log.ts';
import type { PlatformTelemetry } from '../../src/telemetry/platform-telemetry.ts';

export function trackerUnderTest(options: { platform?: PlatformTelemetry; onRuntimeStarted?: () => void } = {}) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracker = new InvocationTracker({
    tracer: () => provider.getTracer('test'),
    settings: parseTracingSettings({}),
    identity: { functionName: 'fn', functionVersion: '3', region: 'us-east-1', accountId: '123456789012', memoryMb: 128 },
    log: createLogger('none'),
    processStartedAt: performance.timeOrigin,
    ...(options.onRuntimeStarted === undefined ? {} : { onRuntimeStarted: options.onRuntimeStarted }),
    ...(options.platform === undefined ? {} : { platform: options.platform }),
  });
  return { tracker, exporter };
}
