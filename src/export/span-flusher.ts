// When spans leave the process. Lambda may freeze the environment as soon as the
// runtime and every extension are waiting for their next event, and a frozen
// process sends nothing; timers do not fire either. So exports are triggered by
// the lifecycle, not by a timer, and each is bounded by the time Lambda leaves us:
// an export that outlives the invocation deadline would turn into a timeout.

import { performance } from 'node:perf_hooks';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import type { FlushMode } from '../settings/tracing-settings.ts';

export type FlushOutcome = 'flushed' | 'timed-out' | 'failed' | 'skipped';

/**
 * After a flush fails or times out, the collector is presumed down or slow: for
 * this long invocations stop waiting for exports, which go on in the background
 * (and at SHUTDOWN, with the full budget). A dead collector would otherwise cost
 * every invocation the whole flush timeout (measured: 2 s each, make bench).
 */
const UNHEALTHY_BACKOFF_MS = 30_000;

export class SpanFlusher {
  readonly #processor: SpanProcessor;
  readonly #mode: FlushMode;
  readonly #maxFlushMs: number;
  readonly #log: Logger;
  #lastFlushAt = performance.now();
  #unhealthyUntil = 0;
  #background: Promise<unknown> | undefined;

  constructor(processor: SpanProcessor, mode: FlushMode, maxFlushMs: number, log: Logger) {
    this.#processor = processor;
    this.#mode = mode;
    this.#maxFlushMs = maxFlushMs;
    this.#log = log;
  }

  /** After an invocation ended, before the extension asks for the next event. */
  afterInvocation(deadline: number): Promise<FlushOutcome> {
    if (this.#mode.kind !== 'shutdown' && performance.now() < this.#unhealthyUntil) {
      this.#flushInBackground();
      return Promise.resolve('skipped');
    }
    switch (this.#mode.kind) {
      case 'end':
        return this.flush(deadline);
      case 'periodic':
        return performance.now() - this.#lastFlushAt >= this.#mode.intervalMs ? this.flush(deadline) : Promise.resolve('skipped');
      case 'shutdown':
        return Promise.resolve('skipped');
    }
  }

  /** While the collector is unwell: export without holding the invocation, one export at a time. */
  #flushInBackground(): void {
    if (this.#background) return;
    this.#background = this.#processor.forceFlush().then(
      () => { this.#unhealthyUntil = 0; this.#log.info('the collector accepts spans again', { code: 'LRAP_COLLECTOR_HEALTHY' }); },
      () => { this.#unhealthyUntil = performance.now() + UNHEALTHY_BACKOFF_MS; },
    ).finally(() => { this.#background = undefined; });
  }

  /** Exports everything queued, giving up at `deadline` (performance.now() time) or after the flush timeout. */
  async flush(deadline: number): Promise<FlushOutcome> {
    const started = performance.now();
    this.#lastFlushAt = started;
    const budget = Math.min(deadline - started, this.#maxFlushMs);
    if (budget <= 0) {
      this.#log.warn('no time left to export before the deadline; spans stay queued', { code: 'LRAP_FLUSH_SKIPPED' });
      return 'timed-out';
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<FlushOutcome>((resolve) => {
      timer = setTimeout(() => resolve('timed-out'), budget);
    });
    const outcome = await Promise.race([
      this.#processor.forceFlush().then((): FlushOutcome => 'flushed', (err: unknown): FlushOutcome => {
        this.#log.warn('span flush failed', { code: 'LRAP_FLUSH_FAILED', error: describeError(err) });
        return 'failed';
      }),
      timeout,
    ]);
    clearTimeout(timer);
    if (outcome === 'timed-out' || outcome === 'failed') {
      if (this.#unhealthyUntil === 0) {
        this.#log.warn('the collector is failing; invocations stop waiting for exports for a while', {
          code: 'LRAP_COLLECTOR_UNHEALTHY', backoffMs: UNHEALTHY_BACKOFF_MS,
        });
      }
      this.#unhealthyUntil = performance.now() + UNHEALTHY_BACKOFF_MS;
    } else {
      this.#unhealthyUntil = 0;
    }
    if (outcome === 'timed-out') {
      this.#log.warn('span export did not finish in time; going on without it', {
        code: 'LRAP_FLUSH_TIMEOUT', budgetMs: Math.round(budget),
      });
    } else {
      this.#log.debug('flush', { code: 'LRAP_FLUSHED', outcome, ms: Math.round(performance.now() - started) });
    }
    return outcome;
  }
}
