// Managed Instances: memory given back when traffic stops. Under traffic V8 keeps what its last
// collections left (promoted garbage, a grown heap, large strings such as 1 MB error-cause
// headers) until allocation forces the next one; with no traffic nothing forces it, and an
// environment that serves a burst and then waits keeps its high-water mark resident, counted
// against the function's memory. So once no invocation has been running for QUIET_MS, one
// collection that shrinks the heap (the caller's `release`) runs, once per quiet spell.
//
// Only where the environment never freezes. On demand, Lambda freezes the environment as soon
// as the runtime and every extension are back in /next: a timer armed then fires at the next
// thaw, inside the next invocation, and its collection would add to that invocation's latency
// and bill. There, nothing is armed.
//
// Steady traffic never goes quiet for QUIET_MS, so it pays nothing but one timer reset per
// invocation end; the collection runs between bursts, off every invocation's path (an event that
// arrives during it waits for it: measured in BENCHMARKS.md's soak section).

/** How long no invocation must have been running before memory is given back. */
export const QUIET_MS = 1_000;

export interface QuietReleaseOptions {
  /** Whether an invocation is running now (handed out, its post not yet taken). */
  readonly busy: () => boolean;
  /** The collection that gives memory back. */
  readonly release: () => void;
  readonly quietMs?: number;
}

export class QuietRelease {
  readonly #o: QuietReleaseOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: QuietReleaseOptions) {
    this.#o = options;
  }

  /** The last running invocation ended: give memory back if nothing runs for the quiet spell. */
  quiet(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // An invocation that started during the spell and still runs ends with another quiet().
      if (!this.#o.busy()) this.#o.release();
    }, this.#o.quietMs ?? QUIET_MS);
    // Never what keeps the process alive at shutdown.
    this.#timer.unref();
  }
}
