// Diagnostic preload for `SOAK_DIAGNOSE` runs only (never in the shipped
// launcher): on SIGUSR2 the extension appends one JSON line to
// $SOAK_PROBE_DIR/<pid>.jsonl with V8's heap figures and where resident memory
// sits, as they are, and, when asked, after a full collection (what is
// retained) or with a heap snapshot. CommonJS because it is
// loaded with `node -r` before the bundle. SOAK_PROBE_V8_FLAGS (comma-separated)
// are set once the bundle has loaded, as a heap policy set at run time would be,
// to try one before it goes into the extension.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const dir = process.env.SOAK_PROBE_DIR;
const flags = process.env.SOAK_PROBE_V8_FLAGS;
if (flags) setTimeout(() => { for (const flag of flags.split(',')) v8.setFlagsFromString(flag); }, 0);

if (dir) {
  const out = path.join(dir, `${process.pid}.jsonl`);
  // Full collections since the last line (V8's own timing): what a pause of the extension costs.
  let majors = [];
  const { PerformanceObserver, constants } = require('node:perf_hooks');
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail && entry.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(Math.round(entry.duration * 10) / 10);
  }).observe({ entryTypes: ['gc'] });
  const figures = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  // Where resident memory sits: glibc's main arena ([heap]), other anonymous
  // mappings (V8's pages, thread arenas, big malloc chunks), mapped files.
  const residentKiB = () => {
    const out = { brkHeap: 0, otherAnon: 0, file: 0 };
    let kind = 'file';
    for (const line of fs.readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) kind = head[1] === '[heap]' ? 'brkHeap' : head[1] === '' || head[1].startsWith('[anon') ? 'otherAnon' : 'file';
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) out[kind] += Number(rss[1]);
    }
    return out;
  };
  // $SOAK_PROBE_DIR/<pid>.request (JSON, written by the soak before the signal) says what to do
  // beyond reading: { gc: true } collects garbage after the reading (what is retained), and
  // { snapshot: path } writes a heap snapshot there (which collects first). Without gc nothing
  // is collected, so the next reading is the extension's own.
  process.on('SIGUSR2', () => {
    const before = { ...figures(), resident: residentKiB(), majorGcMs: majors };
    majors = [];
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    const requestFile = path.join(dir, `${process.pid}.request`);
    const request = fs.existsSync(requestFile) ? JSON.parse(fs.readFileSync(requestFile, 'utf8')) : {};
    let afterGc;
    if (request.snapshot) {
      v8.writeHeapSnapshot(request.snapshot);
      afterGc = figures();
    } else if (request.gc) {
      globalThis.gc();
      afterGc = figures();
    }
    if (!request.release) {
      fs.appendFileSync(out, JSON.stringify({ request, before, spaces, afterGc }) + '\n');
      return;
    }
    // { release: 'minor' | 'major' | 'last-resort' }: that collection, timed, then the figures
    // 500 ms later (V8 and glibc free some memory on background threads): what it gives back.
    const started = process.hrtime.bigint();
    globalThis.gc(request.release === 'minor' ? { type: 'minor' } : request.release === 'last-resort' ? { type: 'major', flavor: 'last-resort' } : { type: 'major' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    setTimeout(() => {
      const released = { ...figures(), resident: residentKiB(), ms };
      fs.appendFileSync(out, JSON.stringify({ request, before, spaces, afterGc, released }) + '\n');
    }, 500);
  });
}
