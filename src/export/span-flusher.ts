// Carries out the flush policy (flush-policy.ts) at the lifecycle's three
// moments: an invocation starts (INVOKE arrived), an invocation ended (before
// the extension asks for its next event, which lets Lambda freeze us), and
// SHUTDOWN. Every hold is bounded by the budget the collector has earned
// (collector-health.ts) and by the invocation's deadline, and is reported on
// the next invocation span (FlushHoldReporter), since it happens after the
// held invocation's own span has ended.

import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_FAAS_INVOCATION_ID } from '@opentelemetry/semantic-conventions/incubating';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { LifecycleClock, CollectorHealth } from './collector-health.ts';
import type { ExportQueue, RoundOutcome } from './export-queue.ts';
import { decideAtEnd, exportAtStart, STEADY_LOOKBACK, type EndDecision, type FlushFacts } from './flush-policy.ts';
import type { FlushMode } from '../settings/tracing-settings.ts';
import { microseconds } from '../tracing/microseconds.ts';

export type FlushOutcome = 'flushed' | 'timed-out' | 'failed' | 'skipped';

/** Attributes on an invocation span: the hold after the previous invocation in this environment. */
export const ATTR_ADDED_PREVIOUS_FLUSH_US = 'lambda_trace_proxy.added.previous_flush_us';
export const ATTR_ADDED_PREVIOUS_FLUSH_INVOCATION_ID = 'lambda_trace_proxy.added.previous_flush_invocation_id';

/** What the end of one invocation cost: the decision and how long the invocation was held for it. */
export interface HoldReport {
  readonly requestId: string;
  readonly decision: EndDecision;
  readonly outcome: FlushOutcome;
  readonly holdMs: number;
}

export interface SpanFlusherOptions {
  readonly queue: ExportQueue;
  readonly health: CollectorHealth;
  readonly clock: LifecycleClock;
  readonly mode: FlushMode;
  readonly log: Logger;
  /**
   * Other telemetry that leaves with the spans (platform metrics): started
   * with each span export the policy decides, within the same hold, given the
   * performance.now() time by which it must be done.
   */
  readonly alsoExport?: ((deadline: number) => Promise<unknown>) | undefined;
}

/** SHUTDOWN: tries per export before giving up (a connection that died in a freeze fails the first). */
const SHUTDOWN_ATTEMPTS = 3;

export class SpanFlusher {
  readonly #o: SpanFlusherOptions;
  readonly #starts: number[] = [];
  #periodicTimer: NodeJS.Timeout | undefined;
  #unreportedHold: HoldReport | undefined;

  constructor(options: SpanFlusherOptions) {
    this.#o = options;
    const { mode, queue, health, log } = options;
    if (mode.kind === 'periodic') {
      // Managed Instances send no INVOKE and never freeze: a timer is the only
      // trigger there. On demand it fires only while the environment runs.
      this.#periodicTimer = setInterval(() => {
        if (queue.queued === 0 || queue.exportInFlight || health.state === 'failing') return;
        queue.exportQueued().catch((err: unknown) => log.warn('periodic export failed', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) }));
      }, mode.intervalMs);
      this.#periodicTimer.unref();
    }
  }

  /** INVOKE arrived: the environment runs again, and the function is about to. */
  invocationStarted(): void {
    const { clock, queue, mode, log } = this.#o;
    clock.running();
    this.#starts.push(clock.now());
    if (this.#starts.length > STEADY_LOOKBACK) this.#starts.shift();
    if (exportAtStart(mode, this.#facts())) {
      // While the function runs: Lambda bills that time anyway.
      queue.exportQueued().catch((err: unknown) => log.warn('background export failed', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) }));
      this.#exportAlso(clock.now() + this.#o.health.budgetMs());
    }
  }

  /**
   * Whether the end of the invocation now ending will export its span before
   * the environment may freeze (so the span is worth waiting for), as the
   * policy would decide once it is queued.
   */
  exportsAtEnd(): boolean {
    const facts = this.#facts();
    return decideAtEnd(this.#o.mode, { ...facts, queued: facts.queued + 1, oldestQueuedAt: facts.oldestQueuedAt ?? facts.now }) === 'flush';
  }

  /**
   * The invocation is over: hold it as the policy says, within the learned
   * budget and `deadline` (performance.now() time). Afterwards the extension
   * asks for its next event and the environment may freeze.
   */
  async invocationEnded(requestId: string, deadline: number): Promise<HoldReport> {
    const { clock, mode, log } = this.#o;
    const started = clock.now();
    const decision = decideAtEnd(mode, this.#facts());
    const outcome = decision === 'release' ? 'skipped' : await this.#hold(decision, deadline);
    const report: HoldReport = { requestId, decision, outcome, holdMs: clock.now() - started };
    this.#unreportedHold = report;
    clock.mayFreeze();
    if (log.enabled('debug')) log.debug('invocation end', { code: 'LRAP_FLUSHED', requestId, decision, outcome, holdMs: Math.round(report.holdMs * 10) / 10 });
    return report;
  }

  /** The last hold, once: for the next invocation span. */
  takeUnreportedHold(): HoldReport | undefined {
    const hold = this.#unreportedHold;
    this.#unreportedHold = undefined;
    return hold;
  }

  async #hold(decision: Exclude<EndDecision, 'release'>, deadline: number): Promise<FlushOutcome> {
    const { queue, health, clock, log } = this.#o;
    const budget = health.budgetMs();
    const left = deadline - clock.now();
    if (left <= 0) {
      log.warn('no time left to export before the deadline; spans stay queued', { code: 'LRAP_FLUSH_SKIPPED' });
      return 'skipped';
    }
    const cutByDeadline = left < budget;
    const limit = Math.min(budget, left);
    const work = decision === 'flush' ? queue.exportQueued() : queue.awaitInFlight().then((): RoundOutcome => 'exported');
    const also = decision === 'flush' ? this.#exportAlso(clock.now() + limit) : undefined;
    const [outcome] = await Promise.all([withTimeout(work, limit), also]);
    if (outcome === 'timed-out') {
      if (health.holdExpired(cutByDeadline, budget)) {
        log.warn('the collector is slower than it was; invocations stop waiting for it until an export finishes', {
          code: 'LRAP_FLUSH_TIMEOUT', budgetMs: Math.round(budget),
        });
      } else if (cutByDeadline) {
        log.warn('the invocation deadline cut the export short; it goes on after the next event', { code: 'LRAP_FLUSH_TIMEOUT', budgetMs: Math.round(left) });
      }
      return 'timed-out';
    }
    return outcome === 'failed' ? 'failed' : 'flushed';
  }

  /** Never throws, never outlives `deadline` by its own choice (the export bounds itself). */
  #exportAlso(deadline: number): Promise<void> | undefined {
    const { alsoExport, log } = this.#o;
    if (!alsoExport) return undefined;
    return alsoExport(deadline).then(() => undefined, (err: unknown) => {
      log.warn('metric export failed', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) });
    });
  }

  /** No more periodic exports. */
  stop(): void {
    clearInterval(this.#periodicTimer);
  }

  /** SHUTDOWN: everything still queued, whatever the collector did before, until `deadline`. */
  async shutdown(deadline: number): Promise<FlushOutcome> {
    const { queue, clock } = this.#o;
    this.stop();
    queue.stopRetrying();
    clock.running();
    let outcome: FlushOutcome = 'skipped';
    for (let attempt = 0; attempt < SHUTDOWN_ATTEMPTS && (queue.queued > 0 || queue.exportInFlight); attempt++) {
      const left = deadline - clock.now();
      if (left <= 0) return 'timed-out';
      const round = await withTimeout(queue.exportQueued(), left);
      if (round === 'timed-out') return 'timed-out';
      outcome = round === 'failed' ? 'failed' : 'flushed';
    }
    return outcome;
  }

  #facts(): FlushFacts {
    const { queue, health, clock } = this.#o;
    return {
      now: clock.now(),
      recentStarts: this.#starts,
      lastExportAt: queue.lastExportAt,
      oldestQueuedAt: queue.oldestQueuedAt,
      queued: queue.queued,
      queueCapacity: queue.capacity,
      collector: health.state,
      exportInFlight: queue.exportInFlight,
    };
  }
}

/**
 * Puts the hold after the previous invocation on the next invocation span: the
 * hold happens after its own invocation's span has ended (and while that span
 * is being exported), so that is the first span that can carry it.
 */
export class FlushHoldReporter implements SpanProcessor {
  readonly #flusher: SpanFlusher;

  constructor(flusher: SpanFlusher) {
    this.#flusher = flusher;
  }

  onStart(span: Span, _parentContext: Context): void {
    if (span.attributes[ATTR_FAAS_INVOCATION_ID] === undefined) return;
    const hold = this.#flusher.takeUnreportedHold();
    if (!hold) return;
    span.setAttribute(ATTR_ADDED_PREVIOUS_FLUSH_US, microseconds(hold.holdMs));
    span.setAttribute(ATTR_ADDED_PREVIOUS_FLUSH_INVOCATION_ID, hold.requestId);
  }

  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> { return Promise.resolve(); }
  shutdown(): Promise<void> { return Promise.resolve(); }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | 'timed-out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => { timer = setTimeout(() => resolve('timed-out'), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
