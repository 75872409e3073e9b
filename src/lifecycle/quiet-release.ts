// Managed Instances: memory given back when traffic stops. Under traffic V8 keeps the pages its
// heap grew into (new space at up to 4 MiB, old-space pages, large strings such as 1 MB error-cause
// headers) until allocation forces the next collection; with no traffic nothing forces it, and an
// instance that serves a burst and then waits keeps that high-water mark resident, counted against
// the function's memory. So once no invocation has been running for QUIET_MS, one memory-reducing
// collection (the caller's `release`: V8's "last resort", which collects until nothing more is
// freed, then shrinks the new space and gives pages back) runs, once per quiet spell. A plain full
// collection is not enough: it frees the objects but V8 keeps the pages (heap committed 14.4 →
// 14.2 MiB, RSS unchanged); the memory-reducing one took it from 12-15 to 10-11 MiB, and the soak's
// quiet readings on Managed Instances from 67.8-75.6 MB (11.5 %) to 68.6-69.5 MB (1.3 %), the
// extension's CPU per invocation unchanged (5.66 → 5.48 ms), in one 8-minute A/B (BENCHMARKS.md).
//
// Only where the environment never freezes. On demand, Lambda freezes the environment as soon as
// the runtime and every extension are back in /next: a timer armed then fires at the next thaw,
// inside the next invocation, and its collection would add to that invocation's latency and bill.
// There, nothing is armed. Nor at the end of Init, once the warm-up export is done: that gave 0.9
// MiB back at idle (48.0 against 48.9 MiB, test/bench/telemetry-footprint.ts --samples 5), but the
// collection (and making V8's gc) still ran when Lambda handed out the first event, whose invoke
// took 12.8 ms longer (test/e2e/measure-cold-start.sh -n 20, same-round median, 2026-12-06).
//
// Steady traffic never goes quiet for QUIET_MS, so it pays one timer reset per invocation end.
// The collection runs between bursts, off every invocation's path; it pauses the extension for two
// full collections (17-53 ms on the soak's shared 2-core machine, V8's own timing), and an event
// that arrives in that moment waits for it: at most once per quiet spell.
//
// At most once per RELEASE_INTERVAL_MS, though: what a release really costs comes after it. It
// clears what V8's optimized code holds weakly, and 74-86 functions are deoptimized ("weak
// objects"), then optimized again over the next 500-1,000 invocations: 0.3-0.5 s of CPU, ten times
// the collection's own, taken from the invocations that follow (test/bench/concurrency.ts, 8 in
// flight, 1 KB; a bare node:http relay pays the same after a full collection). Traffic that pauses
// every few seconds would pay that after every pause, for memory it is about to use again. A
// quiet spell that comes sooner still gives memory back, once the interval is over.

/** How long no invocation must have been running before memory is given back. */
export const QUIET_MS = 1_000;
/** The least time between two releases: a pause sooner than this after the last one waits for it. */
export const RELEASE_INTERVAL_MS = 30_000;

export interface QuietReleaseOptions {
  /** Whether an invocation is running now (handed out, its post not yet taken). */
  readonly busy: () => boolean;
  /** The collection that gives memory back. */
  readonly release: () => void;
  readonly quietMs?: number;
  readonly intervalMs?: number;
  /** A monotonic clock in ms (performance.now). */
  readonly now?: () => number;
}

export class QuietRelease {
  readonly #o: QuietReleaseOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastRelease = -Infinity;

  constructor(options: QuietReleaseOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The last running invocation ended: give memory back if nothing runs for the quiet spell. */
  quiet(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const sinceRelease = this.#now() - this.#lastRelease;
    const wait = Math.max(this.#o.quietMs ?? QUIET_MS, (this.#o.intervalMs ?? RELEASE_INTERVAL_MS) - sinceRelease);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // An invocation that started during the spell and still runs ends with another quiet().
      if (this.#o.busy()) return;
      this.#lastRelease = this.#now();
      this.#o.release();
    }, wait);
    // Never what keeps the process alive at shutdown.
    this.#timer.unref();
  }
}
