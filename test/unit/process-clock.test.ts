import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processClock } from '../../src/process-clock.ts';

test('the process clock: milliseconds since the process started, monotonic and finer than 1 ms, on the wall clock', () => {
  const clock = processClock();
  const uptimeMs = process.uptime() * 1000;
  const first = clock.now();
  assert.ok(Math.abs(first - uptimeMs) < 5, `now() ${first} ms, process.uptime() ${uptimeMs} ms`);
  // Read until 50 distinct values (or a second, on a machine that deschedules us): never backwards,
  // and some successive readings closer than a tenth of a millisecond.
  let last = first;
  let distinct = 0;
  let finest = Infinity;
  const giveUpAt = first + 1000;
  while (distinct < 50 && last < giveUpAt) {
    const t = clock.now();
    assert.ok(t >= last, `now() went back from ${last} to ${t}`);
    if (t > last) {
      distinct++;
      finest = Math.min(finest, t - last);
    }
    last = t;
  }
  assert.equal(distinct, 50, `only ${distinct} distinct readings in a second`);
  assert.ok(finest < 0.1, `successive readings ${finest} ms apart at the closest: not finer than 1 ms`);
  const drift = clock.timeOrigin + clock.now() - Date.now();
  assert.ok(Math.abs(drift) <= 2, `timeOrigin + now() is ${drift} ms off Date.now()`);
  assert.ok(Object.isFrozen(clock));
});
