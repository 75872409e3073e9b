// Tracing, assembled. Loaded by main.ts only after the extension has registered
// (dynamic import), so its cost is paid while Lambda starts the runtime rather
// than before: nothing here is on the path to `register`.

import { performance } from 'node:perf_hooks';
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
  TracerProvider, type Sampler,
} from '@opentelemetry/sdk-trace';
import type { CoreConfig } from '../settings/core-config.ts';
import type { Registration } from '../lifecycle/extensions-api.ts';
import type { LifecycleHooks } from '../lifecycle/lifecycle.ts';
import type { Logger } from '../log.ts';
import type { InvocationObserver } from '../proxy/invocation-observer.ts';
import { parseTracingSettings, TracingConfigError, type SamplerSetting } from '../settings/tracing-settings.ts';
import { buildResource, functionIdentity, instanceFilePath, readInstanceFile } from './resource.ts';
import { createOtlpExporter, ReportingExporter } from '../export/span-export.ts';
import { SpanFlusher } from '../export/span-flusher.ts';
import { InvocationTracker } from './invocation-tracker.ts';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';

declare const LRAP_VERSION: string;

export interface StartTracingInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config: CoreConfig;
  readonly registration: Registration;
  readonly log: Logger;
}

export interface Tracing {
  readonly observer: InvocationObserver;
  readonly hooks: LifecycleHooks;
}

/** Lambda ends the invocation at its deadline; stop waiting for it a little before. */
const INVOKE_DEADLINE_MARGIN_MS = 20;

export async function startTracing({ env, config, registration, log }: StartTracingInput): Promise<Tracing | undefined> {
  let settings;
  let otlpExporter;
  try {
    settings = parseTracingSettings(env);
    otlpExporter = await createOtlpExporter(settings.protocol, env);
  } catch (err) {
    if (!(err instanceof TracingConfigError)) throw err;
    log.warn(`${err.message} Tracing is off; the proxy forwards only.`, { code: err.code });
    return undefined;
  }

  const identity = functionIdentity(env, registration);
  let settleInstance: (value: string | undefined) => void = () => {};
  const instance = new Promise<string | undefined>((resolve) => { settleInstance = resolve; });
  const instanceFile = instanceFilePath(config.listenerPort);

  const exporter = new ReportingExporter(otlpExporter, log);
  const processor = new BatchSpanProcessor({
    exporter,
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: 512,
    // Exports are driven by the lifecycle (see span-flusher.ts); the timer only
    // serves periodic mode, where the environment may stay thawed.
    scheduledDelayMillis: settings.flush.kind === 'periodic' ? settings.flush.intervalMs : 0x7fffffff,
    exportTimeoutMillis: settings.flushTimeoutMs,
  });
  const provider = new TracerProvider({
    resource: buildResource(identity, settings.serviceName, instance),
    sampler: buildSampler(settings.sampler),
    spanProcessors: [processor],
    // X-Ray accepts only trace ids that start with the epoch seconds; such ids
    // are valid W3C ids too, so every backend takes them.
    idGenerator: new AWSXRayIdGenerator(),
  });
  const tracer = provider.getTracer('lambda-trace-proxy', typeof LRAP_VERSION === 'string' ? LRAP_VERSION : 'dev');
  const flusher = new SpanFlusher(processor, settings.flush, settings.flushTimeoutMs, log);
  const tracker = new InvocationTracker({
    tracer,
    settings,
    identity,
    log,
    processStartedAt: performance.timeOrigin,
    onFirstEvent: () => settleInstance(readInstanceFile(instanceFile)),
  });

  const hooks: LifecycleHooks = {
    // The lifecycle calls this once the invocation has ended (it owns the wait).
    async afterInvoke(event) {
      const deadline = performance.now() + (event.deadlineMs - Date.now()) - INVOKE_DEADLINE_MARGIN_MS;
      await flusher.afterInvocation(deadline);
    },
    abandoned(requestId) {
      tracker.endAbandoned(requestId);
    },
    async shutdown(event, deadline) {
      settleInstance(readInstanceFile(instanceFile));
      tracker.endAllOpen(event.shutdownReason);
      const outcome = await flusher.flush(deadline);
      log.info('final flush', { code: 'LRAP_SHUTDOWN_FLUSH', outcome, exported: exporter.exported, dropped: exporter.dropped });
      // Not provider.shutdown(): it would wait for exports already given up on.
    },
  };
  log.debug('tracing ready', { protocol: settings.protocol, flush: settings.flush.kind });
  return { observer: tracker, hooks };
}

function buildSampler(setting: SamplerSetting): Sampler {
  switch (setting.kind) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(setting.ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(setting.ratio) });
  }
}

