// Which trace an invocation joins. The event's own context comes first: it is
// the caller's (an HTTP request's traceparent, an SNS message's attributes).
// SQS batches carry one context per message, so those become links, as the
// messaging conventions say, not a parent picked at random.
//
// Lambda-Runtime-Trace-Id is always present, but it is a parent only when X-Ray
// active tracing sampled it: without active tracing Lambda still sends a header
// (Sampled=0) whose segments exist nowhere, and honouring it would both orphan
// our spans and switch sampling off for every invocation. `xray-lambda` in
// OTEL_PROPAGATORS means "always follow it", as in the OpenTelemetry SDKs.

import { TraceFlags, type Link, type SpanContext } from '@opentelemetry/api';
import type { Propagator } from '../settings/tracing-settings.ts';
import type { TraceCarrier, TriggerInfo } from '../event/triggers.ts';
import { extractW3CContext, parseXrayHeader, xrayParentContext, type XrayTraceHeader } from './trace-headers.ts';

export interface IncomingContext {
  readonly parent: SpanContext | undefined;
  /** Where the parent came from, recorded on the span for whoever debugs a broken trace. */
  readonly parentSource: 'event' | 'lambda-trace-header' | undefined;
  readonly links: readonly Link[];
}

/** `lambdaTraceHeader`: Lambda-Runtime-Trace-Id, parsed once by the caller (or as sent). */
export function joinIncomingContext(
  trigger: TriggerInfo,
  lambdaTraceHeader: XrayTraceHeader | string | undefined,
  propagators: ReadonlySet<Propagator>,
): IncomingContext {
  const fromEvent = trigger.parentCarrier ? contextFrom(trigger.parentCarrier, propagators) : undefined;
  const links: Link[] = [];
  for (const carrier of trigger.linkCarriers) {
    const context = contextFrom(carrier, propagators);
    if (context) links.push({ context });
  }
  if (fromEvent) return { parent: fromEvent, parentSource: 'event', links };

  const header = typeof lambdaTraceHeader === 'string' ? parseXrayHeader(lambdaTraceHeader) : lambdaTraceHeader;
  if (header !== undefined) {
    const follow = propagators.has('xray-lambda') || (propagators.has('xray') && header.sampled === true);
    const parent = follow ? xrayParent(header) : undefined;
    if (parent) return { parent, parentSource: 'lambda-trace-header', links };
  }
  return { parent: undefined, parentSource: undefined, links };
}

function contextFrom(carrier: TraceCarrier, propagators: ReadonlySet<Propagator>): SpanContext | undefined {
  if (propagators.has('tracecontext')) {
    const w3c = extractW3CContext(carrier.traceparent, carrier.tracestate);
    if (w3c) return w3c;
  }
  if (propagators.has('xray') || propagators.has('xray-lambda')) {
    // A repeated header (REST multi-value maps) counts by its last value, as API Gateway's `headers` map does.
    const values = carrier['x-amzn-trace-id'];
    return xrayParent(parseXrayHeader(values?.[values.length - 1]));
  }
  return undefined;
}

/**
 * `Sampled=?` (or no Sampled) means the caller deferred the decision to us: the
 * parent counts as sampled, so that our sampler's default (parent-based, on)
 * records the invocation instead of a parent-based "off" dropping it.
 */
function xrayParent(header: XrayTraceHeader | undefined): SpanContext | undefined {
  const parent = xrayParentContext(header);
  if (parent && header?.sampled === undefined) return { ...parent, traceFlags: TraceFlags.SAMPLED };
  return parent;
}
