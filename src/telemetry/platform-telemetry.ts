// What Lambda tells us through the Telemetry API, kept per request id and per
// Init, and handed on: to the tracker when an invocation's runtime is done (to
// enrich its span, or to make one when the proxy never saw the invocation), and
// to the metrics when its report arrives. Events come batched, ~25 ms after the
// fact, and platform.report only after the invocation was released: nothing
// here ever holds an invocation; the tracker bounds its own wait.

import type { Logger } from '../log.ts';
import type { PlatformEvent, PlatformStatus, ReportMetrics } from './platform-events.ts';
import { isOutOfMemoryErrorType, reportShowsOutOfMemory, type OutOfMemoryEvidence } from './out-of-memory.ts';

export interface RuntimeDoneFacts {
  /** Epoch ms. */
  readonly at: number;
  readonly status: PlatformStatus | undefined;
  readonly errorType: string | undefined;
  readonly durationMs: number | undefined;
  readonly producedBytes: number | undefined;
  readonly responseLatencyMs: number | undefined;
  readonly responseDurationMs: number | undefined;
}

export interface InvocationFacts {
  readonly requestId: string;
  /** platform.start, epoch ms. */
  readonly startedAt: number | undefined;
  /** Lambda's X-Ray header for this invocation (platform.start `tracing`, schema 2022-12-13 on). */
  readonly traceHeader: string | undefined;
  readonly runtimeDone: RuntimeDoneFacts | undefined;
  readonly outOfMemory: OutOfMemoryEvidence | undefined;
}

export interface PhaseFacts {
  readonly startedAt: number | undefined;
  readonly doneAt: number | undefined;
  readonly status: PlatformStatus | undefined;
  readonly errorType: string | undefined;
  readonly durationMs: number | undefined;
}

export interface InitFacts extends PhaseFacts {
  readonly initializationType: string | undefined;
  readonly phase: string | undefined;
}

export interface InvocationReport {
  readonly requestId: string;
  readonly status: PlatformStatus | undefined;
  readonly errorType: string | undefined;
  readonly metrics: ReportMetrics;
  /** Every piece of evidence for this invocation, report included. */
  readonly outOfMemory: OutOfMemoryEvidence | undefined;
}

/** Who learns of platform facts: the tracker (spans) and the metrics. */
export interface PlatformObserver {
  onRuntimeDone(facts: InvocationFacts): void;
}
export type ReportListener = (report: InvocationReport) => void;

interface MutableFacts {
  requestId: string;
  startedAt: number | undefined;
  traceHeader: string | undefined;
  runtimeDone: RuntimeDoneFacts | undefined;
  outOfMemory: OutOfMemoryEvidence | undefined;
}

interface MutablePhase {
  startedAt: number | undefined;
  doneAt: number | undefined;
  status: PlatformStatus | undefined;
  errorType: string | undefined;
  durationMs: number | undefined;
  initializationType: string | undefined;
  phase: string | undefined;
}

/** Invocations remembered at most (Managed Instances run many at once); the oldest go first. */
const MAX_TRACKED = 256;
/** After this many spans waited for a runtimeDone that never came, stop waiting until one comes. */
const MAX_MISSED_WAITS = 3;
/**
 * A function whose log outruns us makes Lambda drop events at nearly every delivery: one warning
 * a minute at most (by Lambda's clock), with the records dropped since the previous one.
 */
const DROPPED_WARNING_INTERVAL_MS = 60_000;

export interface PlatformTelemetryOptions {
  readonly log: Logger;
  /** How long a posted span may wait for its runtimeDone (0: not at all). */
  readonly runtimeDoneWaitMs: number;
}

export class PlatformTelemetry {
  readonly #log: Logger;
  /** How long a posted span waits for its runtimeDone. */
  readonly runtimeDoneWaitMs: number;
  readonly #invocations = new Map<string, MutableFacts>();
  readonly #init: MutablePhase = emptyPhase();
  readonly #restore: MutablePhase = emptyPhase();
  #observer: PlatformObserver | undefined;
  readonly #reportListeners: ReportListener[] = [];
  #subscribed = false;
  #missedWaits = 0;
  #droppedSinceWarning = 0;
  #droppedWarnedAt: number | undefined;
  /** An out-of-memory line we could not tie to a request id yet (epoch ms). */
  #unattributedOutOfMemoryAt: number | undefined;
  #reportWaiters = new Set<() => void>();
  /** Ids whose report came (their facts are gone), so a shutdown does not wait for them. */
  readonly #reported = new Set<string>();

  constructor(options: PlatformTelemetryOptions) {
    this.#log = options.log;
    this.runtimeDoneWaitMs = options.runtimeDoneWaitMs;
  }

  /** Spans wait for platform facts only while Lambda delivers them (and a wait is allowed at all). */
  get live(): boolean {
    return this.#subscribed && this.runtimeDoneWaitMs > 0 && this.#missedWaits < MAX_MISSED_WAITS;
  }

  setSubscribed(subscribed: boolean): void {
    this.#subscribed = subscribed;
  }

  setObserver(observer: PlatformObserver): void {
    this.#observer = observer;
  }

  onReport(listener: ReportListener): void {
    this.#reportListeners.push(listener);
  }

  facts(requestId: string): InvocationFacts | undefined {
    return this.#invocations.get(requestId);
  }

  get init(): InitFacts {
    return this.#init;
  }

  get restore(): PhaseFacts {
    return this.#restore;
  }

  /** The runtime or the tracker saw an out-of-memory itself (a posted OutOfMemoryError). */
  noteOutOfMemory(requestId: string, evidence: OutOfMemoryEvidence): void {
    const facts = this.#factsFor(requestId);
    strongest(facts, evidence);
  }

  /** A span gave up waiting for its runtimeDone: after a few, Lambda is presumed silent. */
  noteMissedWait(): void {
    this.#missedWaits++;
    if (this.#missedWaits === MAX_MISSED_WAITS) {
      this.#log.warn('the Telemetry API sends no platform.runtimeDone; spans stop waiting for it', { code: 'LRAP_TELEMETRY_SILENT' });
    }
  }

  /**
   * At SHUTDOWN, what Lambda said last is on its way: resolves once each of
   * `unfinished` (invocations whose spans are still open) has its runtimeDone
   * and every invocation whose runtime is done has its report, or at `deadline`
   * (performance.now() time).
   */
  async whenReported(unfinished: readonly string[], deadline: number): Promise<void> {
    if (!this.#subscribed) return;
    const pending = () => unfinished.some((id) => !this.#reported.has(id) && this.#invocations.get(id)?.runtimeDone === undefined)
      || [...this.#invocations.values()].some((f) => f.runtimeDone !== undefined);
    if (!pending()) return;
    await new Promise<void>((resolve) => {
      const waiters = this.#reportWaiters;
      const timer = setTimeout(done, Math.max(0, deadline - performance.now()));
      const check = () => { if (!pending()) done(); };
      function done(): void {
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      }
      waiters.add(check);
    });
  }

  /** One delivery's events, in order. */
  ingest(events: readonly PlatformEvent[]): void {
    for (const event of events) this.#apply(event);
    for (const check of [...this.#reportWaiters]) check();
  }

  #apply(event: PlatformEvent): void {
    switch (event.type) {
      case 'initStart':
        Object.assign(this.#init, emptyPhase(), { startedAt: event.at, initializationType: event.initializationType, phase: event.phase });
        return;
      case 'initRuntimeDone':
        Object.assign(this.#init, { doneAt: event.at, status: event.status, errorType: event.errorType, phase: event.phase ?? this.#init.phase });
        return;
      case 'initReport':
        Object.assign(this.#init, { durationMs: event.durationMs, status: this.#init.status ?? event.status, errorType: this.#init.errorType ?? event.errorType });
        return;
      case 'restoreStart':
        Object.assign(this.#restore, emptyPhase(), { startedAt: event.at });
        return;
      case 'restoreRuntimeDone':
        Object.assign(this.#restore, { doneAt: event.at, status: event.status, errorType: event.errorType });
        return;
      case 'restoreReport':
        Object.assign(this.#restore, { durationMs: event.durationMs, status: this.#restore.status ?? event.status });
        return;
      case 'logsDropped':
        this.#droppedSinceWarning += event.droppedRecords ?? 0;
        if (this.#droppedWarnedAt !== undefined && event.at - this.#droppedWarnedAt < DROPPED_WARNING_INTERVAL_MS) return;
        this.#log.warn('Lambda dropped telemetry events for us', { code: 'LRAP_TELEMETRY_DROPPED', records: this.#droppedSinceWarning });
        this.#droppedSinceWarning = 0;
        this.#droppedWarnedAt = event.at;
        return;
      case 'outOfMemoryLine':
        this.#outOfMemoryLine(event.requestId, event.at);
        return;
      case 'start': {
        const facts = this.#factsFor(event.requestId);
        facts.startedAt = event.at;
        facts.traceHeader ??= event.traceHeader;
        return;
      }
      case 'runtimeDone': {
        const facts = this.#factsFor(event.requestId);
        facts.traceHeader ??= event.traceHeader;
        this.#runtimeDone(facts, { ...event });
        return;
      }
      case 'report':
        this.#report(event);
        return;
    }
  }

  #runtimeDone(facts: MutableFacts, done: RuntimeDoneFacts): void {
    if (facts.runtimeDone !== undefined) return;
    facts.runtimeDone = done;
    this.#missedWaits = 0;
    if (done.status !== 'success') {
      if (isOutOfMemoryErrorType(done.errorType)) strongest(facts, 'runtime-done');
      const line = this.#unattributedOutOfMemoryAt;
      if (line !== undefined && (facts.startedAt === undefined || line >= facts.startedAt) && line <= done.at) {
        strongest(facts, 'function-log');
        this.#unattributedOutOfMemoryAt = undefined;
      }
    } else if (facts.outOfMemory === 'function-log') {
      // A handled MemoryError, or a log line quoting one: the invocation did not die of it.
      facts.outOfMemory = undefined;
    }
    this.#observer?.onRuntimeDone(facts);
  }

  #report(event: Extract<PlatformEvent, { type: 'report' }>): void {
    const facts = this.#factsFor(event.requestId);
    facts.traceHeader ??= event.traceHeader;
    // Managed Instances send no runtimeDone: the report carries the same facts (schema 2025-01-29).
    if (facts.runtimeDone === undefined) {
      this.#runtimeDone(facts, {
        at: event.at, status: event.status, errorType: event.errorType, durationMs: event.metrics.durationMs,
        producedBytes: event.producedBytes, responseLatencyMs: event.responseLatencyMs, responseDurationMs: event.responseDurationMs,
      });
    }
    const status = event.status ?? facts.runtimeDone?.status;
    if (reportShowsOutOfMemory(status, event.metrics.maxMemoryUsedMb, event.metrics.memorySizeMb)) strongest(facts, 'memory-limit');
    const report: InvocationReport = {
      requestId: event.requestId,
      status,
      errorType: event.errorType ?? facts.runtimeDone?.errorType,
      metrics: event.metrics,
      outOfMemory: facts.outOfMemory,
    };
    // The report is the last word on an invocation.
    this.#invocations.delete(event.requestId);
    this.#reported.add(event.requestId);
    if (this.#reported.size > MAX_TRACKED) {
      const oldest = this.#reported.values().next().value;
      if (oldest !== undefined) this.#reported.delete(oldest);
    }
    for (const listener of this.#reportListeners) listener(report);
  }

  #outOfMemoryLine(requestId: string | undefined, at: number): void {
    if (requestId === undefined) {
      // Text logs carry no request id: the one invocation running then is it (on demand, one at a time).
      const running = [...this.#invocations.values()].filter((f) => f.startedAt !== undefined && f.startedAt <= at && f.runtimeDone === undefined);
      if (running.length === 1) requestId = running[0]!.requestId;
    }
    if (requestId === undefined) this.#unattributedOutOfMemoryAt = at;
    else strongest(this.#factsFor(requestId), 'function-log');
  }

  #factsFor(requestId: string): MutableFacts {
    let facts = this.#invocations.get(requestId);
    if (facts === undefined) {
      facts = { requestId, startedAt: undefined, traceHeader: undefined, runtimeDone: undefined, outOfMemory: undefined };
      this.#invocations.set(requestId, facts);
      if (this.#invocations.size > MAX_TRACKED) {
        const oldest = this.#invocations.keys().next().value;
        if (oldest !== undefined) this.#invocations.delete(oldest);
      }
    }
    return facts;
  }
}

/** Several signals may tell of one out-of-memory: the span names the most direct one (Lambda's own word first). */
const EVIDENCE_RANK: readonly OutOfMemoryEvidence[] = ['runtime-done', 'posted-error', 'function-log', 'memory-limit'];

function strongest(facts: MutableFacts, evidence: OutOfMemoryEvidence): void {
  if (facts.outOfMemory === undefined || EVIDENCE_RANK.indexOf(evidence) < EVIDENCE_RANK.indexOf(facts.outOfMemory)) facts.outOfMemory = evidence;
}

function emptyPhase(): MutablePhase {
  return { startedAt: undefined, doneAt: undefined, status: undefined, errorType: undefined, durationMs: undefined, initializationType: undefined, phase: undefined };
}
