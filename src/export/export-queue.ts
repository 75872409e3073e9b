// Spans waiting for export: a bounded queue that drops (and counts) instead of
// growing, exported in rounds of at most MAX_BATCH spans, one round at a time.
// A failed export keeps its spans when it may succeed later (the export
// specification's retryable answers, network errors, timeouts) and is retried
// in the background with exponential backoff; a frozen environment runs no
// timers, so a retry due during a freeze runs at the next thaw. Whatever is
// still queued at SHUTDOWN goes out then (span-flusher.ts).

import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { LifecycleClock, CollectorHealth } from './collector-health.ts';
import { RetryableExportError } from './otlp-http-transport.ts';

/** The stock batch processor's default batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
const MAX_BATCH = 512;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

/** How one round of exports ended: all sent, stopped at a failure, or nothing to send. */
export type RoundOutcome = 'exported' | 'failed' | 'empty';

export interface ExportCounts {
  readonly exported: number;
  /** Refused for good by the collector (a 4xx other than 429, a 500, an unreadable answer). */
  readonly rejected: number;
  /** No room in the queue (OTEL_BSP_MAX_QUEUE_SIZE) while exports could not keep up or kept failing. */
  readonly droppedQueueFull: number;
}

export interface ExportQueueOptions {
  readonly exporter: SpanExporter;
  readonly health: CollectorHealth;
  readonly clock: LifecycleClock;
  readonly maxQueueSize: number;
  readonly log: Logger;
  /** Random factor for backoff jitter, in [0, 1); tests fix it. */
  readonly random?: () => number;
}

interface Queued {
  readonly span: ReadableSpan;
  /** clock.now() when it was queued. */
  readonly at: number;
}

export class ExportQueue implements SpanProcessor {
  readonly #o: ExportQueueOptions;
  readonly #random: () => number;
  #queue: Queued[] = [];
  #round: Promise<RoundOutcome> | undefined;
  #lastRoundAt: number | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #consecutiveFailures = 0;
  #exported = 0;
  #rejected = 0;
  #droppedQueueFull = 0;
  /** Drops are logged once per run of drops, not once per span. */
  #droppingSince: number | undefined;

  constructor(options: ExportQueueOptions) {
    this.#o = options;
    this.#random = options.random ?? Math.random;
    // LRAP_FLUSH=periodic counts its first period from start-up.
    this.#lastRoundAt = options.clock.now();
  }

  get queued(): number {
    return this.#queue.length;
  }

  get capacity(): number {
    return this.#o.maxQueueSize;
  }

  get oldestQueuedAt(): number | undefined {
    return this.#queue[0]?.at;
  }

  get lastExportAt(): number | undefined {
    return this.#lastRoundAt;
  }

  get exportInFlight(): boolean {
    return this.#round !== undefined;
  }

  get counts(): ExportCounts {
    return { exported: this.#exported, rejected: this.#rejected, droppedQueueFull: this.#droppedQueueFull };
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queue.length >= this.#o.maxQueueSize) {
      this.#dropQueueFull(1);
      return;
    }
    this.#endDropRun();
    this.#queue.push({ span, at: this.#o.clock.now() });
    // Spans that arrive while the collector is failing need a retry to go out.
    if (this.#o.health.state === 'failing') this.#scheduleRetry(undefined);
  }

  /** Exports what is queued now, after the round in flight if there is one. */
  exportQueued(): Promise<RoundOutcome> {
    const inFlight = this.#round;
    // After a failed round, the next attempt waits for its backoff.
    if (inFlight) return inFlight.then((outcome) => (outcome === 'failed' ? outcome : this.exportQueued()));
    if (this.#queue.length === 0) return Promise.resolve('empty');
    return this.#startRound(this.#queue.length);
  }

  /** Resolves when the round in flight (if any) is over; starts nothing. */
  async awaitInFlight(): Promise<void> {
    await this.#round;
  }

  /**
   * An empty export, during Init: it connects to the collector, compiles the
   * serializer and transport, and gives the budget its first latency sample
   * (or finds the collector down before the first invocation is held for it).
   */
  warmUp(): Promise<RoundOutcome> {
    // Not a round: the first invocation's flush does not wait behind it (it
    // takes a second connection if this one is still busy).
    return this.#exportBatch([]).then((ok) => (ok ? 'exported' : 'failed'));
  }

  /** SpanProcessor: everything queued, now. */
  async forceFlush(): Promise<void> {
    await this.exportQueued();
  }

  async shutdown(): Promise<void> {
    this.stopRetrying();
  }

  /** No more background retries (SHUTDOWN exports with its own budget). */
  stopRetrying(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #startRound(count: number): Promise<RoundOutcome> {
    return this.#track(this.#runRound(count));
  }

  #track(round: Promise<RoundOutcome>): Promise<RoundOutcome> {
    this.#lastRoundAt = this.#o.clock.now();
    const tracked = round.finally(() => { if (this.#round === tracked) this.#round = undefined; });
    this.#round = tracked;
    return tracked;
  }

  async #runRound(count: number): Promise<RoundOutcome> {
    let left = count;
    while (left > 0 && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, Math.min(MAX_BATCH, left));
      left -= batch.length;
      if (!(await this.#exportBatch(batch))) return 'failed';
    }
    return 'exported';
  }

  /** One export request. False when it failed (its spans are then queued again, or rejected). */
  async #exportBatch(batch: readonly Queued[]): Promise<boolean> {
    const { exporter, health, clock, log } = this.#o;
    const started = clock.now();
    const freezes = clock.freezes;
    const runningAtStart = !clock.mayBeFrozen;
    const latency = () => (runningAtStart && clock.freezes === freezes ? clock.now() - started : undefined);
    const result = await new Promise<ExportResult>((resolve) => {
      try {
        exporter.export(batch.map((q) => q.span), resolve);
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
    if (result.code === ExportResultCode.SUCCESS) {
      const recovering = health.state === 'failing';
      health.succeeded(latency());
      this.#consecutiveFailures = 0;
      this.#exported += batch.length;
      if (recovering) log.info('the collector accepts spans again', { code: 'LRAP_COLLECTOR_HEALTHY', queued: this.#queue.length });
      log.debug('spans exported', { code: 'LRAP_EXPORTED', spans: batch.length });
      return true;
    }
    const error = result.error;
    const retryable = error instanceof RetryableExportError;
    if (batch.length === 0 && !retryable) {
      // The warm-up's empty export was answered, if not accepted: the collector is there.
      health.succeeded(latency());
      log.debug('the collector answered the warm-up export with an error', { code: 'LRAP_EXPORTED', error: error ? describeError(error) : 'unknown' });
      return true;
    }
    const outageStarts = health.failed();
    this.#consecutiveFailures++;
    if (retryable) this.#requeue(batch);
    else this.#rejected += batch.length;
    const why = error ? describeError(error) : 'unknown';
    if (outageStarts) {
      log.warn('the collector failed an export; invocations stop waiting for it while exports retry in the background', {
        code: 'LRAP_COLLECTOR_UNHEALTHY', error: why,
      });
    }
    if (!retryable) {
      (outageStarts ? log.warn : log.debug)('the collector refused these spans; they are dropped', {
        code: 'LRAP_EXPORT_FAILED', spans: batch.length, rejectedSoFar: this.#rejected, error: why,
      });
    } else {
      log.debug('span export failed; the spans stay queued', { code: 'LRAP_EXPORT_RETRYING', spans: batch.length, queued: this.#queue.length, error: why });
    }
    this.#scheduleRetry(retryable ? error.retryAfterMs : undefined);
    return false;
  }

  /** Back at the head of the queue, as far as there is room; the rest is dropped and counted. */
  #requeue(batch: readonly Queued[]): void {
    const room = Math.max(0, this.#o.maxQueueSize - this.#queue.length);
    const kept = batch.length <= room ? batch : batch.slice(0, room);
    if (kept.length < batch.length) this.#dropQueueFull(batch.length - kept.length);
    this.#queue = kept.length > 0 ? [...kept, ...this.#queue] : this.#queue;
  }

  #scheduleRetry(retryAfterMs: number | undefined): void {
    if (this.#retryTimer !== undefined || this.#queue.length === 0) return;
    const exponent = Math.max(0, this.#consecutiveFailures - 1);
    const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** exponent) * (0.8 + 0.4 * this.#random());
    const delay = Math.min(MAX_RETRY_MS, retryAfterMs ?? backoff);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#round) return; // that round's own outcome schedules what follows
      this.exportQueued().catch((err: unknown) => {
        this.#o.log.warn('background export failed', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) });
      });
    }, delay);
    // Never the reason the process stays up.
    this.#retryTimer.unref();
  }

  #dropQueueFull(n: number): void {
    this.#droppedQueueFull += n;
    if (this.#droppingSince === undefined) {
      this.#droppingSince = this.#droppedQueueFull - n;
      this.#o.log.warn('the span queue is full; new spans are dropped until exports catch up', {
        code: 'LRAP_SPANS_DROPPED', reason: 'queue-full', maxQueueSize: this.#o.maxQueueSize, droppedSoFar: this.#droppedQueueFull,
      });
    }
  }

  #endDropRun(): void {
    if (this.#droppingSince === undefined) return;
    this.#o.log.warn('the span queue has room again', {
      code: 'LRAP_SPANS_DROPPED', reason: 'queue-full', dropped: this.#droppedQueueFull - this.#droppingSince, droppedSoFar: this.#droppedQueueFull,
    });
    this.#droppingSince = undefined;
  }
}
