/**
 * Wall-clock time in epoch milliseconds with sub-millisecond precision, so that
 * the arrival times of streamed chunks and lifecycle events can be ordered and
 * compared with `Lambda-Runtime-Deadline-Ms` (an epoch value).
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
