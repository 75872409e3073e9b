// The Runtime API proxy: the runtime's HTTP requests come in here and go out,
// unchanged, to the real Runtime API (or the next proxy in a chain); Lambda's
// answers come back the same way. Bodies stream through chunk by chunk with
// backpressure, trailers included. Only two things are ever read on the way:
// the event a `/next` hands out (tracing may splice `traceparent` into it) and,
// when tracing asks, the body of a `/response` or `/error` post.

import http from 'node:http';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { HostPort } from '../settings/core-config.ts';
import type { Logger } from '../log.ts';
import { describeError } from '../errors.ts';
import { classifyRoute, type RuntimeRoute } from './routes.ts';
import { forwardableHeaders, replaceHeaderValue } from './headers.ts';
import { streamBody } from './stream-body.ts';
import { freeBuffer, freeSocketReads, WrittenChunks } from './written-chunks.ts';
import { RUNTIME_API_MAX_HEADER_BYTES, RUNTIME_API_MAX_HEADERS_COUNT } from './header-limits.ts';
import type { CollectYoungGeneration } from './young-generation.ts';
import { listenWithoutCluster, type ListenAddress } from '../listen-without-cluster.ts';
import { READ_MORE, READ_WHOLE, type BodyReader, type EventAnswer, type EventRewrite, type HandedOutEvent, type InvocationObserver, type RuntimeSignals } from './invocation-observer.ts';

/** An event's announced Content-Length is trusted for one up-front allocation up to this size (Lambda's limit is 6 MB). */
const MAX_PREALLOCATED_EVENT_BYTES = 8 * 1024 * 1024;
/** An event longer than this is read by its head (see #relayEvent): smaller ones are cheaper read whole. */
const HEAD_MIN_BYTES = 64 * 1024;
/**
 * A spliced event up to this size goes out as one buffer: copying a few KiB costs less than a
 * write through node:http per piece (an API Gateway event is 9 pieces). Larger ones are written
 * piece by piece (corked), sparing a copy of up to 6 MB.
 */
const CONCAT_MAX_BYTES = 16 * 1024;
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
  /** Set while close() waits for the last exchange to finish. */
  #onIdle: (() => void) | undefined;

  constructor(upstream: HostPort, signals: RuntimeSignals, log: Logger, collectYoung?: CollectYoungGeneration) {
    this.#upstream = upstream;
    this.#signals = signals;
    this.#log = log;
    this.#collectYoung = collectYoung;
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
          this.#relayEvent(exchange, upRes, this.#observer);
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
   * An event for the runtime. Tracing reads it to join and inject: small events whole; a large one
   * (Lambda announces its length) first by its head, and once tracing has decided from the head, the
   * head goes out (spliced) with the new length and the rest follows as it arrives, unread and unheld.
   */
  #relayEvent(exchange: Exchange, upRes: http.IncomingMessage, observer: InvocationObserver): void {
    const res = exchange.res;
    const receivedAt = performance.now();
    const requestId = upRes.headers['lambda-runtime-aws-request-id'];
    const announced = Number(upRes.headers['content-length'] ?? NaN);
    const byHead = typeof requestId === 'string' && Number.isSafeInteger(announced) && announced > HEAD_MIN_BYTES
      && announced <= MAX_PREALLOCATED_EVENT_BYTES;
    let head: Buffer[] | undefined = byHead ? [] : undefined;
    let headBytes = 0;
    let nextLook = HEAD_MIN_BYTES;
    let whole: EventBody | undefined = byHead ? undefined : new EventBody(upRes.headers['content-length']);
    let streaming = false;
    let lastByteAt = receivedAt;
    const resume = () => upRes.resume();
    const written = new WrittenChunks();

    const look = (): void => {
      const bytes = head!.length === 1 ? head![0]! : Buffer.concat(head!, headBytes);
      head = [bytes];
      const answer = observer.onInvocationEvent({ requestId: requestId as string, headers: upRes.headers, body: bytes, totalBytes: announced, receivedAt });
      if (answer === READ_MORE) {
        nextLook = headBytes * 2;
      } else if (answer === READ_WHOLE) {
        whole = new EventBody(String(announced));
        whole.add(bytes);
        head = undefined;
      } else {
        head = undefined;
        streaming = true;
        this.#sendTracedEvent(res, upRes, bytes, announced, answer, true);
      }
    };

    upRes.on('data', this.#guard(exchange, (chunk: Buffer) => {
      if (streaming) {
        this.#relayed(chunk.length, false);
        if (res.destroyed) return;
        if (!written.write(res, chunk)) {
          upRes.pause();
          res.once('drain', resume);
        }
      } else if (whole !== undefined) {
        // The copy is the collector's; the chunk, once copied, is done with.
        if (whole.add(chunk)) freeBuffer(chunk);
        this.#relayed(chunk.length, true);
      } else {
        // Kept for tracing's look (and maybe sent as part of its pieces): the collector's.
        this.#relayed(chunk.length, true);
        head!.push(chunk);
        headBytes += chunk.length;
        if (headBytes >= nextLook && headBytes < announced) look();
      }
    }));
    upRes.on('error', () => res.destroy());
    // The runtime went away while the rest was streaming: stop reading, or the paused upstream
    // connection would wait for a 'drain' that never comes.
    res.on('close', () => { if (streaming && !upRes.complete) upRes.destroy(); });
    upRes.on('end', this.#guard(exchange, () => {
      lastByteAt = performance.now();
      if (!streaming) {
        const event = whole !== undefined ? whole.bytes() : Buffer.concat(head!, headBytes);
        const answer = typeof requestId === 'string'
          ? observer.onInvocationEvent({ requestId, headers: upRes.headers, body: event, totalBytes: event.length, receivedAt })
          : undefined;
        this.#sendTracedEvent(res, upRes, event, event.length, answer, false);
      } else if (!res.destroyed) {
        res.end();
      }
    }));
    res.on('finish', () => {
      if (typeof requestId === 'string') observer.onEventForwarded(requestId, performance.now() - lastByteAt);
    });
  }

  /**
   * Sends the event (or its head, `more` when the rest follows) with tracing's changes; if those
   * cannot be sent, the event as Lambda sent it must still reach the runtime.
   */
  #sendTracedEvent(res: http.ServerResponse, upRes: http.IncomingMessage, bytes: Buffer, totalBytes: number,
    answer: EventAnswer, more: boolean): void {
    const rewrite = typeof answer === 'object' ? answer : undefined;
    try {
      this.#sendEvent(res, upRes, bytes, totalBytes, rewrite, more);
    } catch (err) {
      if (res.headersSent || rewrite === undefined) throw err;
      // Tracing's changes could not be sent: the event as Lambda sent it must still reach the runtime.
      this.#log.warn('the traced event could not be sent; sending it unchanged', { code: 'LRAP_TRACING_HOOK_FAILED', error: describeError(err) });
      this.#sendEvent(res, upRes, bytes, totalBytes, undefined, more);
    }
  }

  /** `bytes` (the event, or its head when `more`) with `rewrite` applied, under a Content-Length for the whole event. */
  #sendEvent(res: http.ServerResponse, upRes: http.IncomingMessage, bytes: Buffer, totalBytes: number,
    rewrite: EventRewrite | undefined, more: boolean): void {
    const out = rewrite?.body ?? bytes;
    const pieces = Buffer.isBuffer(out) ? [out] : out;
    for (const piece of pieces) if (!Buffer.isBuffer(piece)) throw new TypeError('an event piece is not a Buffer');
    const length = totalBytes - bytes.length + pieces.reduce((n, piece) => n + piece.length, 0);
    const headers = forwardableHeaders(upRes.rawHeaders);
    if (rewrite?.traceIdHeader !== undefined) replaceHeaderValue(headers, 'lambda-runtime-trace-id', rewrite.traceIdHeader);
    if (!replaceHeaderValue(headers, 'content-length', String(length))) headers.push('Content-Length', String(length));
    this.#writeHead(res, upRes, headers);
    if (!more && (pieces.length === 1 || length <= CONCAT_MAX_BYTES)) {
      res.end(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length));
      return;
    }
    res.cork(); // One writev for all the pieces.
    for (const piece of pieces) res.write(piece);
    if (more) process.nextTick(() => res.uncork());
    else res.end();
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
    this.#writeHead(res, upRes, forwardableHeaders(upRes.rawHeaders));
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
    if (Number.isSafeInteger(size) && size > 0 && size <= MAX_PREALLOCATED_EVENT_BYTES) this.#buffer = Buffer.allocUnsafe(size);
  }

  /** Whether `chunk` was copied (else it is kept). */
  add(chunk: Buffer): boolean {
    const copied = this.#buffer !== undefined && this.#length + chunk.length <= this.#buffer.length;
    if (copied) {
      chunk.copy(this.#buffer!, this.#length);
    } else {
      // More than announced (or no announcement): fall back to keeping chunks.
      if (this.#buffer) this.#chunks.push(this.#buffer.subarray(0, this.#length));
      this.#buffer = undefined;
      this.#chunks.push(chunk);
    }
    this.#length += chunk.length;
    return copied;
  }

  bytes(): Buffer {
    if (this.#buffer) return this.#buffer.subarray(0, this.#length);
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
  }
}
