// The smallest Extensions API that lets the extension start: `register`,
// `event/next` (held until the caller sends SHUTDOWN) and `init/error`.
// Used where the full sandbox would cost more than what is measured: start-up
// figures and the compile-cache training run. It records times, not bytes.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const PREFIX = '/2020-01-01/extension/';

export interface InitErrorReport {
  readonly errorType: string;
  readonly body: string;
}

export class FakeExtensionsApi {
  readonly #server = http.createServer((req, res) => this.#handle(req, res));
  readonly #waiting: http.ServerResponse[] = [];
  #registered = deferred<number>();
  #ready = deferred<number>();
  #initError = deferred<InitErrorReport>();

  /** `127.0.0.1:<port>`, the AWS_LAMBDA_RUNTIME_API value. */
  address = '';

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** performance.now() when the register request arrived. */
  whenRegistered(): Promise<number> { return this.#registered.promise; }

  /** performance.now() when the extension first asked for its next event: it is ready. */
  whenReady(): Promise<number> { return this.#ready.promise; }

  whenInitError(): Promise<InitErrorReport> { return this.#initError.promise; }

  /** Answers every held `event/next` with SHUTDOWN, so the extension exits cleanly. */
  shutdown(): void {
    const body = JSON.stringify({ eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs: Date.now() + 2000 });
    for (const res of this.#waiting.splice(0)) res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  }

  /** Forgets the last extension, for the next sample. */
  reset(): void {
    for (const res of this.#waiting.splice(0)) res.destroy();
    this.#registered = deferred();
    this.#ready = deferred();
    this.#initError = deferred();
  }

  async close(): Promise<void> {
    for (const res of this.#waiting.splice(0)) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const route = req.url?.startsWith(PREFIX) ? req.url.slice(PREFIX.length) : '';
      if (req.method === 'POST' && route === 'register') {
        this.#registered.resolve(at);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Lambda-Extension-Identifier': 'fake-extension-id' })
          .end(JSON.stringify({ functionName: 'fn', functionVersion: '$LATEST', handler: 'index.handler' }));
      } else if (req.method === 'GET' && route === 'event/next') {
        this.#ready.resolve(at);
        this.#waiting.push(res);
      } else if (req.method === 'POST' && route === 'init/error') {
        this.#initError.resolve({ errorType: String(req.headers['lambda-extension-function-error-type'] ?? ''), body: Buffer.concat(chunks).toString() });
        res.writeHead(202, { 'Content-Type': 'application/json' }).end('{"status":"OK"}');
      } else {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errorType":"NotFound"}');
      }
    });
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}
