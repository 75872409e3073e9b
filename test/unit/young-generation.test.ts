// The proxy's young-generation collector: it must collect, and leave V8's flags
// as Node started with them (else Node's built-in code cache stops matching and
// every Node module loaded afterwards is compiled from scratch).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { garbageCollector, youngGenerationCollector } from '../../src/proxy/young-generation.ts';

/** Runs `collect` and resolves once V8 reports a collection of `kind`. */
async function observed(kind: number, collect: () => void): Promise<void> {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== undefined) kinds.push(kind);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    collect();
    // GC entries are delivered asynchronously: wait until ours is in.
    while (!kinds.includes(kind)) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    observer.disconnect();
  }
}

test('the collector runs minor collections, and --expose-gc is off again once it is made', async () => {
  const collect = youngGenerationCollector();
  assert.ok(collect, 'no collector');
  // A context made now gets no `gc`: the flag was set only for the collector's own context.
  assert.equal(vm.runInNewContext('typeof gc'), 'undefined');
  await observed(constants.NODE_PERFORMANCE_GC_MINOR, collect);
});

test('the same gc gives memory back on Managed Instances\' quiet spells: a full, memory-reducing collection', async () => {
  const gc = garbageCollector();
  assert.ok(gc, 'no gc');
  await observed(constants.NODE_PERFORMANCE_GC_MAJOR, () => gc({ type: 'major', flavor: 'last-resort' }));
});
