// On demand: an invocation that left V8 holding more than the slack above the last release gives
// it back before the freeze; others pay nothing. Against fakes for the rule, and against this
// process's own V8 for what the collection really gives back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FreezeRelease, heldByV8 } from '../../src/lifecycle/freeze-release.ts';
import { garbageCollector } from '../../src/proxy/young-generation.ts';

const MiB = 1024 * 1024;

function fake(start: number) {
  const state = { held: start, released: 0, leftAfterRelease: start };
  const release = new FreezeRelease({
    held: () => state.held,
    release: () => { state.released++; state.held = state.leftAfterRelease; },
    slackBytes: 3 * MiB,
  });
  return { release, state };
}

test('an invocation that left less than the slack behind pays nothing', () => {
  const { release, state } = fake(20 * MiB);
  state.held = 23 * MiB;
  assert.equal(release.beforeFreeze(), false);
  assert.equal(state.released, 0);
});

test('one that left more is collected once, and the next compares with what the collection left', () => {
  const { release, state } = fake(20 * MiB);
  state.held = 27 * MiB;
  state.leftAfterRelease = 21 * MiB;
  assert.equal(release.beforeFreeze(), true);
  assert.equal(state.released, 1);
  assert.equal(state.held, 21 * MiB);
  state.held = 23.5 * MiB; // 2.5 MiB over what the release left: within the slack.
  assert.equal(release.beforeFreeze(), false);
  state.held = 24.5 * MiB;
  assert.equal(release.beforeFreeze(), true);
  assert.equal(state.released, 2);
});

test('a heap that shrank on its own is the new reference', () => {
  const { release, state } = fake(20 * MiB);
  state.held = 15 * MiB;
  assert.equal(release.beforeFreeze(), false);
  state.held = 19 * MiB; // Below the first reference plus slack, but 4 MiB over the lowest seen.
  assert.equal(release.beforeFreeze(), true);
});

test('in this process\'s V8: garbage of several MiB left by an "invocation" is given back before the freeze', () => {
  const gc = garbageCollector();
  assert.ok(gc, 'V8 gives its gc at run time (young-generation.ts)');
  gc({ type: 'major', flavor: 'last-resort' });
  const release = new FreezeRelease({ held: heldByV8, release: () => gc({ type: 'major', flavor: 'last-resort' }) });
  // What relaying a big body leaves: Buffers and strings nobody refers to any more.
  let garbage: unknown[] | undefined = [];
  for (let i = 0; i < 64; i++) garbage.push(Buffer.alloc(128 * 1024, i), 'x'.repeat(64 * 1024) + String(i));
  garbage = undefined;
  const before = heldByV8();
  assert.equal(release.beforeFreeze(), true, `held ${(before / MiB).toFixed(1)} MiB`);
  const after = heldByV8();
  assert.ok(before - after > 6 * MiB, `gave back ${((before - after) / MiB).toFixed(1)} MiB (held ${(before / MiB).toFixed(1)} → ${(after / MiB).toFixed(1)})`);
  assert.equal(release.beforeFreeze(), false, 'nothing more to give back');
});
