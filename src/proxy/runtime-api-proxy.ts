// The Runtime API proxy: the runtime's HTTP requests come in here and go out,
// unchanged, to the real Runtime API (or the next proxy in a chain); Lambda's
// answers come back the same way. Bodies stream through chunk by chunk with
// backpressure, trailers included. Only two things are ever read on the way:
// the event a `/next` hands out (tracing may splice `traceparent` into it) and,
// when tracing asks, the body of a `/response` or `/error` post.

import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HostPort } from '../settings/core-config.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import { classifyRoute, type RuntimeRoute } from './routes.ts';
import { forwardableHeaders, replaceHeaderValue } from './headers.ts';
import { streamBody } from './stream-body.ts';
import type { InvocationObserver } from './invocation-observer.ts';

/** Bodies tracing may keep to read an error or a status code; larger ones are forwarded unread. */
const MAX_KEPT_BODY_BYTES = 8 * 1024 * 1024;
/** Lambda's error answers are small JSON documents; more than this is not worth keeping. */
const MAX_KEPT_UPSTREAM_ANSWER = 64 * 1024;

interface Exchange {
  readonly route: RuntimeRoute;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
}

export class RuntimeApiProxy {
  readonly #upstream: HostPort;
  readonly #log: Logger;
  readonly #server: http.Server;
  // One keep-alive pool to Lambda, TCP_NODELAY on: every invocation reuses the
  // same few connections instead of paying a handshake. No socket timeout:
  // `/next` is a long poll that lasts as long as the environment is idle.
  readonly #agent: http.Agent;
  readonly #active = new Set<Exchange>();
  /** Last event handed out on each runtime connection, to notice a runtime that dies mid-invocation. */
  readonly #eventOnSocket = new WeakMap<Socket, string>();
  #observer: InvocationObserver | undefined;
  /** Set while close() waits for the last exchange to finish. */
  #onIdle: (() => void) | undefined;

  constructor(upstream: HostPort, log: Logger) {
    this.#upstream = upstream;
    this.#log = log;
    this.#agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' }) // Node's client sockets default to TCP_NODELAY;
    this.#server = http.createServer({
      noDelay: true,
      // The runtime's connection idles while the environment is frozen; closing
      // it on a timer would only make the runtime reconnect after every thaw.
      keepAliveTimeout: 0,
      requestTimeout: 0,
      headersTimeout: 0,
      // A minimal custom runtime may omit Host; Lambda's API does not need it from us either.
      requireHostHeader: false,
    }, (req, res) => this.#handle(req, res));
    this.#server.timeout = 0;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.#log.debug('runtime sent a request that is not valid HTTP', { code: 'LRAP_BAD_REQUEST', error: err.code ?? err.message });
      if (socket.writable && err.code !== 'ECONNRESET') {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      } else {
        socket.destroy();
      }
    });
  }

  /** Tracing plugs in here once it has loaded; until then (or when disabled) the proxy only forwards. */
  setObserver(observer: InvocationObserver | undefined): void {
    this.#observer = observer;
  }

  /** Opens the listener on loopback only: nothing outside the sandbox may drive the Runtime API. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /**
   * Stops accepting requests and waits (until `deadline`, a performance.now()
   * time) for posts in flight to reach Lambda. Long polls on `/next` will never
   * complete during shutdown, so they are cut at once.
   */
  async close(deadline: number): Promise<void> {
    this.#server.close();
    this.#server.closeIdleConnections();
    for (const ex of this.#active) if (ex.route.kind === 'next') ex.res.destroy();
    if (this.#active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        this.#onIdle = () => { clearTimeout(timer); resolve(); };
      });
    }
    this.#server.closeAllConnections();
    this.#agent.destroy();
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.sendDate = false; // Lambda's own Date header, if any, is forwarded instead.
    const route = classifyRoute(req.method, req.url);
    const exchange: Exchange = { route, req, res };
    this.#active.add(exchange);
    res.on('close', () => {
      this.#active.delete(exchange);
      if (this.#active.size === 0) this.#onIdle?.();
    });

    const observer = this.#observer;
    if (route.kind === 'next') observer?.onNextRequest(performance.now());
    const watched = observer !== undefined && route.kind !== 'other' && route.kind !== 'next';
    const keptBody: Buffer[] | undefined = watched && (route.kind === 'init-error' || observer.wantsBody(route.requestId, route.kind)) ? [] : undefined;
    let bodyBytes = 0;
    let settled = false;
    const settle = (upstreamStatus: number | undefined, upstreamBody: Buffer | undefined, failure: string | undefined) => {
      if (settled || !watched) return;
      settled = true;
      if (route.kind === 'init-error') {
        observer.onInitError(req.rawHeaders, Buffer.concat(keptBody ?? []));
      } else if (route.kind === 'response' || route.kind === 'error') {
        observer.onInvocationResult({
          requestId: route.requestId, kind: route.kind, upstreamStatus, upstreamBody,
          requestHeaders: req.rawHeaders, body: keptBody, bodyBytes, trailers: req.rawTrailers, failure,
        });
      }
    };

    const headers = forwardableHeaders(req.rawHeaders);
    if (!replaceHeaderValue(headers, 'host', this.#upstream.text)) headers.push('Host', this.#upstream.text);
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;

    const send = (attempt: number): void => {
      const upReq = http.request({
        host: this.#upstream.host,
        port: this.#upstream.port,
        method: req.method,
        path: req.url,
        headers,
        setHost: false,
        agent: this.#agent,
      });
      upReq.on('response', (upRes) => {
        if (route.kind === 'next' && upRes.statusCode === 200 && this.#observer) {
          this.#relayEvent(upRes, res, this.#observer);
        } else {
          this.#relayAnswer(upRes, res, watched ? (status, answer) => settle(status, answer, undefined) : undefined);
        }
      });
      upReq.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket Lambda closed while we were frozen: a request
        // without a body can safely go again on a fresh connection.
        if (!hasBody && attempt === 0 && upReq.reusedSocket && err.code === 'ECONNRESET' && !res.headersSent) {
          send(1);
          return;
        }
        const failure = `${req.method} ${req.url} to the Runtime API at ${this.#upstream.text} failed: ${describeError(err)}`;
        this.#log.error('upstream Runtime API request failed', { code: 'LRAP_UPSTREAM_UNREACHABLE', error: failure });
        settle(undefined, undefined, failure);
        this.#answerBadGateway(res, failure);
        req.resume();
      });
      if (!hasBody) {
        upReq.end();
        return;
      }
      streamBody(req, upReq, (chunk) => {
        bodyBytes += chunk.length;
        if (keptBody && bodyBytes <= MAX_KEPT_BODY_BYTES) keptBody.push(chunk);
      }, undefined);
      // The runtime went away mid-post (crash, timeout kill): abandon the upstream request.
      req.on('close', () => {
        if (!req.complete) {
          upReq.destroy();
          settle(undefined, undefined, 'the runtime closed its connection before the post was complete');
        }
      });
    };
    if (!hasBody) req.resume();
    send(0);
  }

  /** An event for the runtime: read whole so tracing can join and inject, then sent with a fresh Content-Length. */
  #relayEvent(upRes: http.IncomingMessage, res: http.ServerResponse, observer: InvocationObserver): void {
    const receivedAt = performance.now();
    const body = new EventBody(upRes.headers['content-length']);
    upRes.on('data', (c: Buffer) => body.add(c));
    upRes.on('error', () => res.destroy());
    upRes.on('end', () => {
      const event = body.bytes();
      const requestId = upRes.headers['lambda-runtime-aws-request-id'];
      const rewrite = typeof requestId === 'string'
        ? observer.onInvocationEvent({ requestId, headers: upRes.headers, body: event, receivedAt })
        : undefined;
      const out = rewrite?.body ?? event;
      const length = Buffer.isBuffer(out) ? out.length : out.reduce((n, piece) => n + piece.length, 0);
      const headers = forwardableHeaders(upRes.rawHeaders);
      if (rewrite?.traceIdHeader !== undefined) replaceHeaderValue(headers, 'lambda-runtime-trace-id', rewrite.traceIdHeader);
      if (!replaceHeaderValue(headers, 'content-length', String(length))) headers.push('Content-Length', String(length));
      this.#writeHead(res, upRes, headers);
      if (Buffer.isBuffer(out)) {
        res.end(out);
      } else {
        res.cork(); // One writev for all the pieces.
        for (const piece of out) res.write(piece);
        res.end();
      }
      if (typeof requestId === 'string' && res.socket) this.#watchRuntimeConnection(res.socket, requestId, observer);
    });
  }

  #watchRuntimeConnection(socket: Socket, requestId: string, observer: InvocationObserver): void {
    const known = this.#eventOnSocket.has(socket);
    this.#eventOnSocket.set(socket, requestId);
    if (known) return; // One listener per connection, however many events it carries.
    socket.once('close', () => {
      const last = this.#eventOnSocket.get(socket);
      if (last !== undefined) observer.onEventConnectionClosed(last);
    });
  }

  /** Any other answer: streamed back as it comes, trailers included. */
  #relayAnswer(upRes: http.IncomingMessage, res: http.ServerResponse,
    onDone: ((status: number, answer: Buffer | undefined) => void) | undefined): void {
    const status = upRes.statusCode ?? 502;
    this.#writeHead(res, upRes, forwardableHeaders(upRes.rawHeaders));
    // Lambda's error answers (413, 403…) say what went wrong: keep them for the span.
    const kept: Buffer[] | undefined = onDone && status >= 400 ? [] : undefined;
    let keptBytes = 0;
    streamBody(upRes, res, kept && ((chunk) => {
      if (keptBytes < MAX_KEPT_UPSTREAM_ANSWER) { kept.push(chunk); keptBytes += chunk.length; }
    }), onDone && (() => onDone(status, kept ? Buffer.concat(kept) : undefined)));
    upRes.on('error', () => res.destroy());
    res.on('close', () => { if (!upRes.complete) upRes.destroy(); });
  }

  #writeHead(res: http.ServerResponse, upRes: http.IncomingMessage, headers: string[]): void {
    try {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
    } catch (err) {
      // e.g. a `Trailer` header on a body with a Content-Length: Node refuses
      // that framing, so drop the announcement rather than the answer.
      this.#log.debug('upstream headers rejected as they are; sending without Trailer', { error: describeError(err) });
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardableHeaders(headers, new Set(['trailer'])));
    }
  }

  #answerBadGateway(res: http.ServerResponse, failure: string): void {
    if (res.headersSent) {
      res.destroy(); // Part of an answer is out: cutting the connection is the only honest signal left.
      return;
    }
    const body = Buffer.from(JSON.stringify({
      errorMessage: `lambda-trace-proxy: ${failure}`,
      errorType: 'Extension.UpstreamUnreachable',
    }));
    res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    res.end(body);
  }
}


/**
 * An event read whole. With a Content-Length (Lambda sends one) the chunks are
 * copied once into a buffer of that size as they arrive, instead of being kept
 * and concatenated at the end: at 6 MB that is one copy and ~100 fewer live
 * chunks for the garbage collector (make bench, test/bench/profile.ts).
 */
class EventBody {
  readonly #chunks: Buffer[] = [];
  #buffer: Buffer | undefined;
  #length = 0;

  constructor(contentLength: string | undefined) {
    const size = contentLength === undefined ? NaN : Number(contentLength);
    if (Number.isSafeInteger(size) && size > 0 && size <= MAX_KEPT_BODY_BYTES) this.#buffer = Buffer.allocUnsafe(size);
  }

  add(chunk: Buffer): void {
    if (this.#buffer && this.#length + chunk.length <= this.#buffer.length) {
      chunk.copy(this.#buffer, this.#length);
    } else {
      // More than announced (or no announcement): fall back to keeping chunks.
      if (this.#buffer) this.#chunks.push(this.#buffer.subarray(0, this.#length));
      this.#buffer = undefined;
      this.#chunks.push(chunk);
    }
    this.#length += chunk.length;
  }

  bytes(): Buffer {
    if (this.#buffer) return this.#buffer.subarray(0, this.#length);
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
  }
}
