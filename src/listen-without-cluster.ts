// Listening without node:cluster. net.Server#listen loads node:cluster first, whatever it is given,
// to ask whether this process is a cluster worker, and cluster brings child_process, dgram and dns
// along. Every Node module compiled at run time reads its whole source (V8 hashes it) and its code
// cache out of the Node binary, and the kernel maps 64 KiB of the binary around each page read: at
// idle those modules held 0.28 MiB of the binary's resident pages with tracing on, 0.56 off (the
// proxy's listener and the Telemetry API's both listen; test/bench/idle-breakdown.ts --binary says
// which module holds what). We are never a cluster worker, and what listen() does in a primary, once
// the address is known, is call the server's `_listen2` (net.js's setupListenHandle, under the name
// Node keeps for code that wraps it): so we call that. A Node without it, or a host name to resolve
// first, goes through listen() as before.

import { isIP, type AddressInfo, type Server } from 'node:net';

/** net.js's setupListenHandle, as listen() calls it in a cluster primary once the address is known. */
type SetupListenHandle = (this: Server, address: string | null, port: number | null, addressType: number | null, backlog: number | undefined, fd?: number) => void;

export type ListenOptions = { readonly port: number; readonly host: string } | { readonly fd: number };

/** What `server.address()` gives: a TCP address, a pipe's path, or null once closed. */
export type ListenAddress = AddressInfo | string | null;

/**
 * Listens as `server.listen(options)` does, without loading node:cluster; resolves with the address
 * it listens on, or rejects with the error listen() would have emitted.
 */
export function listenWithoutCluster(server: Server, options: ListenOptions): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = () => {
      server.off('error', reject);
      resolve(server.address());
    };
    const setup = (server as Server & { _listen2?: unknown })._listen2;
    const family = 'fd' in options ? 0 : isIP(options.host);
    if (typeof setup !== 'function' || ('host' in options && family === 0)) {
      server.listen(options, onListening);
      return;
    }
    server.once('listening', onListening);
    // The arguments listen() passes for a descriptor, and for a port once it has looked the address up.
    if ('fd' in options) (setup as SetupListenHandle).call(server, null, null, null, undefined, options.fd);
    else (setup as SetupListenHandle).call(server, options.host, options.port, family, undefined);
  });
}
