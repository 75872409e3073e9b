// When spans leave the process: a pure decision, taken at the start and at the
// end of each invocation from a few facts (recent traffic, what is queued, how
// the collector behaves). Lambda bills an invocation until every extension asks
// for its next event, and may freeze the environment right then (a frozen
// process sends nothing, its timers do not fire), so every choice trades the
// bill against how soon spans are seen:
//
// - `end`: export at the end of every invocation and hold it until done.
// - `periodic`: as `end`, but only when the interval has passed since the last export.
// - `shutdown`: keep everything until SHUTDOWN.
// - `adaptive` (default): early invocations, and the first after a quiet spell,
//   are exported at their end as in `end`, so a function invoked now and then
//   loses nothing to a long freeze. Once traffic is steady (invocations at most
//   STEADY_MAX_GAP_MS apart), spans wait in the queue and are exported at the
//   start of a later invocation, while the function runs (time Lambda bills
//   anyway), and the end of an invocation does not wait for it. After DataDog's
//   adaptive flushing (bottlecap lifecycle/flush_control.rs: end-of-invocation
//   flushes for the first invocations, then periodic or continuous ones), with
//   a shorter period, so that a span is exported within ADAPTIVE_MAX_DELAY_MS
//   while invocations keep coming.

import type { FlushMode } from '../settings/tracing-settings.ts';

/**
 * What the export path knows of the collector. `unknown`: nothing answered yet.
 * `suspect`: a held export outlived its learned budget and has not finished.
 * `failing`: the last export failed. Only `unknown` and `healthy` are held for.
 */
export type CollectorState = 'unknown' | 'healthy' | 'suspect' | 'failing';

export interface FlushFacts {
  /** Monotonic time (ms) of the decision. */
  readonly now: number;
  /** Start times of the latest invocations, oldest first, the current one last. */
  readonly recentStarts: readonly number[];
  /** When the last export round started; undefined before the first. */
  readonly lastExportAt: number | undefined;
  /** When the oldest span still waiting for export was queued; undefined when none waits. */
  readonly oldestQueuedAt: number | undefined;
  readonly queued: number;
  readonly queueCapacity: number;
  readonly collector: CollectorState;
  readonly exportInFlight: boolean;
}

/** At the end of an invocation, before the extension asks for its next event. */
export type EndDecision =
  /** Export everything queued and hold the invocation for it, within the learned budget. */
  | 'flush'
  /** Hold only for the export already in flight, within the budget (LRAP_FLUSH=end, after a background export). */
  | 'await-in-flight'
  /** Ask for the next event at once: queued spans go with a later export. */
  | 'release';

/** How many recent invocations the adaptive mode looks at before trusting the traffic to be steady. */
export const STEADY_LOOKBACK = 10;
/** Steady traffic: every one of the last STEADY_LOOKBACK invocations started at most this long after the one before. */
export const STEADY_MAX_GAP_MS = 4_000;
/** At steady traffic, a queued span this old is exported at the next invocation's start. */
export const ADAPTIVE_PERIOD_MS = 4_000;
/**
 * The delay before a span is exported while invocations keep coming: it waits
 * at most ADAPTIVE_PERIOD_MS, then at most one gap for an invocation to start.
 * (The export itself adds at most the learned budget.)
 */
export const ADAPTIVE_MAX_DELAY_MS = ADAPTIVE_PERIOD_MS + STEADY_MAX_GAP_MS;
/** A queue this full is exported at once, steady traffic or not, so that spans are not dropped. */
export const HIGH_WATER_SHARE = 0.5;

/** Whether the last STEADY_LOOKBACK invocations (the current one included) came close enough together. */
export function isSteady(recentStarts: readonly number[]): boolean {
  if (recentStarts.length < STEADY_LOOKBACK) return false;
  const window = recentStarts.slice(-STEADY_LOOKBACK);
  for (let i = 1; i < window.length; i++) {
    if (window[i]! - window[i - 1]! > STEADY_MAX_GAP_MS) return false;
  }
  return true;
}

function collectorWorthWaitingFor(state: CollectorState): boolean {
  return state === 'unknown' || state === 'healthy';
}

function queueNearlyFull(f: FlushFacts): boolean {
  return f.queued >= f.queueCapacity * HIGH_WATER_SHARE;
}

/**
 * At an invocation's start: whether to export what earlier invocations left
 * queued, in the background, while the function runs.
 */
export function exportAtStart(mode: FlushMode, f: FlushFacts): boolean {
  if (mode.kind !== 'adaptive') return false;
  if (f.queued === 0 || f.exportInFlight || !collectorWorthWaitingFor(f.collector)) return false;
  if (queueNearlyFull(f)) return true;
  if (f.oldestQueuedAt !== undefined && f.now - f.oldestQueuedAt >= ADAPTIVE_PERIOD_MS) return true;
  // The first invocation after a quiet spell: what the last one left (its end
  // was released at steady traffic) has waited long enough.
  const previous = f.recentStarts.at(-2);
  return previous !== undefined && f.now - previous > STEADY_MAX_GAP_MS;
}

/** At an invocation's end: whether, and for what, to hold it before asking for the next event. */
export function decideAtEnd(mode: FlushMode, f: FlushFacts): EndDecision {
  // A collector known to fail is never waited for: retries run in the background.
  if (mode.kind === 'shutdown' || !collectorWorthWaitingFor(f.collector)) return 'release';
  switch (mode.kind) {
    case 'end':
      return f.queued > 0 ? 'flush' : f.exportInFlight ? 'await-in-flight' : 'release';
    case 'periodic':
      return f.queued > 0 && (f.lastExportAt === undefined || f.now - f.lastExportAt >= mode.intervalMs) ? 'flush' : 'release';
    case 'adaptive': {
      if (f.queued > 0) {
        if (!isSteady(f.recentStarts) || queueNearlyFull(f)) return 'flush';
        if (f.oldestQueuedAt !== undefined && f.now - f.oldestQueuedAt >= ADAPTIVE_MAX_DELAY_MS) return 'flush';
      }
      // At steady traffic an export in flight is not waited for either: the
      // next thaw is at most STEADY_MAX_GAP_MS away, a freeze stops only this
      // process (the collector answers meanwhile, and we read it at the thaw),
      // and a connection that did not survive is a retryable failure.
      return 'release';
    }
  }
}
