import { randomBytes, randomUUID } from 'node:crypto';
import { now } from './clock.ts';
import { withRawHeader } from './raw-headers.ts';
import type { BodyChunk, RecordedRequest } from './recorder.ts';

export type InvokeOutcome = 'response' | 'error' | 'timeout' | 'crash';

export interface InvokeOptions {
  /** `Lambda-Runtime-Trace-Id` value; default a fresh sampled X-Ray header. */
  readonly traceId?: string;
  /** `Lambda-Runtime-Client-Context`, sent only when given. */
  readonly clientContext?: string;
  /** `Lambda-Runtime-Cognito-Identity`, sent only when given. */
  readonly cognitoIdentity?: string;
  /** Overrides the function timeout for this invocation. */
  readonly timeoutMs?: number;
  /** Added to the `/next` response; a name already sent (e.g. Content-Type) is replaced. */
  readonly extraHeaders?: readonly (readonly [string, string])[];
}

export interface InvokeResult {
  readonly requestId: string;
  readonly outcome: InvokeOutcome;
  /** What the sandbox answered the runtime's post (202, 413…); null if it never posted. */
  readonly status: number | null;
  /** `Lambda-Runtime-Function-Error-Type` (header or trailer), else the body's `errorType`; `Function.ResponseSizeTooLarge` on 413. */
  readonly errorType: string | null;
  /** Exact bytes the runtime posted (empty for timeout/crash). */
  readonly body: Buffer;
  /** Raw `[name, value, …]` of the runtime's post. */
  readonly requestHeaders: readonly string[];
  /** Raw trailers of the runtime's post. */
  readonly trailers: readonly string[];
  /** The post had `Lambda-Runtime-Function-Response-Mode: streaming`. */
  readonly streamed: boolean;
  /** Body chunks with arrival times; only for streamed responses. */
  readonly chunks?: readonly BodyChunk[];
  readonly traceId: string;
  /** The `Lambda-Runtime-Deadline-Ms` that was sent (epoch ms). */
  readonly deadlineMs: number;
  /** When the event was handed to the runtime (epoch ms). */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
}

/** What the runtime posted for an invocation. */
export interface RuntimePost {
  readonly status: number;
  readonly errorType: string | null;
  readonly request: RecordedRequest;
  readonly streamed: boolean;
}

export interface PlatformOutcome {
  readonly status: 'success' | 'error' | 'failure' | 'timeout';
  readonly errorType?: string;
  /** Epoch ms when the runtime's post began. */
  readonly responseStart: number;
  readonly responseLatencyMs: number;
  readonly responseDurationMs: number;
}

/**
 * queued → running (event handed to `/next`) → posted (runtime answered; the
 * invoke phase still waits for extensions) → ended.
 */
export type InvocationState = 'queued' | 'running' | 'posted' | 'ended';

export class Invocation {
  readonly requestId = randomUUID();
  readonly payload: Buffer;
  readonly traceId: string;
  readonly timeoutMs: number;
  readonly #options: InvokeOptions;
  state: InvocationState = 'queued';
  deadlineMs = 0;
  startedAt = 0;
  deadlineTimer: NodeJS.Timeout | null = null;
  result: InvokeResult | null = null;
  /** The platform's span id for this invocation (platform.start `tracing.spanId`). */
  readonly platformSpanId = randomBytes(8).toString('hex');
  /** What platform.runtimeDone said, reused by platform.report. */
  platform: PlatformOutcome | null = null;
  readonly done: Promise<InvokeResult>;
  #resolve: (result: InvokeResult) => void = () => {};
  #reject: (err: Error) => void = () => {};

  constructor(payload: Buffer | string, timeoutMs: number, options: InvokeOptions) {
    this.payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    this.traceId = options.traceId ?? newXRayTraceHeader();
    this.timeoutMs = options.timeoutMs ?? timeoutMs;
    this.#options = options;
    this.done = new Promise<InvokeResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Marks the event as handed out now; returns the deadline (epoch ms). */
  start(): number {
    this.state = 'running';
    this.startedAt = now();
    this.deadlineMs = Date.now() + this.timeoutMs;
    return this.deadlineMs;
  }

  /** Headers of the `/next` response (Runtime API `GET /runtime/invocation/next`). */
  nextHeaders(invokedFunctionArn: string): string[] {
    let headers = [
      'Lambda-Runtime-Aws-Request-Id', this.requestId,
      'Lambda-Runtime-Deadline-Ms', String(this.deadlineMs),
      'Lambda-Runtime-Invoked-Function-Arn', invokedFunctionArn,
      'Lambda-Runtime-Trace-Id', this.traceId,
    ];
    if (this.#options.clientContext !== undefined) headers.push('Lambda-Runtime-Client-Context', this.#options.clientContext);
    if (this.#options.cognitoIdentity !== undefined) headers.push('Lambda-Runtime-Cognito-Identity', this.#options.cognitoIdentity);
    headers.push('Content-Type', 'application/json');
    for (const [name, value] of this.#options.extraHeaders ?? []) headers = withRawHeader(headers, name, value);
    return withRawHeader(headers, 'Content-Length', String(this.payload.length));
  }

  /** The Extensions API INVOKE event for this invocation. */
  invokeEvent(invokedFunctionArn: string): Buffer {
    return Buffer.from(
      JSON.stringify({
        eventType: 'INVOKE',
        deadlineMs: this.deadlineMs,
        requestId: this.requestId,
        invokedFunctionArn,
        tracing: { type: 'X-Amzn-Trace-Id', value: this.traceId },
      }),
    );
  }

  /** Ends the invocation for the caller. Later calls are ignored. */
  settle(outcome: InvokeOutcome, post: RuntimePost | null): InvokeResult {
    if (this.result !== null) return this.result;
    const endedAt = now();
    const request = post?.request;
    this.result = {
      requestId: this.requestId,
      outcome,
      status: post?.status ?? null,
      errorType: post?.errorType ?? null,
      body: request?.body ?? Buffer.alloc(0),
      requestHeaders: request?.rawHeaders ?? [],
      trailers: request?.trailers ?? [],
      streamed: post?.streamed ?? false,
      ...(post?.streamed === true && request !== undefined ? { chunks: request.chunks } : {}),
      traceId: this.traceId,
      deadlineMs: this.deadlineMs,
      startedAt: this.startedAt,
      endedAt,
      durationMs: endedAt - this.startedAt,
    };
    this.#resolve(this.result);
    return this.result;
  }

  /** Rejects an invocation that could not run (Init failed, sandbox shut down). */
  fail(err: Error): void {
    if (this.result !== null) return;
    this.state = 'ended';
    this.#reject(err);
  }
}

/** `Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=1`, as Lambda sends with active tracing. */
export function newXRayTraceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;
}
