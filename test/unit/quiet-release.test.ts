// Managed Instances: memory is given back once traffic stops (one collection per quiet
// spell, at most one per interval), never while an invocation runs, and steady traffic never triggers it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuietRelease } from '../../src/lifecycle/quiet-release.ts';

function setUp(t: { mock: { timers: { enable(o: { apis: ['setTimeout', 'Date'] }): void; tick(ms: number): void } } }) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const state = { running: false, released: 0 };
  const release = new QuietRelease({
    busy: () => state.running, release: () => { state.released++; }, quietMs: 1_000, intervalMs: 30_000, now: () => Date.now(),
  });
  /** Invocations ending every 500 ms, `count` of them: traffic with no quiet spell in it. */
  const traffic = (count: number) => {
    for (let i = 0; i < count; i++) {
      release.quiet();
      t.mock.timers.tick(500);
    }
  };
  /** The first quiet spell, and its release. */
  const firstRelease = () => {
    release.quiet();
    t.mock.timers.tick(1_000);
    assert.equal(state.released, 1);
  };
  return { release, state, traffic, firstRelease };
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
  const { state, traffic } = setUp(t);
  traffic(50);
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

test('a pause soon after a release waits for the interval: traffic that pauses every few seconds is not made to pay again and again', (t) => {
  const { release, state, traffic, firstRelease } = setUp(t);
  firstRelease();
  // Traffic again 4 s later, for 5 s, then a 2 s pause: 10 s after the release, too soon.
  t.mock.timers.tick(4_000);
  traffic(10);
  release.quiet();
  t.mock.timers.tick(2_000);
  assert.equal(state.released, 1, 'no second release 10 s after the first');
  // The pause goes on: memory is given back once the interval is over, 30 s after the first release.
  t.mock.timers.tick(18_999);
  assert.equal(state.released, 1);
  t.mock.timers.tick(1);
  assert.equal(state.released, 2);
});

test('a pause that begins after the interval is over is released a quiet spell later, as the first one', (t) => {
  const { release, state, firstRelease } = setUp(t);
  firstRelease();
  t.mock.timers.tick(40_000);
  release.quiet();
  t.mock.timers.tick(999);
  assert.equal(state.released, 1);
  t.mock.timers.tick(1);
  assert.equal(state.released, 2);
});
