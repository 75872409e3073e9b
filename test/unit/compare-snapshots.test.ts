// The soak's snapshot comparison is how a leak is told from settling: it must
// count what a heap snapshot retains, by constructor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { byConstructor } from '../soak/compare-snapshots.ts';

class SoakProbeRetained {
  readonly n: number;
  constructor(n: number) { this.n = n; }
}

test('byConstructor counts the objects a snapshot retains, by constructor', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'snapshots-'));
  try {
    const held: SoakProbeRetained[] = [];
    const count = () => byConstructor(readFileSync(v8.writeHeapSnapshot(path.join(dir, `${held.length}.heapsnapshot`)), 'utf8')).get('object SoakProbeRetained')?.count ?? 0;
    const before = count();
    for (let i = 0; i < 500; i++) held.push(new SoakProbeRetained(i));
    assert.equal(count() - before, 500);
    held.length = 0;
    assert.equal(count(), before); // released: the snapshot collects first
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
