// A minimal Lambda runtime: `/next`, then `/response`, over one keep-alive
// connection (node:http Agent), as the runtime interface clients do. It reads
// every byte it is sent but only counts them: the benchmark times transport,
// not a handler.

import http from 'node:http';

const NEXT_PATH = '/2018-06-01/runtime/invocation/next';

export interface NextEvent {
  readonly requestId: string;
  readonly bytes: number;
}

export class RuntimeClient {
  readonly #host = '127.0.0.1';
  readonly #port: number;
  readonly #agent: http.Agent;

  constructor(port: number) {
    this.#port = port;
    // One connection, like a runtime: a request never waits for a socket but for the previous answer.
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  next(): Promise<NextEvent> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: this.#host, port: this.#port, path: NEXT_PATH, agent: this.#agent }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
        res.on('end', () => {
          const requestId = res.headers['lambda-runtime-aws-request-id'];
          if (res.statusCode !== 200 || typeof requestId !== 'string') {
            reject(new Error(`/next answered ${res.statusCode} without a request id`));
          } else {
            resolve({ requestId, bytes });
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Posts a buffered response; resolves with Lambda's status (202). */
  respond(requestId: string, body: Buffer): Promise<number> {
    return this.#post(requestId, body, undefined);
  }

  /**
   * Streams a response in chunks (chunked encoding, streaming mode). After each
   * chunk, `afterChunk(i)` must resolve before the next one is written.
   */
  stream(requestId: string, chunks: readonly Buffer[], afterChunk: (index: number) => Promise<unknown>): Promise<number> {
    return this.#post(requestId, chunks, afterChunk);
  }

  close(): void {
    this.#agent.destroy();
  }

  #post(requestId: string, body: Buffer | readonly Buffer[], afterChunk: ((index: number) => Promise<unknown>) | undefined): Promise<number> {
    const streaming = Array.isArray(body);
    const headers: Record<string, string> = streaming
      ? { 'Content-Type': 'application/octet-stream', 'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Transfer-Encoding': 'chunked' }
      : { 'Content-Type': 'application/json', 'Content-Length': String((body as Buffer).length) };
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.#host, port: this.#port, method: 'POST', agent: this.#agent, headers,
        path: `/2018-06-01/runtime/invocation/${requestId}/response`,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (!streaming) {
        req.end(body as Buffer);
        return;
      }
      const chunks = body as readonly Buffer[];
      const writeFrom = async (i: number): Promise<void> => {
        for (; i < chunks.length; i++) {
          req.write(chunks[i]!);
          if (afterChunk) await afterChunk(i);
        }
        req.end();
      };
      writeFrom(0).catch(reject);
    });
  }
}
