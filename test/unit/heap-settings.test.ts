// The heap fitted to an extension: under a steady stream of short-lived objects, some of which
// survive a while (what an invocation leaves until its span is exported), V8's young generation
// grows to its maximum (32-64 MiB here) unless the heap is told to favour size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { fitHeapToExtension } from '../../src/heap-settings.ts';

const MiB = 1024 * 1024;

test('once fitted, the young generation stays small under steady allocation with survivors', () => {
  fitHeapToExtension();
  const kept: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    kept.push({ i, s: `x${i}` });
    if (kept.length > 40_000) kept.splice(0, 20_000);
  }
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  assert.ok(newSpace, 'no new_space in V8 heap statistics');
  // Without the flags this loop leaves new_space at 64 MiB on this Node; fitted, 8 MiB.
  assert.ok(newSpace.space_size <= 16 * MiB, `new space ${newSpace.space_size / MiB} MiB`);
});
