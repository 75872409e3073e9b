// Order statistics over timing samples. Percentiles interpolate linearly
// between the two nearest ranks (numpy's default), so a p99 over 2000 cycles
// sits between the 20th and 21st slowest rather than jumping from one to the other.

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Collects samples (ms) without boxing them: a run keeps a few hundred thousand. */
export class Samples {
  #values: Float64Array;
  #length = 0;

  constructor(capacity = 1024) {
    this.#values = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  add(value: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = value;
  }

  summary(): Summary {
    return summarize(this.#values.subarray(0, this.#length));
  }
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return { n: 0, p50: NaN, p99: NaN, min: NaN, max: NaN };
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** `sorted` ascending; q in [0, 1]. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const rank = (sorted.length - 1) * q;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

export function median(values: ArrayLike<number>): number {
  return summarize(values).p50;
}
