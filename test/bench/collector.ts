// A local OTLP/HTTP collector that only accepts: 200 with an empty
// ExportTraceServiceResponse to every POST /v1/traces, body read and dropped.
// test/support/otlp-receiver.ts decodes every span; here that work would run in
// the benchmark's own process and blur the timings.

import http from 'node:http';

const EMPTY = Buffer.alloc(0);

export class Collector {
  readonly #server: http.Server;
  #port = 0;
  requests = 0;
  bytes = 0;

  constructor() {
    this.#server = http.createServer({ noDelay: true }, (req, res) => {
      req.on('data', (c: Buffer) => { this.bytes += c.length; });
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          this.requests++;
          res.writeHead(200, ['Content-Type', 'application/x-protobuf', 'Content-Length', '0']);
        } else {
          res.writeHead(404, ['Content-Length', '0']);
        }
        res.end(EMPTY);
      });
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as { port: number }).port;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
