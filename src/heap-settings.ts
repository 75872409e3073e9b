// V8's heap, fitted to an extension's life. V8 sizes it for a browser tab or a server with memory to
// spare: under steady traffic its young generation doubles up to 2 × 16 MiB and stays there, and
// the old generation fills with promoted garbage up to several times what is live. At 1,000
// invocations/s of 1 KB the extension peaked at ~125 MiB RSS for ~8 MiB of live heap
// (test/bench/footprint.ts), all of it counted against the function's memory.
//
// The sizes themselves (--max-semi-space-size) are read only when the isolate is created, and
// these flags on node's command line cost 8-20 ms of start-up: they change the flag hash V8 checks
// Node's code cache against, so Node's own modules compile from scratch (footprint.ts --startup,
// 2026-12-05: +8.4 ms to register, the same for --no-flush-bytecode alone; a heap-growth flag such
// as --semi-space-growth-factor cost nothing). `--optimize-for-size` is read by the heap at every
// collection instead: set at run time, it keeps the young generation small and the old
// generation's limit close to what is live. Its other effect, flushing bytecode after few
// collections, made every invocation recompile (+35 % CPU at 1 KB): `--no-flush-bytecode` keeps
// the bytecode, which is small and compiled once anyway for a process that runs the same code all
// its life.
//
// Set when the runtime gets its first event through the proxy, once the warm-up export has loaded
// what exporting needs (main.ts): node:v8 stays out of an environment not yet invoked, and as the
// flags then differ from those Node started with, a Node module loaded later would compile without
// Node's code cache (young-generation.ts says what that costs). Not free:
// 4-25 % more CPU per 1 KB cycle with tracing on, 9 % at 6 MB (test/bench/footprint.ts, same runs),
// against a 1 KB peak of 106-126 MiB without it (77-82 with it) and a soak that stays flat.

const HEAP_FLAGS = ['--optimize-for-size', '--no-flush-bytecode'] as const;

/** A Node whose V8 refuses the flags runs with V8's defaults. */
export function fitHeapToExtension(): void {
  try {
    const v8 = process.getBuiltinModule('node:v8');
    for (const flag of HEAP_FLAGS) v8.setFlagsFromString(flag);
  } catch {
    // V8's defaults: more memory, same behaviour.
  }
}
