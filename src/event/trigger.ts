// What the invocation span needs from the event, whatever its source: name, kind, semantic-convention
// attributes, and where the incoming trace context is (the "carriers"); and how each source's module
// builds one. Rules: the OpenTelemetry FaaS / AWS Lambda conventions, the HTTP server and messaging
// conventions for attributes, and test/fixtures/events/README.md where the conventions fix nothing.

import { type Attributes, SpanKind, type TextMapGetter } from '@opentelemetry/api';
import { ATTR_FAAS_TRIGGER, ATTR_MESSAGING_BATCH_MESSAGE_COUNT, ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM, FAAS_TRIGGER_VALUE_DATASOURCE, FAAS_TRIGGER_VALUE_HTTP, FAAS_TRIGGER_VALUE_OTHER, FAAS_TRIGGER_VALUE_PUBSUB, FAAS_TRIGGER_VALUE_TIMER, MESSAGING_OPERATION_TYPE_VALUE_PROCESS } from '@opentelemetry/semantic-conventions/incubating';
import { type JsonMember, type JsonObjectView, keyEquals, readObject } from './json-scan.ts';
import { stringMember } from './members.ts';

export type FaasTrigger =
  | typeof FAAS_TRIGGER_VALUE_HTTP
  | typeof FAAS_TRIGGER_VALUE_PUBSUB
  | typeof FAAS_TRIGGER_VALUE_DATASOURCE
  | typeof FAAS_TRIGGER_VALUE_TIMER
  | typeof FAAS_TRIGGER_VALUE_OTHER;

export type HttpTriggerSource = 'api-gateway-rest' | 'api-gateway-http' | 'function-url' | 'alb';

export type EventTriggerSource =
  | 'sqs'
  | 'sns'
  | 'eventbridge'
  | 'schedule'
  | 's3'
  | 'dynamodb'
  | 'kinesis'
  | 'cloudwatch-logs'
  | 'other';

export type TraceHeaderName = 'traceparent' | 'tracestate' | 'baggage' | 'x-amzn-trace-id';

/** The names a carrier holds: W3C trace context, W3C baggage, X-Ray. */
export const TRACE_HEADER_NAMES: readonly TraceHeaderName[] = ['traceparent', 'tracestate', 'baggage', 'x-amzn-trace-id'];

/**
 * Trace headers found in one place of the event, by lower-case name, with every value in event
 * order (a REST multi-value map may repeat one). An SQS record's `AWSTraceHeader` appears as
 * `x-amzn-trace-id`. Usable with OpenTelemetry propagators through `traceCarrierGetter`.
 */
export type TraceCarrier = Readonly<Partial<Record<TraceHeaderName, string[]>>>;

interface TriggerCommon {
  readonly spanName: string;
  readonly spanKind: SpanKind;
  readonly faasTrigger: FaasTrigger;
  /** Semantic-convention attributes of the trigger, `faas.trigger` included. */
  readonly attributes: Attributes;
  /** The context to join as parent: an HTTP request's headers, an SNS message's attributes. */
  readonly parentCarrier: TraceCarrier | undefined;
  /** Contexts to link, not join: one per SQS record that carries any, in record order. */
  readonly linkCarriers: readonly TraceCarrier[];
}

/** API Gateway, function URL, ALB: the event has header maps to inject into and the response a statusCode. */
export interface HttpTriggerInfo extends TriggerCommon {
  readonly source: HttpTriggerSource;
  readonly httpShaped: true;
  readonly faasTrigger: typeof FAAS_TRIGGER_VALUE_HTTP;
}

export interface EventTriggerInfo extends TriggerCommon {
  readonly source: EventTriggerSource;
  readonly httpShaped: false;
}

export type TriggerInfo = HttpTriggerInfo | EventTriggerInfo;

/** Lets OpenTelemetry propagators (`propagation.extract`) read a TraceCarrier. */
export const traceCarrierGetter: TextMapGetter<TraceCarrier> = {
  keys(carrier) {
    return Object.keys(carrier);
  },
  get(carrier, key) {
    const name = key.toLowerCase();
    return isTraceHeaderName(name) ? carrier[name] : undefined;
  },
};

export function eventTrigger(
  source: EventTriggerSource,
  faasTrigger: FaasTrigger,
  spanKind: SpanKind,
  spanName: string,
  attributes: Attributes,
  carriers: { parentCarrier?: TraceCarrier | undefined; linkCarriers?: readonly TraceCarrier[] } = {},
): EventTriggerInfo {
  return {
    source,
    httpShaped: false,
    faasTrigger,
    spanKind,
    spanName,
    attributes,
    parentCarrier: carriers.parentCarrier,
    linkCarriers: carriers.linkCarriers ?? [],
  };
}

export function otherTrigger(functionName: string): EventTriggerInfo {
  return eventTrigger('other', FAAS_TRIGGER_VALUE_OTHER, SpanKind.SERVER, functionName, {
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_OTHER,
  });
}

export function setAttribute(attributes: Attributes, key: string, value: string | number | undefined): void {
  if (value !== undefined && value !== '') attributes[key] = value;
}

/**
 * Messaging "process" attributes. `messaging.system` rather than its successor
 * `messaging.system.name`: the AWS Lambda conventions still require `messaging.system=aws_sqs`.
 */
export function messagingAttributes(system: string, destination: string | undefined, batchMessageCount?: number): Attributes {
  const attributes: Attributes = {
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_PUBSUB,
    [ATTR_MESSAGING_SYSTEM]: system,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  };
  setAttribute(attributes, ATTR_MESSAGING_DESTINATION_NAME, destination);
  if (batchMessageCount !== undefined) attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = batchMessageCount;
  return attributes;
}

/**
 * Messaging semconv for a consumer: `<source> process` (queue, topic, stream, table), or
 * `multiple_sources process` when the records come from several; the function's name when the
 * event names no source.
 */
export function processSpanName(source: string | undefined, oneSource: boolean, functionName: string): string {
  if (source !== undefined) return `${source} process`;
  return oneSource ? functionName : 'multiple_sources process';
}

/** Message attributes named like trace headers (any case), each a `{ <valueKey>: "<string>" }`. */
export function addTraceMessageAttributes(
  event: Buffer,
  carrier: Partial<Record<TraceHeaderName, string[]>>,
  messageAttributes: JsonObjectView | undefined,
  valueKey: 'stringValue' | 'Value',
): void {
  for (const member of messageAttributes?.members ?? []) {
    const name = traceHeaderNameOf(event, member);
    if (name === undefined) continue;
    const attribute = member.object ?? readObject(event, member.valueStart);
    const value = attribute === undefined ? undefined : stringMember(event, attribute, valueKey);
    if (value !== undefined) (carrier[name] ??= []).push(value);
  }
}

function traceHeaderNameOf(event: Buffer, member: JsonMember): TraceHeaderName | undefined {
  for (const name of TRACE_HEADER_NAMES) if (keyEquals(event, member, name, true)) return name;
  return undefined;
}

function isTraceHeaderName(name: string): name is TraceHeaderName {
  return (TRACE_HEADER_NAMES as readonly string[]).includes(name);
}
