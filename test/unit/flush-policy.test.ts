import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADAPTIVE_MAX_DELAY_MS, ADAPTIVE_PERIOD_MS, decideAtEnd, exportAtStart, isSteady, STEADY_LOOKBACK, STEADY_MAX_GAP_MS,
  type FlushFacts,
} from '../../src/export/flush-policy.ts';

const ADAPTIVE = { kind: 'adaptive' } as const;
/** `n` invocation starts `gap` ms apart, the last at `now`. */
const starts = (n: number, gap: number, now: number) => Array.from({ length: n }, (_, i) => now - (n - 1 - i) * gap);

function facts(over: Partial<FlushFacts> = {}): FlushFacts {
  const now = 100_000;
  return {
    now, recentStarts: starts(STEADY_LOOKBACK, 40, now), lastExportAt: now - 1000, oldestQueuedAt: now - 5, queued: 1,
    queueCapacity: 2048, collector: 'healthy', exportInFlight: false, ...over,
  };
}

test('traffic is steady only after enough invocations, each close to the one before', () => {
  assert.equal(isSteady(starts(STEADY_LOOKBACK - 1, 40, 0)), false);
  assert.equal(isSteady(starts(STEADY_LOOKBACK, 40, 0)), true);
  assert.equal(isSteady(starts(STEADY_LOOKBACK, STEADY_MAX_GAP_MS, 0)), true);
  const withQuietSpell = [...starts(STEADY_LOOKBACK, 40, 0), STEADY_MAX_GAP_MS + 1];
  assert.equal(isSteady(withQuietSpell), false);
});

test('adaptive: the first invocations are flushed at their end', () => {
  for (let n = 1; n < STEADY_LOOKBACK; n++) {
    assert.equal(decideAtEnd(ADAPTIVE, facts({ recentStarts: starts(n, 40, 100_000) })), 'flush');
  }
});

test('adaptive: at steady traffic the end of an invocation is released, an export in flight or not', () => {
  assert.equal(decideAtEnd(ADAPTIVE, facts()), 'release');
  assert.equal(decideAtEnd(ADAPTIVE, facts({ exportInFlight: true })), 'release');
});

test('adaptive: the first invocation after a quiet spell is flushed at its end', () => {
  const now = 100_000;
  const recentStarts = [...starts(STEADY_LOOKBACK, 40, now - 60_000), now];
  assert.equal(decideAtEnd(ADAPTIVE, facts({ recentStarts })), 'flush');
});

test('adaptive: a queue half full, or a span waiting past the bound, is flushed even at steady traffic', () => {
  assert.equal(decideAtEnd(ADAPTIVE, facts({ queued: 1024 })), 'flush');
  assert.equal(decideAtEnd(ADAPTIVE, facts({ oldestQueuedAt: 100_000 - ADAPTIVE_MAX_DELAY_MS })), 'flush');
});

test('no mode holds an invocation for a collector that is failing or suspect', () => {
  for (const mode of [ADAPTIVE, { kind: 'end' } as const, { kind: 'periodic', intervalMs: 1 } as const]) {
    for (const collector of ['failing', 'suspect'] as const) {
      assert.equal(decideAtEnd(mode, facts({ collector, recentStarts: [100_000] })), 'release', `${mode.kind} ${collector}`);
    }
  }
});

test('a collector not heard from yet is held for (with the initial budget)', () => {
  assert.equal(decideAtEnd(ADAPTIVE, facts({ collector: 'unknown', recentStarts: [100_000] })), 'flush');
});

test('end: flush whenever spans are queued, else wait for an export in flight', () => {
  const end = { kind: 'end' } as const;
  assert.equal(decideAtEnd(end, facts()), 'flush');
  assert.equal(decideAtEnd(end, facts({ queued: 0, oldestQueuedAt: undefined, exportInFlight: true })), 'await-in-flight');
  assert.equal(decideAtEnd(end, facts({ queued: 0, oldestQueuedAt: undefined })), 'release');
});

test('periodic: flush only once the interval has passed since the last export', () => {
  const periodic = { kind: 'periodic', intervalMs: 1000 } as const;
  assert.equal(decideAtEnd(periodic, facts({ lastExportAt: 100_000 - 999 })), 'release');
  assert.equal(decideAtEnd(periodic, facts({ lastExportAt: 100_000 - 1000 })), 'flush');
});

test('shutdown: never hold, never export at start', () => {
  assert.equal(decideAtEnd({ kind: 'shutdown' }, facts()), 'release');
  assert.equal(exportAtStart({ kind: 'shutdown' }, facts({ oldestQueuedAt: 0 })), false);
});

test('adaptive: an invocation start exports spans that waited a period, or leftovers after a quiet spell', () => {
  assert.equal(exportAtStart(ADAPTIVE, facts()), false, 'young spans wait');
  assert.equal(exportAtStart(ADAPTIVE, facts({ oldestQueuedAt: 100_000 - ADAPTIVE_PERIOD_MS })), true);
  const afterQuiet = [...starts(STEADY_LOOKBACK, 40, 40_000), 100_000];
  assert.equal(exportAtStart(ADAPTIVE, facts({ recentStarts: afterQuiet })), true);
  assert.equal(exportAtStart(ADAPTIVE, facts({ oldestQueuedAt: 0, exportInFlight: true })), false, 'one export at a time');
  assert.equal(exportAtStart(ADAPTIVE, facts({ oldestQueuedAt: 0, collector: 'failing' })), false, 'retries own a failing collector');
  assert.equal(exportAtStart(ADAPTIVE, facts({ queued: 0, oldestQueuedAt: undefined, recentStarts: afterQuiet })), false);
});
