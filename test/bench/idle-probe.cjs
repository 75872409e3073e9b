// Preloaded into an extension by idle-breakdown.ts --probe (`node --require`): on SIGUSR2 writes
// one JSON file ($IDLE_PROBE_OUT) with V8's heap spaces (committed, used, physical), its code
// statistics, the Node modules and bindings loaded so far, and the active handles, as they are:
// nothing is collected. node:v8 is required only then, so the reading does not change what
// the extension loaded before it.
'use strict';
const out = process.env.IDLE_PROBE_OUT;
if (out) {
  process.on('SIGUSR2', () => {
    const v8 = require('node:v8');
    const { writeFileSync, renameSync } = require('node:fs');
    // IDLE_PROBE_SNAPSHOT: also a heap snapshot there (it collects garbage first: after the figures).
    const snapshotAt = process.env.IDLE_PROBE_SNAPSHOT;
    const spaces = v8.getHeapSpaceStatistics().map((s) => ({
      name: s.space_name, size: s.space_size, used: s.space_used_size, physical: s.physical_space_size,
    }));
    // Written aside, then renamed: idle-breakdown.ts reads the file as soon as it exists.
    writeFileSync(`${out}.tmp`, JSON.stringify({
      heap: v8.getHeapStatistics(),
      code: v8.getHeapCodeStatistics(),
      spaces,
      memory: process.memoryUsage(),
      modules: process.moduleLoadList,
      handles: process.getActiveResourcesInfo(),
    }));
    renameSync(`${out}.tmp`, out);
    if (snapshotAt) v8.writeHeapSnapshot(snapshotAt);
  });
}
