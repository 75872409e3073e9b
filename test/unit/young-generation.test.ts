// The proxy's young-generation collector: it must collect, and leave V8's flags
// as Node started with them (else Node's built-in code cache stops matching and
// every Node module loaded afterwards is compiled from scratch).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { collectorsOnDemand, garbageCollector, youngGenerationCollector, type CollectGarbage } from '../../src/proxy/young-generation.ts';

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

test('collectors on demand: nothing is made until one is called, then made once for both', () => {
  let made = 0;
  const calls: Parameters<CollectGarbage>[0][] = [];
  const collectors = collectorsOnDemand(() => { made++; return (options) => { calls.push(options); }; });
  assert.equal(made, 0);
  collectors.collectYoung();
  collectors.collectGarbage({ type: 'major', flavor: 'last-resort' });
  collectors.collectYoung();
  assert.equal(made, 1);
  assert.deepEqual(calls, [{ type: 'minor' }, { type: 'major', flavor: 'last-resort' }, { type: 'minor' }]);
});

test('collectors on demand from a Node that gives no gc: asked once, the calls do nothing', () => {
  let made = 0;
  const collectors = collectorsOnDemand(() => { made++; return undefined; });
  collectors.collectYoung();
  collectors.collectGarbage({ type: 'major' });
  collectors.collectYoung();
  assert.equal(made, 1);
});

test('collectors on demand, made by default from V8\'s gc: the first call collects', async () => {
  const collectors = collectorsOnDemand();
  await observed(constants.NODE_PERFORMANCE_GC_MINOR, collectors.collectYoung);
});
