// Raw HTTP/1.1 over a socket for the fuzz harness: write exactly the bytes a
// case makes (malformed, dribbled, pipelined, cut), and read back whatever the
// proxy answers, response by response, without Node's client in the way.

import net from 'node:net';

export interface RawAnswer {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/** What a connection got: the complete responses, in order, and how it ended. */
export interface ConnectionOutcome {
  readonly responses: readonly RawAnswer[];
  /** 'closed' (FIN or reset after the answers), or 'open' when `expect` responses arrived first. */
  readonly ended: 'closed' | 'reset' | 'open';
  /** Bytes received after the last complete response (a partial answer). */
  readonly leftover: number;
}

/**
 * Incremental response reader: Content-Length, chunked (extensions and
 * trailers skipped) or, without either, until the connection closes.
 */
export class ResponseReader {
  #buffer: Buffer = Buffer.alloc(0);
  readonly responses: RawAnswer[] = [];
  #untilClose: { status: number; headers: string[]; from: number } | undefined;

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#untilClose === undefined && this.#readOne());
  }

  /** At close: a body framed by the close itself is complete now. */
  close(): void {
    if (this.#untilClose) {
      this.responses.push({ status: this.#untilClose.status, headers: this.#untilClose.headers, body: this.#buffer.subarray(this.#untilClose.from) });
      this.#buffer = Buffer.alloc(0);
      this.#untilClose = undefined;
    }
  }

  get leftover(): number {
    return this.#buffer.length;
  }

  #readOne(): boolean {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0]!.slice(0, 60))}`);
    const status = Number(m[1]);
    const headers: string[] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.push(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const get = (name: string) => {
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1];
      return undefined;
    };
    const start = end + 4;
    if (status === 100) { // an interim answer: drop it, read on
      this.#buffer = this.#buffer.subarray(start);
      return true;
    }
    const length = get('content-length');
    if (status === 204 || status === 304) return this.#take(status, headers, start, 0);
    if (length !== undefined) return this.#take(status, headers, start, Number(length));
    if (get('transfer-encoding')?.toLowerCase().includes('chunked')) {
      const body: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.#buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return false;
        const size = parseInt(this.#buffer.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
        if (size === 0) {
          const trailersEnd = this.#buffer.indexOf('\r\n\r\n', lineEnd);
          const bare = this.#buffer.subarray(lineEnd, lineEnd + 4).equals(Buffer.from('\r\n\r\n'));
          const stop = bare ? lineEnd + 4 : trailersEnd < 0 ? -1 : trailersEnd + 4;
          if (stop < 0) return false;
          this.responses.push({ status, headers, body: Buffer.concat(body) });
          this.#buffer = this.#buffer.subarray(stop);
          return true;
        }
        if (this.#buffer.length < lineEnd + 2 + size + 2) return false;
        body.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    this.#untilClose = { status, headers, from: start };
    return false;
  }

  #take(status: number, headers: string[], start: number, length: number): boolean {
    if (this.#buffer.length < start + length) return false;
    this.responses.push({ status, headers, body: this.#buffer.subarray(start, start + length) });
    this.#buffer = this.#buffer.subarray(start + length);
    return true;
  }
}

export interface Exchange {
  /** The bytes to send, as pieces; each is one write. */
  readonly pieces: readonly Buffer[];
  /** Awaited after each write (a slow sender yields to the event loop between pieces). */
  readonly between?: () => Promise<void>;
  /** Stop reading once this many responses arrived (the connection stays open); default: until close. */
  readonly expect?: number;
  /** Reset the connection (RST) right after the last piece instead of waiting. */
  readonly resetAfterWrite?: boolean;
  /** Half-close after writing (FIN). */
  readonly endAfterWrite?: boolean;
  /** Safety net only: a connection that neither answers nor closes by then is a failure. */
  readonly safetyMs?: number;
}

/** Sends one case on a fresh connection and reports what came back. Rejects only on a hang. */
export function exchange(port: number, ex: Exchange): Promise<ConnectionOutcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const reader = new ResponseReader();
    let parseError: Error | undefined;
    let done = false;
    const finish = (ended: ConnectionOutcome['ended']) => {
      if (done) return;
      done = true;
      clearTimeout(safety);
      reader.close();
      if (ended === 'open') socket.destroy();
      if (parseError) reject(parseError);
      else resolve({ responses: reader.responses, ended, leftover: reader.leftover });
    };
    const safety = setTimeout(() => {
      done = true;
      socket.destroy();
      reject(new Error(`no answer and no close within ${ex.safetyMs ?? 10_000} ms (got ${reader.responses.length} responses)`));
    }, ex.safetyMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        parseError = err as Error;
        socket.destroy();
      }
      if (ex.expect !== undefined && reader.responses.length >= ex.expect) finish('open');
    });
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('closed'));
    socket.once('connect', () => {
      void (async () => {
        for (const piece of ex.pieces) {
          if (done || socket.destroyed) return;
          socket.write(piece);
          await ex.between?.();
        }
        if (ex.resetAfterWrite) socket.resetAndDestroy();
        else if (ex.endAfterWrite) socket.end();
      })();
    });
  });
}

/** Cuts `bytes` into `count` pieces at the given (sorted, distinct) offsets. */
export function splitAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    if (at <= from || at >= bytes.length) continue;
    out.push(bytes.subarray(from, at));
    from = at;
  }
  out.push(bytes.subarray(from));
  return out;
}
