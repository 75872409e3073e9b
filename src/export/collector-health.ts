// How long an invocation may be held for the collector, learned from how long
// its exports take. A healthy collector earns a budget of twice its recent
// 95th-percentile export time (within a floor and a cap); a collector that
// fails, or outlives that budget, is not waited for again until an export
// succeeds. So a dead collector costs one short hold, not one per invocation,
// and a collector that is slow for a moment costs at most the budget it earned.

import type { CollectorState } from './flush-policy.ts';

export interface BudgetLimits {
  /** Before any export has finished: also the most a never-answering collector costs the first invocation. */
  readonly initialMs: number;
  /** Never below: a loopback collector answers in 1 ms, but one GC pause should not make it suspect. */
  readonly floorMs: number;
  /** Never above (LRAP_FLUSH_TIMEOUT_MS). */
  readonly capMs: number;
}

/**
 * Before the collector has answered once, the most an invocation is held for
 * it: a collector that never answers costs the first invocation this, no more.
 * Under 500 ms with room for the first invocation's own slower path (measured:
 * a 500 ms budget held the first invocation 505 to 576 ms, test/bench/flush-holds.ts).
 */
export const INITIAL_BUDGET_MS = 400;
/** The learned budget never goes below this: one GC pause should not make a loopback collector suspect. */
export const BUDGET_FLOOR_MS = 100;

/** Latency samples kept: enough for a 95th percentile that forgets a slow hour. */
const SAMPLES = 32;
const PERCENTILE = 0.95;
const HEADROOM = 2;

export class CollectorHealth {
  readonly #limits: BudgetLimits;
  readonly #samples: number[] = [];
  #next = 0;
  #state: CollectorState = 'unknown';
  /** The budget a held export outlived: a lower bound of its time, if it then succeeds. */
  #outlivedMs: number | undefined;

  constructor(limits: BudgetLimits) {
    this.#limits = limits;
  }

  get state(): CollectorState {
    return this.#state;
  }

  /** How long to hold an invocation for an export now. */
  budgetMs(): number {
    const { initialMs, floorMs, capMs } = this.#limits;
    if (this.#samples.length === 0) return Math.min(initialMs, capMs);
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const p = sorted[Math.min(sorted.length - 1, Math.floor(PERCENTILE * sorted.length))]!;
    return Math.min(capMs, Math.max(floorMs, HEADROOM * p));
  }

  /** An export was accepted; `latencyMs` is how long it took, undefined if a freeze may have come between. */
  succeeded(latencyMs: number | undefined): void {
    this.#state = 'healthy';
    // An export that outlived its budget and finished after a freeze took at
    // least that budget: as a sample, it doubles the next budget, so a slow
    // but working collector earns (within the cap) the time it needs.
    const sample = latencyMs ?? this.#outlivedMs;
    this.#outlivedMs = undefined;
    if (sample === undefined) return;
    if (this.#samples.length < SAMPLES) this.#samples.push(sample);
    else this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % SAMPLES;
  }

  /** The collector refused, failed or timed out an export. Returns true when this starts an outage. */
  failed(): boolean {
    this.#outlivedMs = undefined;
    const wasFailing = this.#state === 'failing';
    this.#state = 'failing';
    return !wasFailing;
  }

  /**
   * A hold ended before the export did. Only a budget the collector itself
   * outlived makes it suspect: a hold cut short by the invocation's deadline
   * says nothing about the collector. Returns true when this made it suspect.
   */
  holdExpired(cutByDeadline: boolean, budgetMs: number): boolean {
    if (cutByDeadline || (this.#state !== 'healthy' && this.#state !== 'unknown')) return false;
    this.#state = 'suspect';
    this.#outlivedMs = budgetMs;
    return true;
  }
}

/**
 * Time, and how often the environment may have been frozen. Between asking for
 * the next event and getting it, Lambda may freeze the environment: an export
 * that spans a freeze says how long the freeze lasted, not how fast the
 * collector is, so only exports that finish before the next freeze teach the budget.
 */
export class LifecycleClock {
  readonly #now: () => number;
  #mayBeFrozen = false;
  #freezes = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  now(): number {
    return this.#now();
  }

  /** Between asking for the next event and getting it. */
  get mayBeFrozen(): boolean {
    return this.#mayBeFrozen;
  }

  /** How many times the extension has asked for its next event so far. */
  get freezes(): number {
    return this.#freezes;
  }

  /** The extension is about to ask for its next event: Lambda may freeze us from here. */
  mayFreeze(): void {
    if (this.#mayBeFrozen) return;
    this.#mayBeFrozen = true;
    this.#freezes++;
  }

  /** An event arrived: we run again. */
  running(): void {
    this.#mayBeFrozen = false;
  }
}
