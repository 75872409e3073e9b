// A loopback relay in front of Lambda's API (the sandbox) that resets the
// connection of one chosen call at one chosen phase: as the request starts
// (nothing forwarded), halfway through the request, once the whole request went
// on but before any answer came back, or halfway through the answer. It sits
// between the proxy and the Runtime API (LRAP_RUNTIME_API_ENDPOINT), or in front
// of every API the processes call (the sandbox's `apiAddress`): Runtime API
// calls through the proxy and the extension's own Extensions API calls.

import net from 'node:net';

export type RuntimeCall = 'next' | 'response' | 'error' | 'init-error' | 'other'
  // The extension's own calls to the Extensions API.
  | 'register' | 'event-next' | 'extension-init-error' | 'exit-error';
export type ResetPhase = 'request-start' | 'mid-request' | 'before-answer' | 'mid-answer';
export const RESET_PHASES: readonly ResetPhase[] = ['request-start', 'mid-request', 'before-answer', 'mid-answer'];
/** A reset at one of those phases, or 'stall': the call is taken and never forwarded nor answered. */
export type FaultPhase = ResetPhase | 'stall';

function callOf(requestLine: string): RuntimeCall {
  if (/^GET \S*\/runtime\/invocation\/next /.test(requestLine)) return 'next';
  if (/^POST \S*\/runtime\/invocation\/[^/]+\/response /.test(requestLine)) return 'response';
  if (/^POST \S*\/runtime\/invocation\/[^/]+\/error /.test(requestLine)) return 'error';
  if (/^POST \S*\/runtime\/init\/error /.test(requestLine)) return 'init-error';
  if (/^POST \S*\/extension\/register /.test(requestLine)) return 'register';
  if (/^GET \S*\/extension\/event\/next /.test(requestLine)) return 'event-next';
  if (/^POST \S*\/extension\/init\/error /.test(requestLine)) return 'extension-init-error';
  if (/^POST \S*\/extension\/exit\/error /.test(requestLine)) return 'exit-error';
  return 'other';
}

export class FaultRelay {
  #target: { host: string; port: number } | undefined;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #armed: { call: RuntimeCall; phase: FaultPhase; fired: () => void; left: number } | undefined;
  port = 0;

  constructor() {
    this.#server = net.createServer((inbound) => this.#relay(inbound));
  }

  /**
   * Listens on a port of the kernel's choosing, before the proxy that will use
   * it starts: a port picked earlier and bound later could be taken meanwhile
   * by any other listener of the test (the sandbox, the collector).
   */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => { this.#server.off('error', reject); resolve(); });
    });
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Where relayed connections go (`host:port`): the sandbox, once it is up. */
  relayTo(target: string): void {
    const [host, port] = target.split(':');
    this.#target = { host: host!, port: Number(port) };
  }

  /**
   * Resets the next `call` at `phase` (the next `times` calls: `Infinity` with
   * 'request-start' is an API that refuses that call for good); resolves once
   * the first connection was reset.
   */
  arm(call: RuntimeCall, phase: FaultPhase, times = 1): Promise<void> {
    return new Promise((fired) => { this.#armed = { call, phase, fired, left: times }; });
  }

  /** Calls of the kind armed that are still to be reset. */
  get armedLeft(): number {
    return this.#armed?.left ?? 0;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(inbound: net.Socket): void {
    if (this.#target === undefined) {
      inbound.destroy(); // Nothing to relay to yet.
      return;
    }
    const outbound = net.connect(this.#target);
    for (const s of [inbound, outbound]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => { inbound.destroy(); outbound.destroy(); });
    }
    // Requests on a kept-alive connection follow each other: the first client
    // bytes after an answer started begin the next request.
    let atRequestStart = true;
    let fault: FaultPhase | undefined;
    let stalled = false;
    let fired: (() => void) | undefined;
    let answerSeen = false;
    const reset = () => { inbound.resetAndDestroy(); outbound.resetAndDestroy(); fired?.(); fired = undefined; };
    inbound.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (atRequestStart) {
        atRequestStart = false;
        answerSeen = false;
        fault = undefined;
        const armed = this.#armed;
        if (armed && callOf(chunk.toString('latin1', 0, Math.min(chunk.length, 512))) === armed.call) {
          armed.left--;
          if (armed.left <= 0) this.#armed = undefined;
          fault = armed.phase;
          const first = armed.fired;
          armed.fired = () => undefined;
          fired = first;
          if (fault === 'request-start') return reset();
          if (fault === 'stall') {
            stalled = true; // Kept open, read, never answered: until the caller gives up or stop().
            fired?.();
            fired = undefined;
            return;
          }
          if (fault === 'mid-request') {
            outbound.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => reset());
            return;
          }
        }
      }
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (!answerSeen) {
        answerSeen = true;
        if (fault === 'before-answer') return reset();
        if (fault === 'mid-answer') {
          inbound.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => reset());
          return;
        }
      }
      atRequestStart = true;
      inbound.write(chunk);
    });
    inbound.on('end', () => outbound.end());
    outbound.on('end', () => inbound.end());
  }
}
