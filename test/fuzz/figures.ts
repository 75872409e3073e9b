// The figures every fuzz file prints when it ends: how many cases ran, how many
// faults were injected, how many bytes were compared, and what failed, with the
// seed that reproduces the run (FUZZ_SEED).

import { SeededRandom } from '../support/seeded-random.ts';

export class FuzzFigures {
  readonly name: string;
  readonly random: SeededRandom;
  readonly #started = performance.now();
  cases = 0;
  faults = 0;
  bytesCompared = 0;
  readonly failures: string[] = [];

  /** `salt` gives each file its own stream from the one FUZZ_SEED. */
  constructor(name: string, salt: number) {
    this.name = name;
    const base = SeededRandom.fromEnv('FUZZ_SEED');
    this.random = new SeededRandom((base.seed ^ salt) >>> 0);
    this.seed = base.seed;
  }

  readonly seed: number;

  fail(what: string): void {
    this.failures.push(what);
  }

  /** Byte-for-byte comparison that counts what it compared. */
  same(actual: Buffer, expected: Buffer, what: string): boolean {
    this.bytesCompared += expected.length;
    if (actual.equals(expected)) return true;
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    this.fail(`${what}: ${actual.length} bytes, expected ${expected.length}; first difference at byte ${at}`);
    return false;
  }

  line(): string {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    return `fuzz ${this.name}: seed ${this.seed} (FUZZ_SEED=${this.seed} to repeat), ${this.cases} cases, ${this.faults} faults injected, ` +
      `${this.bytesCompared} bytes compared, ${this.failures.length} failures, ${seconds} s`;
  }

  /** Prints the figures and the first failures (each with enough to reproduce). */
  report(): void {
    console.log(this.line());
    for (const f of this.failures.slice(0, 20)) console.log(`  failure: ${f}`);
  }
}
