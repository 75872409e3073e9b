// Preloaded into an extension by footprint.ts --gc (`node --require`): tallies the garbage
// collections V8 reports (PerformanceObserver 'gc' entries: kind, forced or not, duration) and
// writes them as JSON to $GC_PROBE_OUT when the process exits. Observing costs a little; the
// tally is for counting collections and comparing their cost between variants, not for latency.
'use strict';
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const out = process.env.GC_PROBE_OUT;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
/** Why V8 collected, when it says (flags of the entry). */
const REASONS = [
  [constants.NODE_PERFORMANCE_GC_FLAGS_FORCED, 'forced'],
  [constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY, 'external memory'],
  [constants.NODE_PERFORMANCE_GC_FLAGS_SCHEDULE_IDLE, 'idle'],
  [constants.NODE_PERFORMANCE_GC_FLAGS_ALL_AVAILABLE_GARBAGE, 'all garbage'],
];
const tally = {};
if (out) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { kind, flags = 0 } = entry.detail ?? {};
      const reasons = REASONS.filter(([flag]) => flags & flag).map(([, name]) => name);
      const key = `${KINDS[kind] ?? kind}${reasons.length ? ` (${reasons.join(', ')})` : ''}`;
      const t = tally[key] ??= { n: 0, ms: 0 };
      t.n++;
      t.ms += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', () => writeFileSync(out, JSON.stringify(tally)));
}
