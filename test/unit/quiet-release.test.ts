// Managed Instances: memory is given back once traffic stops (one collection per quiet
// spell), never while an invocation runs, and steady traffic never triggers it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuietRelease } from '../../src/lifecycle/quiet-release.ts';

function setUp(t: { mock: { timers: { enable(o: { apis: ['setTimeout'] }): void } } }) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const state = { running: false, released: 0 };
  const release = new QuietRelease({ busy: () => state.running, release: () => { state.released++; }, quietMs: 1_000 });
  return { release, state };
}

test('memory is given back once, a quiet spell after the last invocation ended', (t) => {
  const { release, state } = setUp(t);
  release.quiet();
  t.mock.timers.tick(999);
  assert.equal(state.released, 0);
  t.mock.timers.tick(1);
  assert.equal(state.released, 1);
  t.mock.timers.tick(10_000);
  assert.equal(state.released, 1, 'once per quiet spell');
});

test('invocations that keep ending within the spell put it off: steady traffic never pays for it', (t) => {
  const { release, state } = setUp(t);
  for (let i = 0; i < 50; i++) {
    release.quiet();
    t.mock.timers.tick(500);
  }
  assert.equal(state.released, 0);
  t.mock.timers.tick(500);
  assert.equal(state.released, 1);
});

test('nothing is collected while an invocation that started during the spell still runs', (t) => {
  const { release, state } = setUp(t);
  release.quiet();
  state.running = true;
  t.mock.timers.tick(1_000);
  assert.equal(state.released, 0);
  // Its end starts another spell.
  state.running = false;
  release.quiet();
  t.mock.timers.tick(1_000);
  assert.equal(state.released, 1);
});
