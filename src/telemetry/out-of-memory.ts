// Out-of-memory, as each runtime shows it. Published experience (DataDog's
// extension, PRs #776 and #1241, issue #1237) and what we see in the sandbox:
// - Python, Ruby: platform.runtimeDone `errorType: "Runtime.OutOfMemory"`.
// - Java, .NET (and Python's MemoryError, Ruby's NoMemoryError when caught):
//   the runtime posts the exception class through /error.
// - Node.js: V8 prints "JavaScript heap out of memory" and aborts, or the kernel
//   kills it ("Runtime exited with error: signal: killed" in the function log);
//   runtimeDone only says Runtime.ExitError.
// - Go (and some Node.js cases): nothing but `maxMemoryUsedMB == memorySizeMB`
//   in platform.report, which arrives after the span left: the metric says it.
// One invocation is one out-of-memory however many of these agree.

/** The `error.type` every out-of-memory invocation gets, whatever the evidence. */
export const OUT_OF_MEMORY_ERROR_TYPE = 'Runtime.OutOfMemory';

export type OutOfMemoryEvidence = 'runtime-done' | 'posted-error' | 'function-log' | 'memory-limit';

/** Exception classes runtimes post when they ran out of memory. */
const OUT_OF_MEMORY_TYPES = /(^|\.)(OutOfMemoryError|OutOfMemoryException|MemoryError|NoMemoryError)$/;

/** Lines runtimes (and Lambda, for a killed runtime) write when memory ran out. */
const OUT_OF_MEMORY_LINES = [
  'JavaScript heap out of memory', // Node.js (V8)
  'Runtime exited with error: signal: killed', // any runtime killed by the kernel (Lambda's own line)
  'fatal error: runtime: out of memory', // Go
  'java.lang.OutOfMemoryError', // Java
  'OutOfMemoryException', // .NET
  'failed to allocate memory (NoMemoryError)', // Ruby
  'MemoryError', // Python
];

export function isOutOfMemoryErrorType(errorType: string | undefined): boolean {
  return errorType !== undefined && (errorType === OUT_OF_MEMORY_ERROR_TYPE || OUT_OF_MEMORY_TYPES.test(errorType));
}

export function isOutOfMemoryLine(text: string): boolean {
  return OUT_OF_MEMORY_LINES.some((marker) => text.includes(marker));
}

/** platform.report alone: the invocation failed with its memory full. */
export function reportShowsOutOfMemory(status: string | undefined, maxMemoryUsedMb: number | undefined, memorySizeMb: number | undefined): boolean {
  return status !== undefined && status !== 'success'
    && maxMemoryUsedMb !== undefined && memorySizeMb !== undefined && maxMemoryUsedMb >= memorySizeMb;
}
