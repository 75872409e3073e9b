// A way to collect V8's young generation on demand, for the proxy to call after each 4 MiB it relays
// (runtime-api-proxy.ts #relayed says why). Node exposes `gc` only under `--expose-gc`, and any V8
// flag on node's command line costs ~15-20 ms of start-up on every cold start (it invalidates the
// code cache of Node's own modules: make bench, "Start-up"). So the flag is set once node is up, and
// the function is taken from a fresh context, where V8 installs it. Undefined if that fails: the
// proxy then relays as before, only with more garbage resident.

// node:v8 and node:vm are taken when the collector is made, not when this file loads, and main.ts
// makes it only when first asked for (collectorsOnDemand): making it costs ~2 ms and leaves a context,
// node:vm and their pages of the Node binary resident, ~0.3 MiB (test/bench/idle-breakdown.ts, tracing
// on and off alike), which a function whose events and responses stay under 4 MiB never needs.

export type CollectYoungGeneration = () => void;

/** V8's `gc` as its gc extension installs it: the options say which collection. */
export type CollectGarbage = (options: { type: 'minor' | 'major'; flavor?: 'regular' | 'last-resort' }) => void;

export function youngGenerationCollector(gc: CollectGarbage | undefined = garbageCollector()): CollectYoungGeneration | undefined {
  return gc && (() => { gc({ type: 'minor' }); });
}

/** V8's `gc`, taken from a fresh context made while --expose-gc was on; undefined if that fails. */
export function garbageCollector(): CollectGarbage | undefined {
  try {
    const v8 = process.getBuiltinModule('node:v8');
    v8.setFlagsFromString('--expose-gc');
    let gc: unknown;
    try {
      gc = process.getBuiltinModule('node:vm').runInNewContext('gc');
    } finally {
      // Back to the flags Node started with: V8 checks them against those of Node's built-in code
      // cache, and while they differ every Node module loaded from then on (node:https, tls and
      // crypto at the first export to an https collector, say) is compiled from scratch: http, zlib,
      // dns, cluster and https took 16-20 ms instead of 6-7. The context keeps its `gc`.
      v8.setFlagsFromString('--no-expose-gc');
    }
    return typeof gc === 'function' ? gc as CollectGarbage : undefined;
  } catch {
    return undefined;
  }
}

/** V8's gc and the young-generation collector, both made the first time either is called, once. */
export interface CollectorsOnDemand {
  readonly collectYoung: CollectYoungGeneration;
  readonly collectGarbage: CollectGarbage;
}

/**
 * Collectors made when first used: the proxy's first 4 MiB relayed, or a quiet spell on Managed
 * Instances. No event, and so no large body, reaches the proxy before Init is over, so they are
 * never made during it. A Node that gives no gc is asked once; the calls then do nothing.
 */
export function collectorsOnDemand(make: () => CollectGarbage | undefined = garbageCollector): CollectorsOnDemand {
  let made: { gc: CollectGarbage | undefined; young: CollectYoungGeneration | undefined } | undefined;
  const collectors = () => {
    if (!made) {
      const gc = make();
      made = { gc, young: gc && youngGenerationCollector(gc) };
    }
    return made;
  };
  return {
    collectYoung: () => collectors().young?.(),
    collectGarbage: (options) => collectors().gc?.(options),
  };
}
