// One span per invocation, keyed by request id (several invocations may be in
// flight at once on Managed Instances). The span opens when `/next` hands the
// event out and ends when the runtime's `/response` or `/error` for that id has
// reached Lambda. Read top to bottom, this file is the life of one invocation:
// start (classify, join, inject), end (outcome), and what happens to those that
// never end (timeout, crash). How long the environment is held for an
// invocation is not decided here: that is the lifecycle's (runtime-watch.ts).

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Link, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE, ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_STACKTRACE, ATTR_EXCEPTION_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_AWS_LAMBDA_INVOKED_ARN, ATTR_CLOUD_RESOURCE_ID, ATTR_FAAS_COLDSTART, ATTR_FAAS_INVOCATION_ID, ATTR_FAAS_TRIGGER,
} from '@opentelemetry/semantic-conventions/incubating';
import type { Logger } from '../log.ts';
import { headerValue } from '../proxy/headers.ts';
import { READ_MORE, READ_WHOLE, type BodyReader, type EventAnswer, type InvocationEvent, type InvocationObserver, type InvocationResult } from '../proxy/invocation-observer.ts';
import type { FunctionIdentity } from './resource.ts';
import type { TracingSettings } from '../settings/tracing-settings.ts';
import { classifyTrigger, type TriggerInfo } from '../event/triggers.ts';
import { viewEvent, viewEventHead } from '../event/view.ts';
import { joinIncomingContext } from '../context/join-context.ts';
import { formatTraceparent, parseXrayHeader, rewriteXrayParent } from '../context/trace-headers.ts';
import { injectIntoView } from '../event/inject-traceparent.ts';
import { ErrorBodyReader, parseErrorBody, parseStreamErrorTrailers, type ParsedError } from './error-body.ts';
import { StatusCodeReader } from './http-response.ts';
import { microseconds } from './microseconds.ts';
import type { InvocationFacts, PlatformObserver, PlatformTelemetry } from '../telemetry/platform-telemetry.ts';
import { ATTR_INJECTED, applyPlatformFacts, markOutOfMemory, platformError, recordInitSpan } from '../telemetry/platform-spans.ts';
import { isOutOfMemoryErrorType } from '../telemetry/out-of-memory.ts';

interface OpenInvocation {
  readonly span: Span;
  readonly trigger: TriggerInfo;
  /** What reads the post's body as it passes: the HTTP status of a response, or an error. */
  reader: StatusCodeReader | ErrorBodyReader | undefined;
  /** The runtime's post is on its way through the proxy: its result, not runtimeDone, ends the span. */
  posting: boolean;
}

export interface InvocationTrackerOptions {
  /** The tracer, made on the first call (start-tracing.ts: its resource waits for the runtime to start). */
  readonly tracer: () => Tracer;
  readonly settings: TracingSettings;
  readonly identity: FunctionIdentity;
  readonly log: Logger;
  /** Epoch ms when the extension process started: the init span begins there. */
  readonly processStartedAt: number;
  /** The runtime's first call through the proxy: it has started, and ran the wrapper if it ever will. */
  readonly onRuntimeStarted?: () => void;
  /** The Telemetry API's facts, when subscribed: spans wait for runtimeDone (bounded) to carry them. */
  readonly platform?: PlatformTelemetry;
}

/** A span whose runtime has posted, waiting (bounded) for Lambda's platform.runtimeDone. */
interface AwaitingFacts {
  readonly span: Span;
  /** performance.now() time the span ends at, whenever it is ended. */
  readonly endTime: number;
  readonly timer: NodeJS.Timeout;
}

/** Ids the proxy saw start, remembered so that a late runtimeDone never makes a second span. */
const SEEN_MEMORY = 256;


/**
 * What the extension itself added to the invocation, on every span, so users can check the cost in
 * their own traces. `/next`: from the event's last byte arriving from Lambda to its last byte handed
 * to the runtime (reading, classifying, joining, injecting, relaying). Response or error: from the
 * post's last byte arriving from the runtime to its last byte handed to Lambda.
 */
export const ATTR_ADDED_NEXT_US = 'lambda_trace_proxy.added.next_us';
export const ATTR_ADDED_RESULT_US = 'lambda_trace_proxy.added.result_us';

/** Lambda's answers refusing a post are small JSON documents; more is not worth keeping. */
const MAX_KEPT_ANSWER_BYTES = 64 * 1024;

export class InvocationTracker implements InvocationObserver, PlatformObserver {
  readonly #o: InvocationTrackerOptions;
  readonly #open = new Map<string, OpenInvocation>();
  #coldStart = true;
  #initRecorded = false;
  #runtimeReadyAt: number | undefined;
  readonly #awaiting = new Map<string, AwaitingFacts>();
  readonly #seen = new Set<string>();
  /** Flushes waiting for a span still waiting for its runtimeDone. */
  readonly #endWaiters = new Map<string, () => void>();
  /** The cold-start span and when our own measure of init ends: the init span is made when it ends. */
  #initParent: { span: Span; fallbackEnd: number } | undefined;
  /** The body of an `/init/error` post, read as it passes. */
  #initError: ErrorBodyReader | undefined;
  #lastResourceId: { readonly arn: string; readonly id: string } | undefined;

  constructor(options: InvocationTrackerOptions) {
    this.#o = options;
  }

  // ---- start -------------------------------------------------------------

  onNextRequest(at: number): void {
    if (this.#runtimeReadyAt !== undefined) return;
    this.#runtimeReadyAt = at;
    this.#o.onRuntimeStarted?.();
  }

  onInvocationEvent(event: InvocationEvent): EventAnswer {
    const { settings, identity } = this.#o;
    const view = event.body.length >= event.totalBytes
      ? viewEvent(event.body, identity.functionName)
      : viewEventHead(event.body, identity.functionName);
    if (view === 'more') return READ_MORE;
    if (view === 'whole') return READ_WHOLE;
    const coldStart = this.#coldStart;
    this.#coldStart = false;

    const trigger = view.trigger;
    // Parsed once: joining, and the rewrite below, use the same parse.
    const lambdaTrace = parseXrayHeader(single(event.headers['lambda-runtime-trace-id']));
    const incoming = joinIncomingContext(trigger, lambdaTrace, settings.propagators);
    const invokedArn = single(event.headers['lambda-runtime-invoked-function-arn']);

    const attributes: Attributes = {
      ...trigger.attributes,
      [ATTR_FAAS_TRIGGER]: trigger.faasTrigger,
      [ATTR_FAAS_INVOCATION_ID]: event.requestId,
      [ATTR_FAAS_COLDSTART]: coldStart,
    };
    if (incoming.parentSource) attributes['lambda_trace_proxy.parent_source'] = incoming.parentSource;
    if (invokedArn) {
      attributes[ATTR_AWS_LAMBDA_INVOKED_ARN] = invokedArn;
      attributes[ATTR_CLOUD_RESOURCE_ID] = this.#resourceId(invokedArn);
    }
    const parentContext = incoming.parent ? trace.setSpanContext(ROOT_CONTEXT, incoming.parent) : ROOT_CONTEXT;
    const span = this.#o.tracer().startSpan(trigger.spanName, {
      kind: trigger.spanKind,
      attributes,
      links: incoming.links as Link[],
      startTime: epochMs(event.receivedAt),
    }, parentContext);
    if (coldStart && !this.#initRecorded) this.#initParent = { span, fallbackEnd: event.receivedAt };
    // Lambda may hand the same id out again (a retried attempt): the earlier attempt is over.
    this.endAbandoned(event.requestId);
    this.#open.set(event.requestId, { span, trigger, reader: undefined, posting: false });
    this.#remember(event.requestId);

    // Hand the function our span as its parent, so its own spans join this trace.
    const own = span.spanContext();
    const body = trigger.httpShaped
      ? injectIntoView(view, formatTraceparent(own), own.traceState?.serialize() || undefined)
      : undefined;
    // Joined Lambda's X-Ray trace (same trace id): X-Ray-instrumented code in the
    // function then hangs under our span instead of beside it.
    const traceIdHeader = settings.rewriteXrayParent && lambdaTrace?.traceId === own.traceId
      ? rewriteXrayParent(lambdaTrace, own.spanId, (own.traceFlags & 1) === 1)
      : undefined;
    return body || traceIdHeader ? { body, traceIdHeader } : undefined;
  }

  /**
   * Cold start: the init phase as a child of the first span, made when that span
   * ends, so that Lambda's own init phases (Telemetry API) are known by then.
   */
  #recordInit(parent: Span, fallbackEnd: number): void {
    const { tracer, identity, processStartedAt, platform } = this.#o;
    this.#initRecorded = true;
    recordInitSpan(tracer(), parent, `${identity.functionName} init`,
      { start: processStartedAt, end: epochMs(this.#runtimeReadyAt ?? fallbackEnd) }, platform?.init, platform?.restore);
  }

  /** The function's init failed (the runtime posted /init/error): that init is the span, as an error. */
  onInitError(headers: readonly string[]): void {
    const { tracer, identity, processStartedAt } = this.#o;
    this.#initRecorded = true;
    const init = tracer().startSpan(`${identity.functionName} init`, {
      kind: SpanKind.INTERNAL,
      startTime: processStartedAt,
      attributes: { [ATTR_FAAS_COLDSTART]: true },
    }, ROOT_CONTEXT);
    const errorType = headerValue(headers, 'lambda-runtime-function-error-type');
    markError(init, this.#initError?.parse(errorType) ?? parseErrorBody(undefined, errorType));
    this.#initError = undefined;
    init.end();
  }

  // ---- what the extension added ---------------------------------------------

  onEventForwarded(requestId: string, addedMs: number): void {
    this.#open.get(requestId)?.span.setAttribute(ATTR_ADDED_NEXT_US, microseconds(addedMs));
  }

  // ---- end ---------------------------------------------------------------

  /** Error documents are read for the exception; a response only when HTTP-shaped (its statusCode); nothing is kept. */
  bodyReader(requestId: string | undefined, kind: 'response' | 'error' | 'init-error'): BodyReader | undefined {
    if (kind === 'init-error') return this.#initError = new ErrorBodyReader();
    const inv = requestId === undefined ? undefined : this.#open.get(requestId);
    if (inv === undefined) return undefined;
    inv.posting = true;
    inv.reader = kind === 'error' ? new ErrorBodyReader() : inv.trigger.httpShaped ? new StatusCodeReader() : undefined;
    return inv.reader;
  }

  answerBytesToKeep(): number {
    return MAX_KEPT_ANSWER_BYTES;
  }

  onInvocationResult(result: InvocationResult): void {
    const inv = this.#open.get(result.requestId);
    if (!inv) {
      this.#o.log.debug('result for an invocation we did not see start', { requestId: result.requestId });
      return;
    }
    this.#open.delete(result.requestId);
    const { span, trigger, reader } = inv;
    if (result.addedMs !== undefined) span.setAttribute(ATTR_ADDED_RESULT_US, microseconds(result.addedMs));
    if (result.failure !== undefined) {
      markError(span, { type: 'Extension.ProxyFailure', message: result.failure });
    } else if (result.upstreamStatus !== undefined && result.upstreamStatus >= 400) {
      // Lambda refused the post (413 too large, 403 wrong state): the caller gets an error.
      const refused = parseErrorBody(result.upstreamBody, undefined);
      markError(span, { type: refused.type ?? `HTTP ${result.upstreamStatus}`, message: refused.message });
    } else if (result.kind === 'error') {
      const errorType = headerValue(result.requestHeaders, 'lambda-runtime-function-error-type');
      const error = reader instanceof ErrorBodyReader ? reader.parse(errorType) : parseErrorBody(undefined, errorType);
      markError(span, error);
      // Java, .NET (and a caught Python MemoryError) say it only in the class they post.
      if (isOutOfMemoryErrorType(error.type)) {
        markOutOfMemory(span, 'posted-error');
        this.#o.platform?.noteOutOfMemory(result.requestId, 'posted-error');
      }
    } else {
      // A streamed response that failed midway says so in its trailers.
      const streamError = parseStreamErrorTrailers(
        headerValue(result.trailers, 'lambda-runtime-function-error-type'),
        headerValue(result.trailers, 'lambda-runtime-function-error-body'));
      if (streamError) markError(span, streamError);
      if (trigger.httpShaped && reader instanceof StatusCodeReader) {
        const status = reader.statusCode(headerValue(result.requestHeaders, 'content-type'));
        if (status !== undefined) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          // Server spans: only 5xx is an error (the client's 4xx is not ours).
          if (status >= 500 && streamError === undefined) span.setStatus({ code: SpanStatusCode.ERROR });
          if (status >= 500) span.setAttribute(ATTR_ERROR_TYPE, String(status));
        }
      }
    }
    this.#finish(result.requestId, span, performance.now());
  }

  /** Request ids whose spans have not ended yet. */
  unfinished(): string[] {
    return [...this.#open.keys(), ...this.#awaiting.keys()];
  }

  /** Invocations Lambda ended for us (timeout, crash): their spans still go out, as errors. */
  endAllOpen(reason: string): void {
    for (const [requestId, awaiting] of this.#awaiting) {
      clearTimeout(awaiting.timer);
      this.#end(requestId, awaiting.span, awaiting.endTime);
    }
    this.#awaiting.clear();
    for (const [requestId, { span }] of this.#open) {
      const facts = this.#o.platform?.facts(requestId);
      markError(span, (facts && platformError(facts)) ?? {
        type: reason === 'timeout' ? 'timeout' : `Runtime.${reason === 'failure' ? 'Failure' : 'Shutdown'}`,
        message: `invocation did not finish: environment shut down (${reason})`,
      });
      this.#end(requestId, span, performance.now());
    }
    this.#open.clear();
  }

  /**
   * Managed Instances: the lifecycle gave up on an invocation whose post never
   * came (its worker died, or it ran past its deadline, which Lambda does not
   * stop there): its span ends as a timeout instead of staying open forever.
   */
  endAbandoned(requestId: string): void {
    const inv = this.#open.get(requestId);
    if (!inv) return;
    this.#open.delete(requestId);
    markError(inv.span, { type: 'timeout', message: 'invocation did not finish: no response or error by its deadline' });
    this.#end(requestId, inv.span, performance.now());
  }

  // ---- platform facts (Telemetry API) ---------------------------------------

  /**
   * Resolves once this invocation's span has ended: at once, unless it waits
   * for its runtimeDone (at most runtimeDoneWaitMs), or at `deadline`
   * (performance.now() time). The flush after an invocation awaits this, so the
   * span leaves with Lambda's facts on it.
   */
  whenSpanEnded(requestId: string, deadline: number): Promise<void> {
    if (!this.#awaiting.has(requestId)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - performance.now()));
      const waiters = this.#endWaiters;
      function done(): void {
        clearTimeout(timer);
        waiters.delete(requestId);
        resolve();
      }
      waiters.set(requestId, done);
    });
  }

  /**
   * The runtime posted: end the span now, or, while the Telemetry API delivers,
   * once its runtimeDone arrives (~25 ms later) and at most runtimeDoneWaitMs
   * later: enrich, never gate export. The end time is the post's either way.
   */
  #finish(requestId: string, span: Span, endTime: number): void {
    const platform = this.#o.platform;
    if (platform === undefined || !platform.live || platform.facts(requestId)?.runtimeDone !== undefined) {
      this.#end(requestId, span, endTime);
      return;
    }
    const timer = setTimeout(() => {
      if (this.#awaiting.get(requestId)?.span !== span) return;
      this.#awaiting.delete(requestId);
      platform.noteMissedWait();
      this.#end(requestId, span, endTime);
    }, platform.runtimeDoneWaitMs);
    this.#awaiting.set(requestId, { span, endTime, timer });
  }

  #end(requestId: string, span: Span, endTime: number): void {
    applyPlatformFacts(span, this.#o.platform?.facts(requestId));
    span.end(epochMs(endTime));
    if (this.#initParent?.span === span) {
      this.#recordInit(span, this.#initParent.fallbackEnd);
      this.#initParent = undefined;
    }
    this.#endWaiters.get(requestId)?.();
  }

  /** Lambda says this invocation's runtime is done (Telemetry API). */
  onRuntimeDone(facts: InvocationFacts): void {
    const requestId = facts.requestId;
    const awaiting = this.#awaiting.get(requestId);
    if (awaiting !== undefined) {
      clearTimeout(awaiting.timer);
      this.#awaiting.delete(requestId);
      this.#end(requestId, awaiting.span, awaiting.endTime);
      return;
    }
    const done = facts.runtimeDone;
    if (done === undefined) return;
    const open = this.#open.get(requestId);
    // Lambda may tell of the post before the proxy has its answer (a relay
    // between us and Lambda, a busy machine): the post's result ends the span,
    // with these facts, as soon as it comes (#finish).
    if (open?.posting === true) return;
    if (open !== undefined) {
      // The runtime posted nothing and Lambda has given up on it: timeout, crash, out-of-memory.
      this.#open.delete(requestId);
      const error = platformError(facts);
      if (error !== undefined) markError(open.span, error);
      this.#end(requestId, open.span, performanceTime(done.at));
      return;
    }
    if (!this.#seen.has(requestId)) this.#traceBypassed(facts);
  }

  /**
   * An invocation the proxy never saw (the runtime talks to Lambda directly):
   * its span runs from platform.start to platform.runtimeDone, joins Lambda's
   * trace header, and says it was not injected. The lifecycle released it at
   * once (runtime-watch.ts); the span leaves with the next flush.
   */
  #traceBypassed(facts: InvocationFacts): void {
    const done = facts.runtimeDone;
    if (done === undefined) return;
    const { tracer, settings, identity } = this.#o;
    const coldStart = this.#coldStart;
    this.#coldStart = false;
    this.#remember(facts.requestId);
    const trigger = classifyTrigger(Buffer.alloc(0), identity.functionName);
    const incoming = joinIncomingContext(trigger, facts.traceHeader, settings.propagators);
    const attributes: Attributes = {
      [ATTR_FAAS_TRIGGER]: trigger.faasTrigger,
      [ATTR_FAAS_INVOCATION_ID]: facts.requestId,
      [ATTR_FAAS_COLDSTART]: coldStart,
      [ATTR_INJECTED]: false,
    };
    if (incoming.parentSource) attributes['lambda_trace_proxy.parent_source'] = incoming.parentSource;
    const start = facts.startedAt ?? done.at - (done.durationMs ?? 0);
    const span = tracer().startSpan(trigger.spanName, {
      kind: trigger.spanKind, attributes, startTime: start,
    }, incoming.parent ? trace.setSpanContext(ROOT_CONTEXT, incoming.parent) : ROOT_CONTEXT);
    const error = platformError(facts);
    if (error !== undefined) markError(span, error);
    if (coldStart && !this.#initRecorded) this.#initParent = { span, fallbackEnd: performanceTime(start) };
    this.#end(facts.requestId, span, performanceTime(done.at));
  }

  /** Lambda sends the same ARN with every event: taken apart once, not per invocation. */
  #resourceId(invokedArn: string): string {
    const last = this.#lastResourceId;
    if (last?.arn === invokedArn) return last.id;
    const id = resourceIdFromArn(invokedArn, this.#o.identity.functionVersion);
    this.#lastResourceId = { arn: invokedArn, id };
    return id;
  }

  #remember(requestId: string): void {
    this.#seen.delete(requestId);
    this.#seen.add(requestId);
    if (this.#seen.size > SEEN_MEMORY) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }
}

function markError(span: Span, error: ParsedError): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  if (error.type !== undefined) span.setAttribute(ATTR_ERROR_TYPE, error.type);
  const attrs: Attributes = {};
  if (error.type !== undefined) attrs[ATTR_EXCEPTION_TYPE] = error.type;
  if (error.message !== undefined) attrs[ATTR_EXCEPTION_MESSAGE] = error.message;
  if (error.stack !== undefined) attrs[ATTR_EXCEPTION_STACKTRACE] = error.stack;
  span.addEvent('exception', attrs);
}

/** semconv cloud.resource_id: the function ARN, with an alias replaced by the version that ran. */
function resourceIdFromArn(arn: string, version: string | undefined): string {
  const parts = arn.split(':');
  if (parts.length < 7) return arn;
  const base = parts.slice(0, 7).join(':');
  return version && version !== '$LATEST' ? `${base}:${version}` : base;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function epochMs(performanceTime: number): number {
  return performance.timeOrigin + performanceTime;
}

function performanceTime(epoch: number): number {
  return epoch - performance.timeOrigin;
}
