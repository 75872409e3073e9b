// Finds the extension process of a sandbox from outside: the node process
// running extension.cjs whose environment has the proxy's port. For tests and
// the soak run, which read its /proc entries or signal it.

import { readdirSync, readFileSync } from 'node:fs';

export function extensionPid(listenerPort: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('extension.cjs')) continue;
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(`LRAP_LISTENER_PORT=${listenerPort}`)) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no extension process listening on port ${listenerPort}`);
}
