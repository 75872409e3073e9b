import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processClock } from '../../src/process-clock.ts';

test('the process clock: milliseconds since the process started, monotonic and finer than 1 ms, on the wall clock', () => {
  const clock = processClock();
  const uptimeMs = process.uptime() * 1000;
  const first = clock.now();
  assert.ok(Math.abs(first - uptimeMs) < 5, `now() ${first} ms, process.uptime() ${uptimeMs} ms`);
  let last = first;
  const seen = new Set<number>();
  const until = Date.now() + 3;
  while (Date.now() < until) {
    const t = clock.now();
    assert.ok(t >= last, `now() went back from ${last} to ${t}`);
    last = t;
    seen.add(t);
  }
  // Three milliseconds read many times over: far more distinct readings than whole milliseconds.
  assert.ok(seen.size > 10, `only ${seen.size} distinct readings in 3 ms`);
  const drift = clock.timeOrigin + clock.now() - Date.now();
  assert.ok(Math.abs(drift) <= 2, `timeOrigin + now() is ${drift} ms off Date.now()`);
  assert.ok(Object.isFrozen(clock));
});
