// A way to collect V8's young generation on demand, for the proxy to call after each MiB it relays
// (runtime-api-proxy.ts #relayed says why). Node exposes `gc` only under `--expose-gc`, and any V8
// flag on node's command line costs ~15-20 ms of start-up on every cold start (it invalidates the
// code cache of Node's own modules: make bench, "Start-up"). So the flag is set once node is up, and
// the function is taken from a fresh context, where V8 installs it. Undefined if that fails: the
// proxy then relays as before, only with more garbage resident.

import v8 from 'node:v8';
import vm from 'node:vm';

export type CollectYoungGeneration = () => void;

export function youngGenerationCollector(): CollectYoungGeneration | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    if (typeof gc !== 'function') return undefined;
    return () => { (gc as (options: { type: 'minor' }) => void)({ type: 'minor' }); };
  } catch {
    return undefined;
  }
}
