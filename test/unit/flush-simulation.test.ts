// The flush path over simulated time (MockTimers, test/bench/flush-simulation.ts):
// deterministic, no wall-clock time is measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS, simulate, TRAFFIC } from '../bench/flush-simulation.ts';
import { INITIAL_BUDGET_MS } from '../../src/export/collector-health.ts';

const steady = TRAFFIC[0]!;
const byName = (name: string) => SCENARIOS.find((s) => s.name.startsWith(name))!;

test('a refusing collector holds no invocation: the warm-up found it down during Init', async () => {
  const f = await simulate(byName('refusing'), steady, 10);
  assert.equal(f.totalHoldMs, 0);
});

test('a never-answering collector holds the first invocation the initial budget, then none', async () => {
  const f = await simulate(byName('never'), steady, 10);
  assert.equal(f.firstHoldMs, INITIAL_BUDGET_MS);
  assert.equal(f.totalHoldMs, INITIAL_BUDGET_MS);
});

test('a collector that dies after answering in 60 ms holds one invocation its learned budget, no more', async () => {
  const f = await simulate(byName('healthy 60 ms, dies'), steady, 15);
  assert.ok(f.maxHoldMs <= 120, `max hold ${f.maxHoldMs} ms`);
});

test('at steady traffic the median invocation is not held, with a collector 60 ms away', async () => {
  const f = await simulate(byName('healthy, 60'), steady, 5);
  assert.equal(f.medianHoldMs, 0);
  assert.ok(f.exported + f.queuedAtEnd === f.invocations, 'every span exported or still queued');
});
