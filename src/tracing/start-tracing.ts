// Tracing, assembled. Loaded by main.ts only after the extension has registered
// (dynamic import), so its cost is paid while Lambda starts the runtime rather
// than before: nothing here is on the path to `register`.

import { diag, DiagLogLevel } from '@opentelemetry/api';
import {
  AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type Sampler,
} from '@opentelemetry/sdk-trace';
import type { CoreConfig } from '../settings/core-config.ts';
import type { TelemetrySockets } from '../settings/launcher-handover.ts';
import type { Registration } from '../lifecycle/extensions-api.ts';
import type { LifecycleHooks } from '../lifecycle/lifecycle.ts';
import { diagnosticLogger, type Logger, type LogLevel } from '../log.ts';
import type { InvocationObserver } from '../proxy/invocation-observer.ts';
import { parseTracingSettings, type SamplerSetting } from '../settings/tracing-settings.ts';
import { logSettingProblems, type Env } from '../settings/env-values.ts';
import { buildResource, functionIdentity, instanceFilePath, readInstanceFile } from './resource.ts';
import { createOtlpExporter } from '../export/span-export.ts';
import { BUDGET_FLOOR_MS, CollectorHealth, INITIAL_BUDGET_MS, LifecycleClock } from '../export/collector-health.ts';
import { ExportQueue } from '../export/export-queue.ts';
import { FlushHoldReporter, SpanFlusher } from '../export/span-flusher.ts';
import { warmUpSpanSerialization } from '../export/serialization-warm-up.ts';
import { InvocationTracker } from './invocation-tracker.ts';
import { AWSXRayIdGenerator } from '@opentelemetry/id-generator-aws-xray';
import { parseTelemetrySettings } from '../settings/telemetry-settings.ts';
import { startPlatformTelemetry, type StartedTelemetry } from '../telemetry/start-telemetry.ts';
import { PlatformMetrics } from '../telemetry/platform-metrics.ts';

declare const LRAP_VERSION: string;

export interface StartTracingInput {
  /** The environment, as main.ts read it: parsed here by the settings module only. */
  readonly env: Env;
  readonly config: CoreConfig;
  readonly registration: Registration;
  readonly log: Logger;
  /** The Telemetry API listener's sockets, if the launcher bound them (main.ts closes them if not taken). */
  readonly telemetrySockets?: TelemetrySockets | undefined;
}

export interface Tracing {
  readonly observer: InvocationObserver;
  readonly hooks: LifecycleHooks;
  /** Settles once Init's warm-up (first connection to the collector, and the Node modules it loads) is over. */
  readonly warmedUp: Promise<void>;
}

/** Lambda ends the invocation at its deadline; stop waiting for it a little before. */
const INVOKE_DEADLINE_MARGIN_MS = 20;
/** At SHUTDOWN, the last platform.report may still be on its way: wait this long at most. */
const LAST_REPORT_WAIT_MS = 300;

export async function startTracing({ env, config, registration, log, telemetrySockets }: StartTracingInput): Promise<Tracing | undefined> {
  // Before anything of the SDK runs, so that its own warnings reach our log.
  diag.setLogger(diagnosticLogger(log), { logLevel: DIAG_LEVEL[log.level], suppressOverrideMessage: true });
  const settings = parseTracingSettings(env, { managedInstances: config.managedInstances });
  logSettingProblems(log, settings.problems);
  if (settings.exporter.kind === 'none') {
    log.info(`no span exporter (${settings.exporter.because}); the proxy forwards only`, { code: 'LRAP_TRACING_DISABLED' });
    return undefined;
  }
  const { otlp, signing } = settings.exporter;
  const telemetrySettings = parseTelemetrySettings(env);
  logSettingProblems(log, telemetrySettings.problems);
  // The subscription's round trips overlap loading the exporter.
  const telemetryStarting = telemetrySettings.telemetryApi ? startPlatformTelemetry(config, registration.extensionId, telemetrySettings.runtimeDoneWaitMs, telemetrySockets, log) : undefined;
  let otlpExporter;
  let telemetry: StartedTelemetry | undefined;
  try {
    otlpExporter = await createOtlpExporter(otlp, signing);
    telemetry = await telemetryStarting;
  } catch (err) {
    void telemetryStarting?.then((t) => t.close());
    throw err;
  }
  const platform = telemetry?.platform;

  const identity = functionIdentity(settings.function, registration);
  // Made once, when first needed: by then the runtime has started (its first call through the proxy,
  // or a span of its invocations), and its wrapper has handed faas.instance over if it ever will.
  const resource = once(() => buildResource(
    identity, settings.serviceName, settings.resourceAttributes, readInstanceFile(instanceFilePath(config.listenerPort))));

  // platform.report's figures, as metrics. X-Ray's OTLP endpoint takes traces only.
  let metrics: PlatformMetrics | undefined;
  if (platform !== undefined && telemetrySettings.metricsExport !== undefined && signing === undefined) {
    metrics = new PlatformMetrics({
      otlp: telemetrySettings.metricsExport, temporality: telemetrySettings.temporality, resource, flush: settings.flush, flushTimeoutMs: settings.flushTimeoutMs,
      version: typeof LRAP_VERSION === 'string' ? LRAP_VERSION : 'dev', log,
    });
    const reportMetrics = metrics;
    platform.onReport((report) => reportMetrics.record(report));
  }

  // Exports are driven by the lifecycle and the flush policy (src/export/), not by a timer.
  const clock = new LifecycleClock(() => performance.now());
  const health = new CollectorHealth({ initialMs: INITIAL_BUDGET_MS, floorMs: BUDGET_FLOOR_MS, capMs: settings.flushTimeoutMs });
  const queue = new ExportQueue({ exporter: otlpExporter, health, clock, maxQueueSize: settings.maxQueueSize, log });
  const metricsToFlush = metrics;
  const flusher = new SpanFlusher({
    queue, health, clock, mode: settings.flush, log, alsoExport: metricsToFlush && ((deadline) => metricsToFlush.flush(deadline)),
  });
  const tracer = once(() => new TracerProvider({
    resource: resource(),
    sampler: buildSampler(settings.sampler),
    spanProcessors: [new FlushHoldReporter(flusher), queue],
    // X-Ray accepts only trace ids that start with the epoch seconds; such ids
    // are valid W3C ids too, so every backend takes them.
    idGenerator: new AWSXRayIdGenerator(),
  }).getTracer('lambda-trace-proxy', typeof LRAP_VERSION === 'string' ? LRAP_VERSION : 'dev'));
  const tracker = new InvocationTracker({
    tracer,
    settings,
    identity,
    log,
    processStartedAt: performance.timeOrigin,
    // Made (~0.1 ms) once the runtime's first /next has gone on to Lambda, rather than on the
    // first event's way to the runtime.
    onRuntimeStarted: () => setImmediate(() => {
      try { tracer(); } catch { /* Made again when the first span needs it: its failure is reported there. */ }
    }),
    platform,
  });
  platform?.setObserver(tracker);

  const hooks: LifecycleHooks = {
    invoked() {
      flusher.invocationStarted();
    },
    // The lifecycle calls this once the invocation has ended (it owns the wait).
    async afterInvoke(event) {
      const deadline = performance.now() + (event.deadlineMs - Date.now()) - INVOKE_DEADLINE_MARGIN_MS;
      // The span may still wait (bounded) for Lambda's runtimeDone: it leaves with
      // it. Only worth holding the invocation for when it is exported now; else
      // the span ends by itself when runtimeDone comes (after the next thaw).
      if (flusher.exportsAtEnd()) await tracker.whenSpanEnded(event.requestId, deadline);
      // Metrics ride along with span exports (span-flusher.ts), never with a failing collector.
      await flusher.invocationEnded(event.requestId, deadline);
    },
    abandoned(requestId) {
      tracker.endAbandoned(requestId);
    },
    async shutdown(event, deadline) {
      await platform?.whenReported(tracker.unfinished(), Math.min(deadline, performance.now() + LAST_REPORT_WAIT_MS));
      tracker.endAllOpen(event.shutdownReason);
      const [outcome] = await Promise.all([flusher.shutdown(deadline), metrics?.flush(deadline)]);
      telemetry?.close();
      const { exported, rejected, droppedQueueFull } = queue.counts;
      const unsent = queue.queued;
      (rejected + droppedQueueFull + unsent > 0 ? log.warn : log.info)('final flush', {
        code: 'LRAP_SHUTDOWN_FLUSH', outcome, exported, rejected, droppedQueueFull, unsent,
      });
      // Not provider.shutdown(): it would wait for exports already given up on.
    },
  };
  log.debug('tracing ready', { protocol: otlp.protocol, flush: settings.flush.kind });
  // During Init, while Lambda starts the runtime: connect to the collector and
  // compile the export path now rather than on the first invocation's bill.
  // On the next turn of the event loop, so that the lifecycle's /event/next
  // (which ends our part of Init) is sent first.
  const warmedUp = new Promise<void>((resolve) => setImmediate(() => {
    const exported = queue.warmUp();
    warmUpSpanSerialization(otlp.protocol === 'http/json');
    exported.then(() => resolve(), () => resolve());
  }));
  return { observer: tracker, hooks, warmedUp };
}

const DIAG_LEVEL: Readonly<Record<LogLevel, DiagLogLevel>> = {
  debug: DiagLogLevel.DEBUG, info: DiagLogLevel.INFO, warn: DiagLogLevel.WARN, error: DiagLogLevel.ERROR, none: DiagLogLevel.NONE,
};

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

/** `make`'s value, made at the first call and kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
