// Finds the extension process of a sandbox from outside: the node process
// running extension.cjs whose environment has the proxy's port. For tests and
// the soak run, which read its /proc entries or signal it. And what it listens
// on, from the kernel's socket tables.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

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

export interface ListeningSocket {
  /** `tcp` or `tcp6`. */
  readonly table: string;
  /** The local address as the kernel writes it (127.0.0.1 is 0100007F). */
  readonly address: string;
  readonly port: number;
  /** The process's descriptor for it. */
  readonly fd: number;
}

/** Listening TCP sockets of `pid`, read from /proc (its descriptors, and its network namespace's socket tables). */
export function listeningSockets(pid: number): ListeningSocket[] {
  const fds = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) fds.set(m[1]!, Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  const found: ListeningSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const fd = fds.get(f[9] ?? '');
      if (f.length < 10 || f[3] !== '0A' || fd === undefined) continue; // 0A = LISTEN
      const [address, port] = f[1]!.split(':');
      found.push({ table, address: address!, port: parseInt(port!, 16), fd });
    }
  }
  return found;
}
