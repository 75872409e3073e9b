// A byte relay the tests can cut and restore, to play an upstream that goes away.

import net from 'node:net';

export class TcpRelay {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #seen = '';
  #markers: { marker: string; resolve: () => void }[] = [];
  #server: net.Server | undefined;
  port = 0;

  constructor(target: string) {
    const [host, port] = target.split(':');
    this.#target = { host: host!, port: Number(port) };
  }

  async start(port = 0): Promise<void> {
    const server = net.createServer((inbound) => {
      this.accepted++;
      const outbound = net.connect(this.#target);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => { inbound.destroy(); outbound.destroy(); });
      }
      inbound.on('data', (chunk: Buffer) => this.#saw(chunk));
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Resolves once `marker` has passed through towards the target (it may span chunks). */
  waitForBytes(marker: string): Promise<void> {
    if (this.#seen.includes(marker)) return Promise.resolve();
    return new Promise((resolve) => this.#markers.push({ marker, resolve }));
  }

  #saw(chunk: Buffer): void {
    // Only the tail is kept: enough for a marker split across two chunks.
    this.#seen = (this.#seen + chunk.toString('latin1')).slice(-4096);
    this.#markers = this.#markers.filter(({ marker, resolve }) => {
      if (!this.#seen.includes(marker)) return true;
      resolve();
      return false;
    });
  }

  /** Connections accepted so far (each is one upstream connection of the proxy). */
  accepted = 0;

  /**
   * Resets (TCP RST) every connection but keeps listening: connections that
   * died under the proxy while it could not notice (a freeze, a snapshot restore).
   */
  resetAll(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /** Stops listening and cuts every connection: the upstream is gone. */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server = undefined;
  }
}
