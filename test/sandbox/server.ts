import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventLog } from './event-log.ts';
import type { FaultPlan } from './faults.ts';
import type { RecordedRequest, RequestRecorder } from './recorder.ts';
import { errorReply, send } from './replies.ts';
import type { Reply } from './replies.ts';
import { matchRoute } from './routes.ts';
import type { RouteMatch } from './routes.ts';

export type RouteHandler = (match: RouteMatch, request: RecordedRequest, res: ServerResponse) => Reply | 'pending';

/**
 * The loopback HTTP server behind AWS_LAMBDA_RUNTIME_API. It records every
 * request byte for byte, waits for the whole body (trailers included) before
 * routing, and survives whatever a client does: resets, bad requests, a
 * handler bug (answered 500 and logged as `internal-error`).
 */
export class SandboxServer {
  readonly #server: Server;
  readonly #recorder: RequestRecorder;
  readonly #log: EventLog;
  readonly #faults: FaultPlan;
  readonly #handle: RouteHandler;

  constructor(recorder: RequestRecorder, log: EventLog, faults: FaultPlan, handle: RouteHandler) {
    this.#recorder = recorder;
    this.#log = log;
    this.#faults = faults;
    this.#handle = handle;
    this.#server = createServer(
      {
        // Long polls and long streams: Lambda's API has no request timeout.
        requestTimeout: 0,
        // Lambda's Runtime API is Go's net/http with its default limit: 1 MiB of
        // head plus 4096 bytes of slop (RIE internal/lambda/rapi/server.go sets no
        // MaxHeaderBytes), and no limit on the number of headers.
        maxHeaderSize: (1 << 20) + 4096,
      },
      (req, res) => void this.#onRequest(req, res),
    );
    // Idle keep-alive connections stay open between invocations, as runtimes expect.
    this.#server.keepAliveTimeout = 0;
    this.#server.maxHeadersCount = 0;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // A reset keep-alive socket (a killed runtime) is routine; anything else is worth a record.
      if (err.code !== 'ECONNRESET') this.#log.record('client-error', { code: err.code ?? null, message: err.message });
      if (socket.writable && err.code !== 'ECONNRESET') {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      } else {
        socket.destroy();
      }
    });
  }

  /** Listens on 127.0.0.1 on a free port; resolves with `127.0.0.1:<port>`. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    return `${address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {
      /* the client went away; nothing to answer */
    });
    const { entry, received } = this.#recorder.record(req, res);
    if (!(await received)) return;
    const match = matchRoute(entry.method, entry.url);
    if (match === null) {
      send(res, errorReply(404, 'NotFound', `No such API: ${entry.method} ${entry.url}`));
      return;
    }
    if (this.#faults.takeReset(match.route)) {
      this.#log.record('fault-applied', { route: match.route, status: 'reset' });
      req.socket.resetAndDestroy();
      return;
    }
    const fault = this.#faults.take(match.route);
    if (fault !== undefined) {
      this.#log.record('fault-applied', { route: match.route, status: fault.status });
      send(res, fault);
      return;
    }
    try {
      const reply = this.#handle(match, entry, res);
      if (reply !== 'pending') send(res, reply);
    } catch (err) {
      this.#log.record('internal-error', { route: match.route, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      send(res, errorReply(500, 'InternalServerError', 'Internal Server Error'));
    }
  }
}
