// Platform facts on spans: what runtimeDone says of an invocation, the init
// (and SnapStart restore) phases on the cold start, and out-of-memory. The
// tracker decides when; this decides what the spans say.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { ATTR_FAAS_COLDSTART } from '@opentelemetry/semantic-conventions/incubating';
import type { ParsedError } from '../tracing/error-body.ts';
import { microseconds } from '../tracing/microseconds.ts';
import type { InitFacts, InvocationFacts, PhaseFacts, RuntimeDoneFacts } from './platform-telemetry.ts';
import { OUT_OF_MEMORY_ERROR_TYPE, type OutOfMemoryEvidence } from './out-of-memory.ts';

export const ATTR_PLATFORM_STATUS = 'lambda_trace_proxy.platform.status';
export const ATTR_PLATFORM_ERROR_TYPE = 'lambda_trace_proxy.platform.error_type';
export const ATTR_PLATFORM_DURATION_US = 'lambda_trace_proxy.platform.duration_us';
export const ATTR_PLATFORM_PRODUCED_BYTES = 'lambda_trace_proxy.platform.produced_bytes';
export const ATTR_PLATFORM_RESPONSE_LATENCY_US = 'lambda_trace_proxy.platform.response_latency_us';
export const ATTR_PLATFORM_RESPONSE_DURATION_US = 'lambda_trace_proxy.platform.response_duration_us';
export const ATTR_OUT_OF_MEMORY = 'lambda_trace_proxy.out_of_memory';
export const ATTR_OUT_OF_MEMORY_EVIDENCE = 'lambda_trace_proxy.out_of_memory.evidence';
export const ATTR_INJECTED = 'lambda_trace_proxy.injected';
export const ATTR_INIT_TYPE = 'lambda_trace_proxy.init.type';
export const ATTR_INIT_PHASE = 'lambda_trace_proxy.init.phase';
export const ATTR_INIT_STATUS = 'lambda_trace_proxy.init.status';
export const ATTR_INIT_ERROR_TYPE = 'lambda_trace_proxy.init.error_type';
export const ATTR_INIT_DURATION_US = 'lambda_trace_proxy.init.duration_us';
export const ATTR_RESTORE_STATUS = 'lambda_trace_proxy.restore.status';
export const ATTR_RESTORE_ERROR_TYPE = 'lambda_trace_proxy.restore.error_type';
export const ATTR_RESTORE_DURATION_US = 'lambda_trace_proxy.restore.duration_us';

/** runtimeDone's figures on the invocation span. */
export function runtimeDoneAttributes(done: RuntimeDoneFacts): Attributes {
  const attributes: Attributes = {};
  if (done.status !== undefined) attributes[ATTR_PLATFORM_STATUS] = done.status;
  if (done.errorType !== undefined) attributes[ATTR_PLATFORM_ERROR_TYPE] = done.errorType;
  if (done.durationMs !== undefined) attributes[ATTR_PLATFORM_DURATION_US] = microseconds(done.durationMs);
  if (done.producedBytes !== undefined) attributes[ATTR_PLATFORM_PRODUCED_BYTES] = done.producedBytes;
  if (done.responseLatencyMs !== undefined) attributes[ATTR_PLATFORM_RESPONSE_LATENCY_US] = microseconds(done.responseLatencyMs);
  if (done.responseDurationMs !== undefined) attributes[ATTR_PLATFORM_RESPONSE_DURATION_US] = microseconds(done.responseDurationMs);
  return attributes;
}

/**
 * The error of an invocation whose runtime posted nothing (timeout, crash,
 * out-of-memory), as Lambda tells it. An out-of-memory known from elsewhere
 * (the runtime's log line, say, where runtimeDone only says Runtime.ExitError)
 * names the exception too, so that it agrees with the span's error.type.
 */
export function platformError(facts: InvocationFacts): ParsedError | undefined {
  const done = facts.runtimeDone;
  if (done === undefined || done.status === 'success' || done.status === undefined) return undefined;
  const lambdaSays = `Lambda reports ${done.status}${done.errorType ? ` (${done.errorType})` : ''}`;
  if (facts.outOfMemory !== undefined) {
    return { type: OUT_OF_MEMORY_ERROR_TYPE, message: `the runtime ran out of memory and posted no result; ${lambdaSays}` };
  }
  return {
    // A timeout is `timeout` whatever Lambda calls it (Sandbox.Timedout): one error.type for every timed-out span.
    type: done.status === 'timeout' ? 'timeout' : done.errorType ?? `Runtime.${done.status === 'failure' ? 'Failure' : 'Error'}`,
    message: `the runtime posted no result; ${lambdaSays}`,
  };
}

/** One rule for every runtime: `error.type` = Runtime.OutOfMemory; what told us is kept beside it. */
export function markOutOfMemory(span: Span, evidence: OutOfMemoryEvidence): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'out of memory' });
  span.setAttributes({ [ATTR_ERROR_TYPE]: OUT_OF_MEMORY_ERROR_TYPE, [ATTR_OUT_OF_MEMORY]: true, [ATTR_OUT_OF_MEMORY_EVIDENCE]: evidence });
}

/** Everything the facts add to an invocation span, out-of-memory included. */
export function applyPlatformFacts(span: Span, facts: InvocationFacts | undefined): void {
  if (facts?.runtimeDone !== undefined) span.setAttributes(runtimeDoneAttributes(facts.runtimeDone));
  if (facts?.outOfMemory !== undefined) markOutOfMemory(span, facts.outOfMemory);
}

/**
 * The cold start's init span: Lambda's own Init phase (initStart to
 * initRuntimeDone, initReport's duration and status) when the Telemetry API
 * told us, else what we measured (extension start to the runtime's first
 * /next). A SnapStart restore is a child of it.
 */
export function recordInitSpan(
  tracer: Tracer,
  parent: Span,
  name: string,
  measured: { start: number; end: number },
  init: InitFacts | undefined,
  restore: PhaseFacts | undefined,
): Span {
  const fromPlatform = init?.startedAt !== undefined && init.doneAt !== undefined && init.doneAt >= init.startedAt;
  const attributes: Attributes = { [ATTR_FAAS_COLDSTART]: true };
  if (init !== undefined) {
    if (init.initializationType !== undefined) attributes[ATTR_INIT_TYPE] = init.initializationType;
    if (init.phase !== undefined) attributes[ATTR_INIT_PHASE] = init.phase;
    if (init.status !== undefined) attributes[ATTR_INIT_STATUS] = init.status;
    if (init.errorType !== undefined) attributes[ATTR_INIT_ERROR_TYPE] = init.errorType;
    if (init.durationMs !== undefined) attributes[ATTR_INIT_DURATION_US] = microseconds(init.durationMs);
  }
  const span = tracer.startSpan(name, {
    kind: SpanKind.INTERNAL,
    startTime: fromPlatform ? init.startedAt : measured.start,
    attributes,
  }, trace.setSpan(ROOT_CONTEXT, parent));
  if (init?.status !== undefined && init.status !== 'success') span.setStatus({ code: SpanStatusCode.ERROR, message: init.errorType ?? init.status });
  if (restore?.startedAt !== undefined) {
    const restoreAttributes: Attributes = {};
    if (restore.status !== undefined) restoreAttributes[ATTR_RESTORE_STATUS] = restore.status;
    if (restore.errorType !== undefined) restoreAttributes[ATTR_RESTORE_ERROR_TYPE] = restore.errorType;
    if (restore.durationMs !== undefined) restoreAttributes[ATTR_RESTORE_DURATION_US] = microseconds(restore.durationMs);
    const restoreSpan = tracer.startSpan(`${name.replace(/ init$/, '')} restore`, {
      kind: SpanKind.INTERNAL, startTime: restore.startedAt, attributes: restoreAttributes,
    }, trace.setSpan(ROOT_CONTEXT, span));
    if (restore.status !== undefined && restore.status !== 'success') restoreSpan.setStatus({ code: SpanStatusCode.ERROR, message: restore.errorType ?? restore.status });
    restoreSpan.end(restore.doneAt ?? (restore.durationMs !== undefined ? restore.startedAt + restore.durationMs : restore.startedAt));
  }
  span.end(fromPlatform ? init.doneAt : measured.end);
  return span;
}
