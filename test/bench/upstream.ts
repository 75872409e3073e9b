// The smallest Lambda that behaves like Lambda for the proxy: the Runtime API
// (`/next`, `/{id}/response`, `/{id}/error`) and the Extensions API (register,
// `/event/next`, INVOKE sent to the extension when the runtime gets the event,
// SHUTDOWN on request) on one loopback port. Unlike test/sandbox it records no
// bytes, only times, so it costs the timed path next to nothing.

import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const RUNTIME_PREFIX = '/2018-06-01/runtime/';
const INVOCATION_PREFIX = '/2018-06-01/runtime/invocation/';
const EXTENSION_PREFIX = '/2020-01-01/extension/';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:bench';
/** The function's timeout: long enough that no flush budget is ever cut by it. */
const TIMEOUT_MS = 60_000;
const ACCEPTED = Buffer.from('{"status":"OK"}');
const ACCEPTED_HEADERS = ['Content-Type', 'application/json', 'Content-Length', String(ACCEPTED.length)];

/** What the upstream saw of one invocation's result post. */
export interface InvocationOutcome {
  readonly kind: 'response' | 'error';
  readonly bytes: number;
  /** performance.now() of the first body bytes, and of the end of the post. */
  readonly firstByteAt: number;
  readonly endAt: number;
}

export class Invocation {
  readonly id = randomUUID();
  readonly event: Buffer;
  readonly result: Promise<InvocationOutcome>;
  #settle!: (outcome: InvocationOutcome) => void;
  #bytes = 0;
  #firstByteAt = NaN;
  #watches: { bytes: number; resolve: (at: number) => void }[] = [];

  constructor(event: Buffer) {
    this.event = event;
    this.result = new Promise((resolve) => { this.#settle = resolve; });
  }

  /** Resolves with the time the upstream had received `bytes` body bytes of the result post. */
  whenReceived(bytes: number): Promise<number> {
    if (this.#bytes >= bytes) return Promise.resolve(performance.now());
    return new Promise((resolve) => this.#watches.push({ bytes, resolve }));
  }

  onData(length: number, at: number): void {
    if (this.#bytes === 0) this.#firstByteAt = at;
    this.#bytes += length;
    if (this.#watches.length === 0) return;
    this.#watches = this.#watches.filter((w) => {
      if (w.bytes > this.#bytes) return true;
      w.resolve(at);
      return false;
    });
  }

  finish(kind: 'response' | 'error', at: number): void {
    for (const w of this.#watches) w.resolve(at);
    this.#watches = [];
    this.#settle({ kind, bytes: this.#bytes, firstByteAt: this.#firstByteAt, endAt: at });
  }
}

export interface UpstreamOptions {
  /**
   * Managed Instances style: every `/next` gets a fresh event from here at once
   * and several may be in flight. Without it, events are queued with `enqueue`
   * and a `/next` waits for one.
   */
  readonly eventSource?: () => Buffer;
}

export class Upstream {
  readonly #server: http.Server;
  readonly #eventSource: (() => Buffer) | undefined;
  readonly #queue: Invocation[] = [];
  readonly #waitingRuntimes: http.ServerResponse[] = [];
  readonly #open = new Map<string, Invocation>();
  #port = 0;

  // The extension, if one registers.
  #subscribed = new Set<string>();
  #waitingExtension: http.ServerResponse | undefined;
  readonly #extensionEvents: Buffer[] = [];
  #extensionWaiters: ((at: number) => void)[] = [];
  #registerWaiters: ((at: number) => void)[] = [];
  /** performance.now() when the register request arrived. */
  registeredAt: number | undefined;
  /** performance.now() when the extension last called `/event/next`. */
  lastEventNextAt = NaN;

  constructor(options: UpstreamOptions = {}) {
    this.#eventSource = options.eventSource;
    this.#server = http.createServer({ noDelay: true, keepAliveTimeout: 0, requestTimeout: 0, headersTimeout: 0 },
      (req, res) => this.#route(req, res));
    this.#server.timeout = 0;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Queues an event; the next `/next` gets it (at once if the runtime is already waiting). */
  enqueue(event: Buffer): Invocation {
    const invocation = new Invocation(event);
    const waiting = this.#waitingRuntimes.shift();
    if (waiting) this.#handOut(invocation, waiting);
    else this.#queue.push(invocation);
    return invocation;
  }

  /** Resolves with the register request's arrival time. */
  whenRegistered(): Promise<number> {
    if (this.registeredAt !== undefined) return Promise.resolve(this.registeredAt);
    return new Promise((resolve) => this.#registerWaiters.push(resolve));
  }

  /** Resolves once the extension is blocked in `/event/next`, with the time it called. */
  whenExtensionWaiting(): Promise<number> {
    if (this.#waitingExtension) return Promise.resolve(this.lastEventNextAt);
    return new Promise((resolve) => this.#extensionWaiters.push(resolve));
  }

  /** Sends SHUTDOWN (spindown, 2 s budget, as Lambda) to the extension. */
  shutdownExtension(): void {
    this.#sendToExtension(Buffer.from(JSON.stringify({
      eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs: Date.now() + 2000,
    })));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    if (url.startsWith(INVOCATION_PREFIX)) {
      if (url === `${INVOCATION_PREFIX}next`) return this.#next(res, req);
      const rest = url.slice(INVOCATION_PREFIX.length);
      const slash = rest.indexOf('/');
      const kind = rest.slice(slash + 1);
      if (slash > 0 && (kind === 'response' || kind === 'error')) return this.#result(rest.slice(0, slash), kind, req, res);
    } else if (url.startsWith(EXTENSION_PREFIX)) {
      const what = url.slice(EXTENSION_PREFIX.length);
      if (what === 'register') return this.#register(req, res);
      if (what === 'event/next') return this.#eventNext(req, res);
      if (what === 'init/error' || what === 'exit/error') return answerAndDrain(req, res, 202, ACCEPTED);
    } else if (url.startsWith(RUNTIME_PREFIX) && url.endsWith('/init/error')) {
      return answerAndDrain(req, res, 202, ACCEPTED);
    }
    answerAndDrain(req, res, 404, Buffer.from('{"errorType":"NotFound"}'));
  }

  #next(res: http.ServerResponse, req: http.IncomingMessage): void {
    req.resume();
    const queued = this.#queue.shift() ?? (this.#eventSource ? new Invocation(this.#eventSource()) : undefined);
    if (queued) this.#handOut(queued, res);
    else this.#waitingRuntimes.push(res);
  }

  #handOut(invocation: Invocation, res: http.ServerResponse): void {
    this.#open.set(invocation.id, invocation);
    const deadlineMs = Date.now() + TIMEOUT_MS;
    const traceId = xrayTraceHeader();
    res.writeHead(200, [
      'Content-Type', 'application/json',
      'Lambda-Runtime-Aws-Request-Id', invocation.id,
      'Lambda-Runtime-Deadline-Ms', String(deadlineMs),
      'Lambda-Runtime-Invoked-Function-Arn', FUNCTION_ARN,
      'Lambda-Runtime-Trace-Id', traceId,
      'Content-Length', String(invocation.event.length),
    ]);
    res.end(invocation.event);
    // Lambda tells subscribed extensions when the runtime gets the event.
    if (this.#subscribed.has('INVOKE')) {
      this.#sendToExtension(Buffer.from(JSON.stringify({
        eventType: 'INVOKE', deadlineMs, requestId: invocation.id, invokedFunctionArn: FUNCTION_ARN,
        tracing: { type: 'X-Amzn-Trace-Id', value: traceId },
      })));
    }
  }

  #result(id: string, kind: 'response' | 'error', req: http.IncomingMessage, res: http.ServerResponse): void {
    const invocation = this.#open.get(id);
    if (!invocation) return answerAndDrain(req, res, 400, Buffer.from('{"errorType":"InvalidRequestID"}'));
    this.#open.delete(id);
    req.on('data', (chunk: Buffer) => invocation.onData(chunk.length, performance.now()));
    req.on('end', () => {
      const at = performance.now();
      res.writeHead(202, ACCEPTED_HEADERS);
      res.end(ACCEPTED);
      invocation.finish(kind, at);
    });
  }

  #register(req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const events = typeof body === 'object' && body !== null ? (body as { events?: unknown }).events : undefined;
        this.#subscribed = new Set(Array.isArray(events) ? events.filter((e): e is string => typeof e === 'string') : []);
      } catch {
        this.#subscribed = new Set();
      }
      this.registeredAt = at;
      const info = Buffer.from(JSON.stringify({
        functionName: 'bench', functionVersion: '$LATEST', handler: 'index.handler', accountId: '123456789012',
      }));
      res.writeHead(200, [
        'Content-Type', 'application/json',
        'Lambda-Extension-Identifier', randomUUID(),
        'Content-Length', String(info.length),
      ]);
      res.end(info);
      const waiters = this.#registerWaiters;
      this.#registerWaiters = [];
      for (const w of waiters) w(at);
    });
  }

  #eventNext(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    this.lastEventNextAt = performance.now();
    const pending = this.#extensionEvents.shift();
    if (pending) {
      sendEvent(res, pending);
      return;
    }
    this.#waitingExtension = res;
    const waiters = this.#extensionWaiters;
    this.#extensionWaiters = [];
    for (const w of waiters) w(this.lastEventNextAt);
  }

  #sendToExtension(event: Buffer): void {
    const waiting = this.#waitingExtension;
    this.#waitingExtension = undefined;
    if (waiting) sendEvent(waiting, event);
    else this.#extensionEvents.push(event);
  }
}

function sendEvent(res: http.ServerResponse, event: Buffer): void {
  res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(event.length)]);
  res.end(event);
}

function answerAndDrain(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: Buffer): void {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, ['Content-Type', 'application/json', 'Content-Length', String(body.length)]);
    res.end(body);
  });
}

/**
 * Lambda's X-Ray header, as every `/next` carries it. Sampled=1 (active
 * tracing): with Sampled=0 a parent-based sampler would record nothing for a
 * plain event, and the benchmark would time a proxy that exports nothing.
 */
function xrayTraceHeader(): string {
  const hex = randomBytes(20).toString('hex');
  const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${epoch}-${hex.slice(0, 24)};Parent=${hex.slice(24, 40)};Sampled=1`;
}
