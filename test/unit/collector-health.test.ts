import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectorHealth, LifecycleClock } from '../../src/export/collector-health.ts';

const limits = { initialMs: 500, floorMs: 100, capMs: 2000 };

test('before any answer the budget is the initial one', () => {
  assert.equal(new CollectorHealth(limits).budgetMs(), 500);
  assert.equal(new CollectorHealth({ ...limits, capMs: 300 }).budgetMs(), 300, 'never above the cap');
});

test('the budget is twice the 95th percentile of export times, within floor and cap', () => {
  const h = new CollectorHealth(limits);
  for (let i = 0; i < 31; i++) h.succeeded(60);
  h.succeeded(900);
  assert.equal(h.budgetMs(), 120, 'one slow export in 32 is above the p95');
  h.succeeded(900);
  assert.equal(h.budgetMs(), 1800, 'two are not');
  const fast = new CollectorHealth(limits);
  fast.succeeded(2);
  assert.equal(fast.budgetMs(), 100, 'floor');
  const slow = new CollectorHealth(limits);
  slow.succeeded(5000);
  assert.equal(slow.budgetMs(), 2000, 'cap');
});

test('old samples are forgotten: the budget follows a collector that became fast', () => {
  const h = new CollectorHealth(limits);
  for (let i = 0; i < 32; i++) h.succeeded(800);
  for (let i = 0; i < 32; i++) h.succeeded(60);
  assert.equal(h.budgetMs(), 120);
});

test('a hold cut short by the invocation deadline does not make a healthy collector suspect', () => {
  const h = new CollectorHealth(limits);
  h.succeeded(60);
  assert.equal(h.holdExpired(true, 120), false);
  assert.equal(h.state, 'healthy');
});

test('a collector that outlives its budget is suspect until an export succeeds', () => {
  const h = new CollectorHealth(limits);
  h.succeeded(60);
  assert.equal(h.holdExpired(false, 120), true);
  assert.equal(h.state, 'suspect');
  h.succeeded(undefined);
  assert.equal(h.state, 'healthy');
});

test('a failure starts an outage once; a success ends it', () => {
  const h = new CollectorHealth(limits);
  assert.equal(h.failed(), true);
  assert.equal(h.failed(), false);
  assert.equal(h.state, 'failing');
  assert.equal(h.holdExpired(false, 120), false, 'failing stays failing');
  h.succeeded(undefined);
  assert.equal(h.state, 'healthy');
});

test('the clock counts each ask for the next event once, until an event arrives', () => {
  let now = 0;
  const c = new LifecycleClock(() => now);
  assert.equal(c.mayBeFrozen, false);
  c.mayFreeze();
  c.mayFreeze();
  assert.equal(c.freezes, 1);
  assert.equal(c.mayBeFrozen, true);
  now = 10;
  c.running();
  assert.equal(c.mayBeFrozen, false);
  c.mayFreeze();
  assert.equal(c.freezes, 2);
  assert.equal(c.now(), 10);
});

test('a slow collector earns its time: an export that outlived its budget and then succeeded doubles the budget, up to the cap', () => {
  const h = new CollectorHealth(limits);
  const budgets = [h.budgetMs()];
  for (let i = 0; i < 4; i++) {
    h.holdExpired(false, h.budgetMs());
    h.succeeded(undefined);
    budgets.push(h.budgetMs());
  }
  assert.deepEqual(budgets, [500, 1000, 2000, 2000, 2000]);
});

test('an export that outlived its budget and then failed teaches nothing', () => {
  const h = new CollectorHealth(limits);
  h.holdExpired(false, 500);
  h.failed();
  h.succeeded(undefined);
  assert.equal(h.budgetMs(), 500);
});
