// The Runtime API proxy: the runtime's HTTP requests come in here and go out,
// unchanged, to the real Runtime API (or the next proxy in a chain); Lambda's
// answers come back the same way. Bodies stream through chunk by chunk with
// backpressure, trailers included. Only two things are ever read on the way:
// the event a `/next` hands out (event-relay.ts: tracing may splice `traceparent`
// into it) and, when tracing asks, the body of a `/response` or `/error` post.

import http from 'node:http';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { HostPort } from '../settings/core-config.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import { classifyRoute, type RuntimeRoute } from './routes.ts';
import { forwardableHeaders, replaceHeaderValue, writeUpstreamHead } from './headers.ts';
import { streamBody } from './stream-body.ts';
import { freeSocketReads } from './written-chunks.ts';
import { relayEvent, type EventRelayContext } from './event-relay.ts';
import { RUNTIME_API_MAX_HEADER_BYTES, RUNTIME_API_MAX_HEADERS_COUNT } from './header-limits.ts';
import type { CollectYoungGeneration } from './young-generation.ts';
import { listenWithoutCluster, type ListenAddress } from '../listen-without-cluster.ts';
import type { BodyReader, HandedOutEvent, InvocationObserver, RuntimeSignals } from './invocation-observer.ts';

/** Body bytes relayed between two young-generation collections (see #relayed). */
const COLLECT_AFTER_BYTES = 4 * 1024 * 1024;
/** A byte kept a while (not freed once written) weighs this many streamed ones: a MiB of them is collected after. */
const KEPT_BYTE_WEIGHT = 4;

interface Exchange {
  readonly route: RuntimeRoute;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** Ends what this exchange owes its observers (a `/next` answered with nothing, a post not delivered). */
  abort?: (failure: string) => void;
  /** Its neighbours among the exchanges in flight (RuntimeApiProxy #newest), while it is one. */
  older?: Exchange | undefined;
  newer?: Exchange | undefined;
}

/** Errors that mean the connection itself broke (not an answer from Lambda). */
const CONNECTION_FAILURES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function isConnectionFailure(err: NodeJS.ErrnoException): boolean {
  return err.code !== undefined && CONNECTION_FAILURES.has(err.code);
}

function deadlineOf(value: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return value !== undefined && Number.isFinite(n) ? n : undefined;
}

export class RuntimeApiProxy {
  readonly #upstream: HostPort;
  readonly #signals: RuntimeSignals;
  readonly #log: Logger;
  readonly #server: http.Server;
  // One keep-alive pool to Lambda, TCP_NODELAY on: every invocation reuses the
  // same few connections instead of paying a handshake. No socket timeout:
  // `/next` is a long poll that lasts as long as the environment is idle.
  readonly #agent: http.Agent;
  // The exchanges in flight, for close(): linked through their own fields, newest first, not kept in
  // a Set. A Set's table is rebuilt as entries come and go, and a table V8 had already moved to its
  // old generation leaves, once replaced, stale pointers to the exchanges it held; until the next full
  // collection they keep those exchanges, and all they link to (both messages, the upstream request,
  // closures, headers), alive through every young-generation collection, so they too are moved to
  // the old generation to die there, and the full collections that free them deoptimize code.
  // Measured (8 in flight, 1 KB, v8.GCProfiler's old space before and after each scavenge): tracing
  // off 7.4 -> 1.2 KiB per invocation promoted, full collections per 8,000 invocations 16 -> 3;
  // tracing on 10.6 -> 4.9, 26 -> 12; the node:http relay promotes 0.02. Unlinking overwrites every
  // pointer to the exchange, so nothing stale is left anywhere.
  #newest: Exchange | undefined;
  #inFlight = 0;
  /** When each pooled connection last became idle, counted in freeze points. */
  readonly #freedAt = new WeakMap<Socket, number>();
  #freezePoint = 0;
  /** Last event handed out on each runtime connection, to notice a runtime that dies mid-invocation. */
  readonly #eventOnSocket = new WeakMap<Socket, string>();
  #observer: InvocationObserver | undefined;
  /** Body bytes relayed (kept ones weighted) since the last young-generation collection we asked for. */
  #bytesSinceCollect = 0;
  readonly #collectYoung: CollectYoungGeneration | undefined;
  /** Lent to the relay of each event (event-relay.ts). */
  readonly #eventRelay: EventRelayContext;
  /** Set while close() waits for the last exchange to finish. */
  #onIdle: (() => void) | undefined;

  constructor(upstream: HostPort, signals: RuntimeSignals, log: Logger, collectYoung?: CollectYoungGeneration) {
    this.#upstream = upstream;
    this.#signals = signals;
    this.#log = log;
    this.#collectYoung = collectYoung;
    this.#eventRelay = { log, relayed: (bytes, kept) => this.#relayed(bytes, kept) };
    this.#agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' }) // Node's client sockets default to TCP_NODELAY;
    this.#agent.on('free', (socket: Socket) => this.#freedAt.set(socket, this.#freezePoint));
    this.#server = http.createServer({
      noDelay: true,
      // The runtime's connection idles while the environment is frozen; closing
      // it on a timer would only make the runtime reconnect after every thaw.
      keepAliveTimeout: 0,
      requestTimeout: 0,
      headersTimeout: 0,
      // A minimal custom runtime may omit Host; Lambda's API does not need it from us either.
      requireHostHeader: false,
      maxHeaderSize: RUNTIME_API_MAX_HEADER_BYTES,
    }, (req, res) => this.#handle(req, res));
    this.#server.timeout = 0;
    this.#server.maxHeadersCount = RUNTIME_API_MAX_HEADERS_COUNT;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.#log.debug('runtime sent a request that is not valid HTTP', { code: 'LRAP_BAD_REQUEST', error: err.code ?? err.message });
      if (socket.writable && err.code !== 'ECONNRESET') {
        // Over the head limit: 431, as Lambda's own (Go) server answers.
        socket.end(err.code === 'HPE_HEADER_OVERFLOW'
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
          : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      } else {
        socket.destroy();
      }
    });
  }

  /** Tracing plugs in here once it has loaded; until then (or when disabled) the proxy only forwards and signals the lifecycle. */
  setObserver(observer: InvocationObserver | undefined): void {
    this.#observer = observer;
  }

  /** Opens the listener on loopback only: nothing outside the sandbox may drive the Runtime API. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const address = await listenWithoutCluster(this.#server, { port, host });
    return typeof address === 'object' && address !== null ? address.port : port;
  }

  /**
   * Serves on a socket the launcher bound on loopback and is listening on already
   * (src/stub): a runtime that connected before Node started waits in its backlog.
   */
  async listenOnFd(fd: number, port: number): Promise<number> {
    let address: ListenAddress;
    try {
      address = await listenWithoutCluster(this.#server, { fd });
    } catch (err) {
      // Not a socket Node can serve on: the descriptor is still ours to close (a port it may hold is freed).
      try { closeSync(fd); } catch { /* already closed */ }
      throw err;
    }
    // The launcher reads LRAP_LISTENER_PORT by rules of its own: should they ever part from ours,
    // the runtime (told our port by the wrapper) must not be left knocking on another one.
    const tcp = typeof address === 'object' && address !== null ? address : undefined;
    if (tcp?.address === '127.0.0.1' && tcp.port === port) return port;
    this.#server.close(); // Closes the descriptor with it.
    const where = tcp ? `${tcp.address}:${tcp.port}` : String(address);
    throw new Error(`the launcher's socket listens on ${where}, not on 127.0.0.1:${port}`);
  }


  /**
   * Stops accepting requests and waits (until `deadline`, a performance.now()
   * time) for posts in flight to reach Lambda. Long polls on `/next` will never
   * complete during shutdown, so they are cut at once.
   */
  async close(deadline: number): Promise<void> {
    this.#server.close();
    this.#server.closeIdleConnections();
    const polls: http.ServerResponse[] = [];
    for (let ex = this.#newest; ex !== undefined; ex = ex.older) if (ex.route.kind === 'next') polls.push(ex.res);
    for (const res of polls) res.destroy();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
        this.#onIdle = () => { clearTimeout(timer); resolve(); };
      });
    }
    this.#server.closeAllConnections();
    this.#agent.destroy();
  }

  /**
   * The lifecycle is about to wait for its next event: from here on the
   * environment may be frozen (or snapshotted). Connections idle now may be
   * dead when it wakes up.
   */
  noteFreezePoint(): void {
    this.#freezePoint++;
  }

  /**
   * A thaw: pooled connections that were idle across the freeze may be dead
   * without our knowing, and a post with a body cannot be sent twice, so they
   * are dropped. A connection used since (the `/next` that just brought the
   * event) is alive and kept; one still carrying a request is kept too (a
   * body-less request is retried if it broke). Measured: no extra connection
   * per invocation in steady state (test/integration/upstream-failures).
   */
  dropIdleUpstreamConnections(): void {
    for (const sockets of Object.values(this.#agent.freeSockets)) {
      for (const socket of [...(sockets ?? [])]) {
        if ((this.#freedAt.get(socket) ?? 0) < this.#freezePoint) socket.destroy();
      }
    }
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.sendDate = false; // Lambda's own Date header, if any, is forwarded instead.
    const route = classifyRoute(req.method, req.url);
    const exchange: Exchange = { route, req, res, older: this.#newest, newer: undefined };
    if (this.#newest !== undefined) this.#newest.newer = exchange;
    this.#newest = exchange;
    this.#inFlight++;
    res.once('close', () => {
      this.#unlink(exchange);
      if (this.#inFlight === 0) this.#onIdle?.();
    });
    try {
      this.#forward(exchange);
    } catch (err) {
      this.#internalError(exchange, err);
    }
  }

  /** Takes a finished exchange out of those in flight (see #newest). */
  #unlink(exchange: Exchange): void {
    const { older, newer } = exchange;
    if (newer !== undefined) newer.older = older;
    else this.#newest = older;
    if (older !== undefined) older.newer = newer;
    exchange.older = undefined;
    exchange.newer = undefined;
    this.#inFlight--;
  }

  /**
   * A bug in our own handling of one exchange: that exchange gets an honest
   * answer (502, or a cut connection if part of the answer is out) and the
   * proxy carries on; nothing shared is corrupted by it. Its lifecycle signals
   * are sent so no invocation is held for it.
   */
  #internalError(exchange: Exchange, err: unknown): void {
    this.#log.error('internal error while forwarding a Runtime API call; answered 502', { code: 'LRAP_INTERNAL_ERROR', error: describeError(err) });
    try {
      exchange.abort?.(describeError(err));
    } catch {
      // Its lifecycle signal went out in a finally; tracing's failure is already being reported.
    }
    // An answer already complete is left alone; one not begun gets a 502; one half-sent is cut.
    this.#answerBadGateway(exchange.res, 'internal error in the proxy', 'Extension.InternalError');
    exchange.req.resume();
  }

  /** Wraps a callback of this exchange so that a throw in it ends the exchange honestly instead of leaving it hanging. */
  #guard<A extends unknown[]>(exchange: Exchange, fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        this.#internalError(exchange, err);
      }
    };
  }

  #forward(exchange: Exchange): void {
    const { route, req, res } = exchange;
    const signals = this.#signals;
    const observer = this.#observer;
    const isPost = route.kind === 'response' || route.kind === 'error';
    const watched = observer !== undefined && route.kind !== 'other' && route.kind !== 'next';
    // Tracing reads a post's body as it passes, through its reader; the proxy keeps none of it.
    let reader: BodyReader | undefined;
    let bodyBytes = 0;
    let postEndedAt: number | undefined;
    let addedMs: number | undefined;
    let settled = false;
    // Tracing first (guarded: it cannot throw here), then the lifecycle's
    // release, so the span has ended before anyone flushes it.
    const settle = (upstreamStatus: number | undefined, upstreamBody: Buffer | undefined, failure: string | undefined) => {
      if (settled) return;
      settled = true;
      try {
        if (!watched) return;
        if (route.kind === 'init-error') {
          observer.onInitError(req.rawHeaders);
        } else if (isPost) {
          observer.onInvocationResult({
            requestId: route.requestId, kind: route.kind, upstreamStatus, upstreamBody,
            requestHeaders: req.rawHeaders, bodyBytes, addedMs, trailers: req.rawTrailers, failure,
          });
        }
      } finally {
        if (isPost) this.#signal(() => signals.postEnded(route.requestId, failure === undefined ? upstreamStatus : undefined));
      }
    };
    let nextOpen = route.kind === 'next';
    const nextDone = (event: HandedOutEvent | undefined) => {
      if (!nextOpen) return;
      nextOpen = false;
      this.#signal(() => signals.nextAnswered(event));
    };
    exchange.abort = (failure) => {
      nextDone(undefined);
      settle(undefined, undefined, failure);
    };
    if (route.kind === 'next') {
      this.#signal(() => signals.nextRequested());
      observer?.onNextRequest(performance.now());
    }
    if (watched) reader = observer.bodyReader(route.kind === 'init-error' ? undefined : route.requestId, route.kind);

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
        maxHeaderSize: RUNTIME_API_MAX_HEADER_BYTES,
      });
      upReq.maxHeadersCount = RUNTIME_API_MAX_HEADERS_COUNT;
      upReq.on('response', this.#guard(exchange, (upRes: http.IncomingMessage) => {
        // Only a `/next` answer carries an event. Node builds an answer's `headers` object on first
        // use (a server's requests, never lazily): a post's answer is relayed from its raw list alone.
        const requestId = route.kind === 'next' && upRes.statusCode === 200 ? upRes.headers['lambda-runtime-aws-request-id'] : undefined;
        const event = typeof requestId === 'string' ? requestId : undefined;
        if (event !== undefined) {
          nextDone({ requestId: event, deadlineMs: deadlineOf(upRes.headers['lambda-runtime-deadline-ms']) });
          this.#watchRuntimeConnection(res, event);
          freeSocketReads(upRes); // Up to 6 MB of them.
        } else {
          nextDone(undefined);
        }
        if (event !== undefined && this.#observer) {
          relayEvent(res, upRes, this.#observer, (fn) => this.#guard(exchange, fn), this.#eventRelay);
        } else {
          this.#relayAnswer(exchange, upRes, isPost || watched ? (status, answer) => settle(status, answer, undefined) : undefined,
            watched ? observer.answerBytesToKeep() : 0);
        }
      }));
      upReq.on('error', this.#guard(exchange, (err: NodeJS.ErrnoException) => {
        if (res.destroyed && !res.headersSent) {
          // The runtime dropped its request first (below): nobody to answer, nothing went wrong upstream.
          exchange.abort?.('the runtime closed its connection before Lambda answered');
          return;
        }
        // A pooled connection that died while we were frozen or snapshotted: a
        // request without a body can safely go again on a fresh connection, as
        // long as nothing of its answer came back.
        // (A body-less POST only on a reused socket: the stale keep-alive case,
        // where Lambda cannot have read it; a fresh one may have been delivered.)
        const idempotent = req.method === 'GET' || req.method === 'HEAD' || upReq.reusedSocket;
        if (!hasBody && idempotent && attempt === 0 && !res.headersSent && !res.destroyed && isConnectionFailure(err)) {
          this.#log.debug('upstream connection broke; sending again on a fresh one', { error: err.code ?? err.message, reused: upReq.reusedSocket });
          send(1);
          return;
        }
        const failure = `${req.method} ${req.url} to the Runtime API at ${this.#upstream.text} failed: ${describeError(err)}`;
        this.#log.error('upstream Runtime API request failed', { code: 'LRAP_UPSTREAM_UNREACHABLE', error: failure });
        exchange.abort?.(failure);
        this.#answerBadGateway(res, failure, 'Extension.UpstreamUnreachable');
        // The rest of the runtime's body has nowhere to go: read and drop it, so
        // the runtime finishes its request and gets the answer.
        req.resume();
      }));
      if (!hasBody) {
        // The runtime gave up before Lambda answered (a /next poll it timed out
        // and will ask again): drop the upstream request too, or Lambda hands
        // the next event to a poll nobody reads and the invocation times out.
        const onRuntimeGone = () => upReq.destroy();
        res.once('close', onRuntimeGone);
        upReq.once('response', () => res.off('close', onRuntimeGone));
        upReq.end();
        return;
      }
      if (watched) {
        req.once('end', () => { postEndedAt = performance.now(); });
        upReq.once('finish', () => { if (postEndedAt !== undefined) addedMs = performance.now() - postEndedAt; });
      }
      streamBody(req, upReq, (chunk) => {
        this.#relayed(chunk.length, false);
        bodyBytes += chunk.length;
        if (reader !== undefined && !reader.done) reader.push(chunk); // Lent, not kept (BodyReader).
        return false;
      }, undefined, (err) => {
        upReq.destroy();
        this.#internalError(exchange, err);
      });
      // The runtime went away mid-post (crash, timeout kill): abandon the upstream request.
      req.on('close', () => {
        if (!req.complete) {
          upReq.destroy();
          exchange.abort?.('the runtime closed its connection before the post was complete');
        }
      });
    };
    if (!hasBody) req.resume();
    send(0);
  }

  /** Calls the lifecycle; a throw there is a bug of ours, logged, never the exchange's problem. */
  #signal(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#log.error('internal error in the lifecycle\'s view of the runtime', { code: 'LRAP_INTERNAL_ERROR', error: describeError(err) });
    }
  }

  /**
   * Relaying leaves garbage of two kinds. Buffers, off V8's heap: freed once written (written-chunks.ts),
   * except those kept a while (an event's head tracing reads, the copy of an event read whole, an
   * answer kept for the span), which V8 frees only when it collects their small Buffer objects.
   * And the JavaScript objects of each chunk's passage (Buffer objects, write requests, stream
   * state), about 0.2 MiB per MiB relayed: left alone, V8 collects them once its young generation
   * is full, by then 8-16 MiB of pages touched (6 MB cycles, test/bench/footprint.ts, 1,200 cycles:
   * peak RSS idle + 21 MiB, against + 16 with this). Given a collector (main.ts: young-generation.ts),
   * every 4 MiB relayed, or MiB kept, is followed by a young-generation collection, off the chunk's
   * path: 3 per 6 MB cycle, where one per MiB, when nothing was freed, cost a third of the proxy's
   * CPU. Called per chunk: a counter and a compare.
   */
  #relayed(bytes: number, kept: boolean): void {
    this.#bytesSinceCollect += kept ? bytes * KEPT_BYTE_WEIGHT : bytes;
    const collect = this.#collectYoung;
    if (this.#bytesSinceCollect < COLLECT_AFTER_BYTES || collect === undefined) return;
    this.#bytesSinceCollect = 0;
    setImmediate(collect);
  }

  #watchRuntimeConnection(res: http.ServerResponse, requestId: string): void {
    const socket = res.socket;
    if (!socket) return;
    const known = this.#eventOnSocket.has(socket);
    this.#eventOnSocket.set(socket, requestId);
    if (known) return; // One listener per connection, however many events it carries.
    socket.once('close', () => {
      const last = this.#eventOnSocket.get(socket);
      if (last !== undefined) this.#signal(() => this.#signals.eventConnectionClosed(last));
    });
  }

  /** Any other answer: streamed back as it comes, trailers included. */
  #relayAnswer(exchange: Exchange, upRes: http.IncomingMessage,
    onDone: ((status: number, answer: Buffer | undefined) => void) | undefined, answerBytesToKeep: number): void {
    const res = exchange.res;
    const status = upRes.statusCode ?? 502;
    writeUpstreamHead(res, upRes, forwardableHeaders(upRes.rawHeaders), this.#log);
    // Lambda's error answers (413, 403…) say what went wrong: kept for the span, as much as tracing asked for.
    const kept: Buffer[] | undefined = onDone && status >= 400 && answerBytesToKeep > 0 ? [] : undefined;
    let keptBytes = 0;
    streamBody(upRes, res, (chunk) => {
      const keep = kept !== undefined && keptBytes < answerBytesToKeep;
      this.#relayed(chunk.length, keep);
      if (!keep) return false;
      kept.push(chunk);
      keptBytes += chunk.length;
      return true;
    }, onDone && (() => onDone(status, kept ? Buffer.concat(kept) : undefined)), (err) => this.#internalError(exchange, err));
    // A break in the middle of the answer also fails the upstream request: its
    // error handler ends the call for the lifecycle and cuts the runtime's side.
    upRes.on('error', () => res.destroy());
    res.on('close', () => { if (!upRes.complete) upRes.destroy(); });
  }

  #answerBadGateway(res: http.ServerResponse, failure: string, errorType: string): void {
    if (res.writableEnded || res.destroyed) return; // Already answered (or gone): never cut a complete answer.
    if (res.headersSent) {
      res.destroy(); // Part of an answer is out: cutting the connection is the only honest signal left.
      return;
    }
    const body = Buffer.from(JSON.stringify({
      errorMessage: `lambda-trace-proxy: ${failure}`,
      errorType,
    }));
    res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    res.end(body);
  }
}

