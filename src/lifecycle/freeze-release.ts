// On demand: memory given back before a freeze, when an invocation left much of it behind.
//
// Lambda freezes an on-demand environment as soon as the runtime and every extension are back in
// /next, and what the extension holds then stays resident, counted against the function's memory,
// through the freeze and into the next invocation: V8 collects only when its own heap asks for it,
// never because the function next to it needs memory. A 6 MB event or a 1 MB error cause leaves
// several MiB of garbage and of heap pages V8 grew into; the soak's quiet readings on demand swung
// with whatever the last invocations were (66.6-72.1 MB, 8.3 %), while on Managed Instances, where
// quiet-release.ts gives memory back between bursts, they stayed within 2.8 %.
//
// So at the end of an invocation, before /event/next, the heap V8 holds (resident pages and the
// external memory of Buffers) is compared with what it held after the last release: grown by more
// than SLACK_BYTES, one memory-reducing collection runs (the caller's `release`, V8's "last
// resort", as on Managed Instances). It is billed: the invocation's response has already reached
// Lambda, but the environment is held for the collection (10-20 ms on the soak's shared machine).
// Only invocations that left megabytes behind pay it; the check itself costs a few microseconds
// (v8.getHeapStatistics). Where the heap shrank on its own, that is the new reference.

/** Growth since the last release that makes an invocation's end give memory back. */
export const SLACK_BYTES = 3 * 1024 * 1024;

export interface FreezeReleaseOptions {
  /** What V8 holds now that a collection can give back: resident heap pages and external memory. */
  readonly held: () => number;
  /** The collection that gives memory back. */
  readonly release: () => void;
  readonly slackBytes?: number;
}

export class FreezeRelease {
  readonly #o: FreezeReleaseOptions;
  /** What V8 held after the last release (or its lowest since); first, when made (Init done). */
  #reference: number;

  constructor(options: FreezeReleaseOptions) {
    this.#o = options;
    this.#reference = options.held();
  }

  /** An invocation has ended and the environment may freeze next: give memory back if it grew. Whether it did. */
  beforeFreeze(): boolean {
    const held = this.#o.held();
    if (held < this.#reference) {
      this.#reference = held;
      return false;
    }
    if (held - this.#reference <= (this.#o.slackBytes ?? SLACK_BYTES)) return false;
    this.#o.release();
    this.#reference = this.#o.held();
    return true;
  }
}

/** What V8 holds that a collection can give back: its heap's resident pages and the external memory of Buffers. */
export function heldByV8(): number {
  const stats = process.getBuiltinModule('node:v8').getHeapStatistics();
  return stats.total_physical_size + stats.external_memory;
}
