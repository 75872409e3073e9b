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
import type { EventRewrite, InvocationEvent, InvocationObserver, InvocationResult } from '../proxy/invocation-observer.ts';
import type { FunctionIdentity } from './resource.ts';
import type { TracingSettings } from '../settings/tracing-settings.ts';
import { classifyTrigger, type TriggerInfo } from '../event/triggers.ts';
import { joinIncomingContext } from '../context/join-context.ts';
import { formatTraceparent, parseXrayHeader, rewriteXrayParent } from '../context/trace-headers.ts';
import { injectTraceContextPieces } from '../event/inject-traceparent.ts';
import { parseErrorBody, parseStreamErrorTrailers, type ParsedError } from './error-body.ts';
import { readStatusCode } from './http-response.ts';

interface OpenInvocation {
  readonly span: Span;
  readonly trigger: TriggerInfo;
}

export interface InvocationTrackerOptions {
  readonly tracer: Tracer;
  readonly settings: TracingSettings;
  readonly identity: FunctionIdentity;
  readonly log: Logger;
  /** Epoch ms when the extension process started: the init span begins there. */
  readonly processStartedAt: number;
  readonly onFirstEvent: () => void;
}

/** Posts kept to read an error or a status code; larger ones are forwarded unread (6 MB is Lambda's buffered limit). */
const MAX_KEPT_POST_BYTES = 8 * 1024 * 1024;
/** Lambda's answers refusing a post are small JSON documents; more is not worth keeping. */
const MAX_KEPT_ANSWER_BYTES = 64 * 1024;

export class InvocationTracker implements InvocationObserver {
  readonly #o: InvocationTrackerOptions;
  readonly #open = new Map<string, OpenInvocation>();
  #coldStart = true;
  #initRecorded = false;
  #runtimeReadyAt: number | undefined;

  constructor(options: InvocationTrackerOptions) {
    this.#o = options;
  }

  // ---- start -------------------------------------------------------------

  onNextRequest(at: number): void {
    this.#runtimeReadyAt ??= at;
  }

  onInvocationEvent(event: InvocationEvent): EventRewrite | undefined {
    const { tracer, settings, identity } = this.#o;
    const coldStart = this.#coldStart;
    this.#coldStart = false;
    if (coldStart) this.#o.onFirstEvent();

    const trigger = classifyTrigger(event.body, identity.functionName);
    const lambdaTraceHeader = single(event.headers['lambda-runtime-trace-id']);
    const incoming = joinIncomingContext(trigger, lambdaTraceHeader, settings.propagators);
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
      attributes[ATTR_CLOUD_RESOURCE_ID] = resourceIdFromArn(invokedArn, identity.functionVersion);
    }
    const parentContext = incoming.parent ? trace.setSpanContext(ROOT_CONTEXT, incoming.parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(trigger.spanName, {
      kind: trigger.spanKind,
      attributes,
      links: incoming.links as Link[],
      startTime: epochMs(event.receivedAt),
    }, parentContext);
    if (coldStart && !this.#initRecorded) this.#recordInit(span, event.receivedAt);
    // Lambda may hand the same id out again (a retried attempt): the earlier attempt is over.
    this.endAbandoned(event.requestId);
    this.#open.set(event.requestId, { span, trigger });

    // Hand the function our span as its parent, so its own spans join this trace.
    const own = span.spanContext();
    const body = trigger.httpShaped
      ? injectTraceContextPieces(event.body, trigger, formatTraceparent(own), own.traceState?.serialize() || undefined)
      : undefined;
    // Joined Lambda's X-Ray trace (same trace id): X-Ray-instrumented code in the
    // function then hangs under our span instead of beside it.
    const traceIdHeader = settings.rewriteXrayParent && lambdaTraceHeader !== undefined
      && parseXrayHeader(lambdaTraceHeader)?.traceId === own.traceId
      ? rewriteXrayParent(lambdaTraceHeader, own.spanId, (own.traceFlags & 1) === 1)
      : undefined;
    return body || traceIdHeader ? { body, traceIdHeader } : undefined;
  }

  /** Cold start: the init phase (extension start to the runtime's first /next) as a child of the first span. */
  #recordInit(parent: Span, fallbackEnd: number): void {
    const { tracer, identity, processStartedAt } = this.#o;
    const init = tracer.startSpan(`${identity.functionName} init`, {
      kind: SpanKind.INTERNAL,
      startTime: processStartedAt,
      attributes: { [ATTR_FAAS_COLDSTART]: true },
    }, trace.setSpan(ROOT_CONTEXT, parent));
    init.end(epochMs(this.#runtimeReadyAt ?? fallbackEnd));
  }

  /** The function's init failed (the runtime posted /init/error): that init is the span, as an error. */
  onInitError(headers: readonly string[], body: Buffer): void {
    const { tracer, identity, processStartedAt } = this.#o;
    this.#initRecorded = true;
    const init = tracer.startSpan(`${identity.functionName} init`, {
      kind: SpanKind.INTERNAL,
      startTime: processStartedAt,
      attributes: { [ATTR_FAAS_COLDSTART]: true },
    }, ROOT_CONTEXT);
    markError(init, parseErrorBody(body, headerValue(headers, 'lambda-runtime-function-error-type')));
    init.end();
  }

  // ---- end ---------------------------------------------------------------

  /** Error documents are read for the exception; a response only when HTTP-shaped (its statusCode). */
  postBytesToKeep(requestId: string | undefined, kind: 'response' | 'error' | 'init-error'): number {
    if (kind !== 'response') return MAX_KEPT_POST_BYTES;
    const httpShaped = requestId !== undefined && (this.#open.get(requestId)?.trigger.httpShaped ?? false);
    return httpShaped ? MAX_KEPT_POST_BYTES : 0;
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
    const { span, trigger } = inv;
    if (result.failure !== undefined) {
      markError(span, { type: 'Extension.ProxyFailure', message: result.failure });
    } else if (result.upstreamStatus !== undefined && result.upstreamStatus >= 400) {
      // Lambda refused the post (413 too large, 403 wrong state): the caller gets an error.
      const refused = parseErrorBody(result.upstreamBody, undefined);
      markError(span, { type: refused.type ?? `HTTP ${result.upstreamStatus}`, message: refused.message });
    } else if (result.kind === 'error') {
      markError(span, parseErrorBody(result.body, headerValue(result.requestHeaders, 'lambda-runtime-function-error-type')));
    } else {
      // A streamed response that failed midway says so in its trailers.
      const streamError = parseStreamErrorTrailers(
        headerValue(result.trailers, 'lambda-runtime-function-error-type'),
        headerValue(result.trailers, 'lambda-runtime-function-error-body'));
      if (streamError) markError(span, streamError);
      if (trigger.httpShaped && result.body) {
        const status = readStatusCode(result.body, headerValue(result.requestHeaders, 'content-type'));
        if (status !== undefined) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          // Server spans: only 5xx is an error (the client's 4xx is not ours).
          if (status >= 500 && streamError === undefined) span.setStatus({ code: SpanStatusCode.ERROR });
          if (status >= 500) span.setAttribute(ATTR_ERROR_TYPE, String(status));
        }
      }
    }
    span.end();
  }

  /** Invocations Lambda ended for us (timeout, crash): their spans still go out, as errors. */
  endAllOpen(reason: string): void {
    for (const { span } of this.#open.values()) {
      markError(span, {
        type: reason === 'timeout' ? 'timeout' : `Runtime.${reason === 'failure' ? 'Failure' : 'Shutdown'}`,
        message: `invocation did not finish: environment shut down (${reason})`,
      });
      span.end();
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
    inv.span.end();
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
