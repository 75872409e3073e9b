// Which service invoked the function, told from the event bytes alone, and what the invocation
// span needs from it: name, kind, semantic-convention attributes, and where the incoming trace
// context is (the "carriers").
//
// Rules: the OpenTelemetry FaaS / AWS Lambda conventions (span named after the function unless a
// trigger says otherwise; API Gateway: `{method} {resource}` and `http.route`; SQS: kind CONSUMER,
// `<queue> process` or `multiple_sources process`, one link per record), the HTTP server and
// messaging conventions for attributes, and test/fixtures/events/README.md for kinds where the
// conventions fix nothing.
//
// Cost: events reach 6 MB. The json-scan module locates members without building the document;
// only small members (request context, header maps, SQS attributes) are parsed, each capped at
// PARSE_LIMIT, so a 6 MB `body` is skipped with `indexOf`, never decoded. Nothing is re-serialised.
// Never throws: anything unexpected yields the "other" trigger.

import { SpanKind, type Attributes, type TextMapGetter } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  HTTP_REQUEST_METHOD_VALUE_CONNECT,
  HTTP_REQUEST_METHOD_VALUE_DELETE,
  HTTP_REQUEST_METHOD_VALUE_GET,
  HTTP_REQUEST_METHOD_VALUE_HEAD,
  HTTP_REQUEST_METHOD_VALUE_OPTIONS,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
  HTTP_REQUEST_METHOD_VALUE_PATCH,
  HTTP_REQUEST_METHOD_VALUE_POST,
  HTTP_REQUEST_METHOD_VALUE_PUT,
  HTTP_REQUEST_METHOD_VALUE_TRACE,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_CLOUD_REGION,
  ATTR_FAAS_DOCUMENT_COLLECTION,
  ATTR_FAAS_DOCUMENT_NAME,
  ATTR_FAAS_DOCUMENT_OPERATION,
  ATTR_FAAS_DOCUMENT_TIME,
  ATTR_FAAS_TRIGGER,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  FAAS_DOCUMENT_OPERATION_VALUE_DELETE,
  FAAS_DOCUMENT_OPERATION_VALUE_EDIT,
  FAAS_DOCUMENT_OPERATION_VALUE_INSERT,
  FAAS_TRIGGER_VALUE_DATASOURCE,
  FAAS_TRIGGER_VALUE_HTTP,
  FAAS_TRIGGER_VALUE_OTHER,
  FAAS_TRIGGER_VALUE_PUBSUB,
  FAAS_TRIGGER_VALUE_TIMER,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEM_VALUE_AWS_SNS,
  MESSAGING_SYSTEM_VALUE_AWS_SQS,
} from '@opentelemetry/semantic-conventions/incubating';
import {
  asJsonObject,
  asNonEmptyString,
  compileShape,
  decodeString,
  findMember,
  keyEquals,
  parseSlice,
  readObject,
  readRootObject,
  sameValueBytes,
  type JsonMember,
  type JsonObjectView,
} from './json-scan.ts';

// ---------------------------------------------------------------- types

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

// ---------------------------------------------------------------- entry point

/**
 * Every member of an event this module reads, and nothing else: the scan keeps only these, and reads
 * each record's nested members in the same pass, so a batch of thousands of records is scanned once.
 */
const EVENT_SHAPE = compileShape({
  Records: [
    {
      eventSource: true,
      EventSource: true,
      eventSourceARN: true,
      eventName: true,
      eventTime: true,
      eventID: true,
      awsRegion: true,
      messageId: true,
      attributes: { AWSTraceHeader: true },
      messageAttributes: { '*': { stringValue: true } },
      Sns: { TopicArn: true, MessageId: true, MessageAttributes: { '*': { Value: true } } },
      s3: true,
    },
  ],
  awslogs: true,
  requestContext: true,
  methodArn: true,
  headers: true,
  multiValueHeaders: true,
  httpMethod: true,
  resource: true,
  path: true,
  routeKey: true,
  rawPath: true,
  rawQueryString: true,
  queryStringParameters: true,
  multiValueQueryStringParameters: true,
  'detail-type': true,
  source: true,
  id: true,
  region: true,
});

/** Members larger than this are not parsed; the ones we parse (header maps, request context, an S3 record) are KBs. */
const PARSE_LIMIT = 256 * 1024;

/** Classifies an event; `functionName` names the span when the trigger gives nothing better. */
export function classifyTrigger(event: Buffer, functionName: string): TriggerInfo {
  try {
    return classifyJsonEvent(event, functionName) ?? otherTrigger(functionName);
  } catch {
    // A fault here must not cost the invocation: an unclassified span is still a span.
    return otherTrigger(functionName);
  }
}

function classifyJsonEvent(event: Buffer, functionName: string): TriggerInfo | undefined {
  // Non-JSON, arrays and scalars are direct invocations: readRootObject refuses them at byte 0.
  const root = readRootObject(event, EVENT_SHAPE);
  if (root === undefined) return undefined;
  const records = findMember(event, root, 'Records');
  if (records !== undefined) return classifyRecords(event, records, functionName);
  if (findMember(event, root, 'awslogs') !== undefined) return cloudWatchLogsTrigger(functionName);
  if (findMember(event, root, 'requestContext') !== undefined) return classifyHttpRequest(event, root, functionName);
  if (findMember(event, root, 'detail-type') !== undefined) return classifyEventBridge(event, root, functionName);
  return undefined;
}

// ---------------------------------------------------------------- HTTP

const KNOWN_HTTP_METHODS: ReadonlySet<string> = new Set([
  HTTP_REQUEST_METHOD_VALUE_CONNECT,
  HTTP_REQUEST_METHOD_VALUE_DELETE,
  HTTP_REQUEST_METHOD_VALUE_GET,
  HTTP_REQUEST_METHOD_VALUE_HEAD,
  HTTP_REQUEST_METHOD_VALUE_OPTIONS,
  HTTP_REQUEST_METHOD_VALUE_PATCH,
  HTTP_REQUEST_METHOD_VALUE_POST,
  HTTP_REQUEST_METHOD_VALUE_PUT,
  HTTP_REQUEST_METHOD_VALUE_TRACE,
]);

/** HTTP semconv: values of these query parameters are redacted by default. */
const SENSITIVE_QUERY_PARAMETERS: ReadonlySet<string> = new Set(['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature']);

/** Lower-case header name → every value, from whichever of `headers` / `multiValueHeaders` the event has. */
type HeaderIndex = ReadonlyMap<string, readonly string[]>;

/** What the span needs to know about one HTTP request, whatever the payload format. */
interface HttpRequestFacts {
  readonly method: string | undefined;
  /** The route template (`/pets/{petId}`); undefined when there is none (`$default`, ALB). */
  readonly route: string | undefined;
  readonly path: string | undefined;
  readonly query: string | undefined;
  readonly serverAddress: string | undefined;
  readonly clientAddress: string | undefined;
  readonly userAgent: string | undefined;
  /** As the event has it: `HTTP/1.1`. */
  readonly protocol: string | undefined;
  readonly headers: HeaderIndex;
}

function classifyHttpRequest(event: Buffer, root: JsonObjectView, functionName: string): TriggerInfo | undefined {
  // Lambda authorizers get API Gateway-shaped requests but answer with a policy, not an HTTP response.
  if (findMember(event, root, 'methodArn') !== undefined) return undefined;
  const requestContext = asJsonObject(parsedMember(event, root, 'requestContext'));
  if (requestContext === undefined) return undefined;
  const headers = indexHeaders(parsedMember(event, root, 'headers'), parsedMember(event, root, 'multiValueHeaders'));
  if (asJsonObject(requestContext.elb) !== undefined) {
    return httpTrigger('alb', albFacts(event, root, headers), functionName);
  }
  const http = asJsonObject(requestContext.http);
  if (http !== undefined) {
    // Payload 2.0 is shared by HTTP APIs and function URLs; only the domain tells them apart.
    const domainName = asNonEmptyString(requestContext.domainName);
    const source = domainName?.includes('.lambda-url.') ? 'function-url' : 'api-gateway-http';
    return httpTrigger(source, payloadV2Facts(event, root, requestContext, http, headers), functionName);
  }
  if (stringMember(event, root, 'httpMethod') !== undefined) {
    return httpTrigger('api-gateway-rest', payloadV1Facts(event, root, requestContext, headers), functionName);
  }
  return undefined;
}

/** API Gateway payload 1.0: REST APIs, and HTTP APIs set to format 1.0. */
function payloadV1Facts(
  event: Buffer,
  root: JsonObjectView,
  requestContext: Readonly<Record<string, unknown>>,
  headers: HeaderIndex,
): HttpRequestFacts {
  const identity = asJsonObject(requestContext.identity);
  return {
    method: stringMember(event, root, 'httpMethod') ?? asNonEmptyString(requestContext.httpMethod),
    route: stringMember(event, root, 'resource') ?? asNonEmptyString(requestContext.resourcePath),
    path: stringMember(event, root, 'path'),
    // Payload 1.0 carries only decoded parameter maps, not the query string as sent.
    query: undefined,
    serverAddress: asNonEmptyString(requestContext.domainName) ?? firstHeader(headers, 'host'),
    clientAddress: asNonEmptyString(identity?.sourceIp),
    userAgent: firstHeader(headers, 'user-agent') ?? asNonEmptyString(identity?.userAgent),
    protocol: asNonEmptyString(requestContext.protocol),
    headers,
  };
}

/** Payload 2.0: HTTP APIs and function URLs. */
function payloadV2Facts(
  event: Buffer,
  root: JsonObjectView,
  requestContext: Readonly<Record<string, unknown>>,
  http: Readonly<Record<string, unknown>>,
  headers: HeaderIndex,
): HttpRequestFacts {
  return {
    method: asNonEmptyString(http.method),
    route: routeFromRouteKey(stringMember(event, root, 'routeKey') ?? asNonEmptyString(requestContext.routeKey)),
    path: stringMember(event, root, 'rawPath') ?? asNonEmptyString(http.path),
    query: stringMember(event, root, 'rawQueryString'),
    serverAddress: asNonEmptyString(requestContext.domainName) ?? firstHeader(headers, 'host'),
    clientAddress: asNonEmptyString(http.sourceIp),
    userAgent: asNonEmptyString(http.userAgent) ?? firstHeader(headers, 'user-agent'),
    protocol: asNonEmptyString(http.protocol),
    headers,
  };
}

function albFacts(event: Buffer, root: JsonObjectView, headers: HeaderIndex): HttpRequestFacts {
  return {
    method: stringMember(event, root, 'httpMethod'),
    route: undefined,
    path: stringMember(event, root, 'path'),
    query: albQueryString(
      parsedMember(event, root, 'multiValueQueryStringParameters'),
      parsedMember(event, root, 'queryStringParameters'),
    ),
    serverAddress: firstHeader(headers, 'host'),
    // The load balancer appends the peer to X-Forwarded-For; the first entry is the original client.
    clientAddress: firstHeader(headers, 'x-forwarded-for')?.split(',')[0]?.trim() || undefined,
    userAgent: firstHeader(headers, 'user-agent'),
    protocol: undefined,
    headers,
  };
}

function httpTrigger(source: HttpTriggerSource, facts: HttpRequestFacts, functionName: string): HttpTriggerInfo {
  const attributes: Attributes = { [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_HTTP };
  const knownMethod = facts.method !== undefined && KNOWN_HTTP_METHODS.has(facts.method);
  if (facts.method !== undefined) {
    attributes[ATTR_HTTP_REQUEST_METHOD] = knownMethod ? facts.method : HTTP_REQUEST_METHOD_VALUE_OTHER;
    if (!knownMethod) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = facts.method;
  }
  setAttribute(attributes, ATTR_HTTP_ROUTE, facts.route);
  setAttribute(attributes, ATTR_URL_PATH, facts.path);
  setAttribute(attributes, ATTR_URL_QUERY, facts.query === undefined ? undefined : redactQuery(facts.query));
  setAttribute(attributes, ATTR_URL_SCHEME, firstHeader(facts.headers, 'x-forwarded-proto'));
  const server = splitHostPort(facts.serverAddress);
  setAttribute(attributes, ATTR_SERVER_ADDRESS, server.host);
  setAttribute(attributes, ATTR_SERVER_PORT, server.port ?? portNumber(firstHeader(facts.headers, 'x-forwarded-port')));
  setAttribute(attributes, ATTR_CLIENT_ADDRESS, facts.clientAddress);
  setAttribute(attributes, ATTR_USER_AGENT_ORIGINAL, facts.userAgent);
  setAttribute(attributes, ATTR_NETWORK_PROTOCOL_VERSION, protocolVersion(facts.protocol));
  // HTTP server spans are `{method} {route}` ("HTTP" for unknown methods); without a route the
  // Lambda convention (the function name) says more than a bare method would.
  const spanName =
    facts.route !== undefined && facts.method !== undefined
      ? `${knownMethod ? facts.method : 'HTTP'} ${facts.route}`
      : functionName;
  return {
    source,
    httpShaped: true,
    faasTrigger: FAAS_TRIGGER_VALUE_HTTP,
    spanKind: SpanKind.SERVER,
    spanName,
    attributes,
    parentCarrier: carrierFromHeaders(facts.headers),
    linkCarriers: [],
  };
}

/**
 * REST (payload 1.0) has `headers` (last value of each) and `multiValueHeaders` (all values): the
 * latter wins for a name it has. ALB sends one of the two, payload 2.0 only `headers`.
 */
function indexHeaders(headers: unknown, multiValueHeaders: unknown): HeaderIndex {
  const index = new Map<string, string[]>();
  const multi = asJsonObject(multiValueHeaders);
  if (multi !== undefined) {
    for (const [name, values] of Object.entries(multi)) {
      if (!Array.isArray(values)) continue;
      const strings = values.filter((v): v is string => typeof v === 'string');
      appendHeaderValues(index, name.toLowerCase(), strings);
    }
  }
  const fromMulti = new Set(index.keys());
  const single = asJsonObject(headers);
  if (single !== undefined) {
    for (const [name, value] of Object.entries(single)) {
      const lower = name.toLowerCase();
      if (typeof value === 'string' && !fromMulti.has(lower)) appendHeaderValues(index, lower, [value]);
    }
  }
  return index;
}

function appendHeaderValues(index: Map<string, string[]>, name: string, values: readonly string[]): void {
  if (values.length === 0) return;
  const existing = index.get(name);
  if (existing === undefined) index.set(name, [...values]);
  else existing.push(...values);
}

function firstHeader(headers: HeaderIndex, name: string): string | undefined {
  return asNonEmptyString(headers.get(name)?.[0]);
}

function carrierFromHeaders(headers: HeaderIndex): TraceCarrier {
  const carrier: Partial<Record<TraceHeaderName, string[]>> = {};
  for (const name of TRACE_HEADER_NAMES) {
    const values = headers.get(name);
    if (values !== undefined) carrier[name] = [...values];
  }
  return carrier;
}

/** `POST /carts/{cartId}` → `/carts/{cartId}`; `$default` (and function URLs) have no route. */
function routeFromRouteKey(routeKey: string | undefined): string | undefined {
  if (routeKey === undefined || routeKey === '$default') return undefined;
  const space = routeKey.indexOf(' ');
  return space < 0 ? undefined : asNonEmptyString(routeKey.slice(space + 1));
}

/** ALB passes query parameters as received (not decoded), so joining them rebuilds the query. */
function albQueryString(multiValue: unknown, singleValue: unknown): string | undefined {
  const pairs: string[] = [];
  const multi = asJsonObject(multiValue);
  if (multi !== undefined) {
    for (const [name, values] of Object.entries(multi)) {
      if (!Array.isArray(values)) continue;
      for (const value of values) if (typeof value === 'string') pairs.push(`${name}=${value}`);
    }
  } else {
    for (const [name, value] of Object.entries(asJsonObject(singleValue) ?? {})) {
      if (typeof value === 'string') pairs.push(`${name}=${value}`);
    }
  }
  return pairs.length > 0 ? pairs.join('&') : undefined;
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      return equals > 0 && SENSITIVE_QUERY_PARAMETERS.has(pair.slice(0, equals)) ? `${pair.slice(0, equals)}=REDACTED` : pair;
    })
    .join('&');
}

const HOST_WITH_PORT = /^(\[[^\]]*\]|[^:]+):(\d{1,5})$/;

function splitHostPort(hostHeader: string | undefined): { host: string | undefined; port: number | undefined } {
  if (hostHeader === undefined) return { host: undefined, port: undefined };
  const match = HOST_WITH_PORT.exec(hostHeader);
  if (match === null || match[1] === undefined) return { host: hostHeader, port: undefined };
  return { host: match[1], port: portNumber(match[2]) };
}

function portNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port > 0 && port <= 65535 ? port : undefined;
}

/** `HTTP/1.1` → `1.1` (semconv `network.protocol.version`). */
function protocolVersion(protocol: string | undefined): string | undefined {
  if (protocol === undefined) return undefined;
  const slash = protocol.indexOf('/');
  return slash < 0 ? undefined : asNonEmptyString(protocol.slice(slash + 1));
}

// ---------------------------------------------------------------- Records[] events

/** Semconv defines no `messaging.system` value for these; we follow the `aws_sqs` spelling. */
const MESSAGING_SYSTEM_AWS_KINESIS = 'aws_kinesis';
const MESSAGING_SYSTEM_AWS_EVENTBRIDGE = 'aws_eventbridge';

/** Records of one event come from one service; the first record's `eventSource` says which. */
function classifyRecords(event: Buffer, recordsMember: JsonMember, functionName: string): TriggerInfo | undefined {
  // EVENT_SHAPE read Records as an array of objects; no elements means it was something else.
  const records = recordsMember.elements;
  const first = records?.[0];
  if (records === undefined || first === undefined) return undefined;
  // SNS spells it `EventSource`.
  switch (stringMember(event, first, 'eventSource') ?? stringMember(event, first, 'EventSource')) {
    case 'aws:sqs':
      return sqsTrigger(event, records, functionName);
    case 'aws:sns':
      return snsTrigger(event, records, functionName);
    case 'aws:s3':
      return s3Trigger(event, records, functionName);
    case 'aws:dynamodb':
      return dynamoDbTrigger(event, records, functionName);
    case 'aws:kinesis':
      return kinesisTrigger(event, records, functionName);
    default:
      return undefined;
  }
}

function sqsTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const arn = sharedStringMember(event, records, 'eventSourceARN');
  const queue = arnResource(arn.value);
  const attributes = messagingAttributes(MESSAGING_SYSTEM_VALUE_AWS_SQS, queue, records.length);
  if (records.length === 1 && records[0] !== undefined) {
    setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, records[0], 'messageId'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  const linkCarriers: TraceCarrier[] = [];
  for (const record of records) {
    const carrier = sqsRecordCarrier(event, record);
    if (carrier !== undefined) linkCarriers.push(carrier);
  }
  return eventTrigger('sqs', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, sqsSpanName(queue, arn.uniform, functionName), attributes, {
    linkCarriers,
  });
}

/** Semconv: `<queue> process`, or `multiple_sources process` when the batch mixes queues. */
function sqsSpanName(queue: string | undefined, oneSource: boolean, functionName: string): string {
  if (queue !== undefined) return `${queue} process`;
  return oneSource ? functionName : 'multiple_sources process';
}

/** System attribute `AWSTraceHeader` (X-Ray format) and user message attributes named like trace headers. */
function sqsRecordCarrier(event: Buffer, record: JsonObjectView): TraceCarrier | undefined {
  const carrier: Partial<Record<TraceHeaderName, string[]>> = {};
  const attributes = objectMember(event, record, 'attributes');
  const awsTraceHeader = attributes === undefined ? undefined : stringMember(event, attributes, 'AWSTraceHeader');
  if (awsTraceHeader !== undefined) carrier['x-amzn-trace-id'] = [awsTraceHeader];
  addTraceMessageAttributes(event, carrier, objectMember(event, record, 'messageAttributes'), 'stringValue');
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

function snsTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const topics: (string | undefined)[] = [];
  const regions: (string | undefined)[] = [];
  const carriers: TraceCarrier[] = [];
  let messageId: string | undefined;
  for (const record of records) {
    const sns = objectMember(event, record, 'Sns');
    const topicArn = sns === undefined ? undefined : stringMember(event, sns, 'TopicArn');
    topics.push(arnResource(topicArn));
    regions.push(arnRegion(topicArn));
    if (sns === undefined) continue;
    messageId = stringMember(event, sns, 'MessageId');
    const carrier: Partial<Record<TraceHeaderName, string[]>> = {};
    addTraceMessageAttributes(event, carrier, objectMember(event, sns, 'MessageAttributes'), 'Value');
    if (Object.keys(carrier).length > 0) carriers.push(carrier);
  }
  const topic = commonValue(topics);
  // SNS delivers one message per invocation: it is not a batch, so no batch count.
  const attributes = messagingAttributes(MESSAGING_SYSTEM_VALUE_AWS_SNS, topic);
  if (records.length === 1) setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, messageId);
  setAttribute(attributes, ATTR_CLOUD_REGION, commonValue(regions));
  const single = records.length === 1;
  return eventTrigger('sns', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, topic === undefined ? functionName : `${topic} process`, attributes, {
    parentCarrier: single ? carriers[0] : undefined,
    linkCarriers: single ? [] : carriers,
  });
}

function kinesisTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const stream = arnResourceAfter(sharedStringMember(event, records, 'eventSourceARN').value, 'stream/');
  const attributes = messagingAttributes(MESSAGING_SYSTEM_AWS_KINESIS, stream, records.length);
  if (records.length === 1 && records[0] !== undefined) {
    setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, records[0], 'eventID'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('kinesis', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, stream === undefined ? functionName : `${stream} process`, attributes);
}

function s3Trigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const buckets: (string | undefined)[] = [];
  let key: string | undefined;
  for (const record of records) {
    const s3 = asJsonObject(parsedMember(event, record, 's3'));
    buckets.push(asNonEmptyString(asJsonObject(s3?.bucket)?.name));
    key = asNonEmptyString(asJsonObject(s3?.object)?.key);
  }
  const attributes: Attributes = { [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_DATASOURCE };
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_COLLECTION, commonValue(buckets));
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_OPERATION, s3DocumentOperation(sharedStringMember(event, records, 'eventName').value));
  const first = records[0];
  if (records.length === 1 && first !== undefined) {
    setAttribute(attributes, ATTR_FAAS_DOCUMENT_NAME, key === undefined ? undefined : decodeS3Key(key));
    setAttribute(attributes, ATTR_FAAS_DOCUMENT_TIME, stringMember(event, first, 'eventTime'));
  }
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('s3', FAAS_TRIGGER_VALUE_DATASOURCE, SpanKind.CONSUMER, functionName, attributes);
}

function dynamoDbTrigger(event: Buffer, records: readonly JsonObjectView[], functionName: string): EventTriggerInfo {
  const attributes: Attributes = { [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_DATASOURCE };
  // arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
  const table = arnResourceAfter(sharedStringMember(event, records, 'eventSourceARN').value, 'table/');
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_COLLECTION, table);
  const eventName = sharedStringMember(event, records, 'eventName').value;
  setAttribute(attributes, ATTR_FAAS_DOCUMENT_OPERATION, eventName === undefined ? undefined : DYNAMODB_DOCUMENT_OPERATIONS.get(eventName));
  setAttribute(attributes, ATTR_CLOUD_REGION, sharedStringMember(event, records, 'awsRegion').value);
  return eventTrigger('dynamodb', FAAS_TRIGGER_VALUE_DATASOURCE, SpanKind.CONSUMER, functionName, attributes);
}

const DYNAMODB_DOCUMENT_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['INSERT', FAAS_DOCUMENT_OPERATION_VALUE_INSERT],
  ['MODIFY', FAAS_DOCUMENT_OPERATION_VALUE_EDIT],
  ['REMOVE', FAAS_DOCUMENT_OPERATION_VALUE_DELETE],
]);

/** `ObjectCreated:Put` → insert; removals and lifecycle expiry → delete; tag/ACL changes → edit. */
function s3DocumentOperation(eventName: string | undefined): string | undefined {
  const category = eventName?.split(':')[0];
  switch (category) {
    case 'ObjectCreated':
      return FAAS_DOCUMENT_OPERATION_VALUE_INSERT;
    case 'ObjectRemoved':
    case 'LifecycleExpiration':
      return FAAS_DOCUMENT_OPERATION_VALUE_DELETE;
    case 'ObjectTagging':
    case 'ObjectAcl':
      return FAAS_DOCUMENT_OPERATION_VALUE_EDIT;
    default:
      return undefined;
  }
}

/** S3 event keys are form-encoded (`+` for space, UTF-8 percent escapes); a bad escape keeps the raw key. */
function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch {
    return key;
  }
}

// ---------------------------------------------------------------- EventBridge, CloudWatch Logs, other

function classifyEventBridge(event: Buffer, root: JsonObjectView, functionName: string): TriggerInfo | undefined {
  const source = stringMember(event, root, 'source');
  const detailType = stringMember(event, root, 'detail-type');
  if (source === undefined || detailType === undefined) return undefined;
  if (source === 'aws.events' && detailType === 'Scheduled Event') {
    return eventTrigger('schedule', FAAS_TRIGGER_VALUE_TIMER, SpanKind.SERVER, functionName, {
      [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_TIMER,
    });
  }
  // The bus is not in the event, so there is no destination to name the span after.
  const attributes = messagingAttributes(MESSAGING_SYSTEM_AWS_EVENTBRIDGE, undefined);
  setAttribute(attributes, ATTR_MESSAGING_MESSAGE_ID, stringMember(event, root, 'id'));
  setAttribute(attributes, ATTR_CLOUD_REGION, stringMember(event, root, 'region'));
  return eventTrigger('eventbridge', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, functionName, attributes);
}

/** The payload is base64(gzip(JSON)): nothing in it is worth the decompression. */
function cloudWatchLogsTrigger(functionName: string): EventTriggerInfo {
  return eventTrigger('cloudwatch-logs', FAAS_TRIGGER_VALUE_PUBSUB, SpanKind.CONSUMER, functionName, {
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_PUBSUB,
  });
}

function otherTrigger(functionName: string): EventTriggerInfo {
  return eventTrigger('other', FAAS_TRIGGER_VALUE_OTHER, SpanKind.SERVER, functionName, {
    [ATTR_FAAS_TRIGGER]: FAAS_TRIGGER_VALUE_OTHER,
  });
}

// ---------------------------------------------------------------- shared builders

function eventTrigger(
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

/**
 * Messaging "process" attributes. `messaging.system` rather than its successor
 * `messaging.system.name`: the AWS Lambda conventions still require `messaging.system=aws_sqs`.
 */
function messagingAttributes(system: string, destination: string | undefined, batchMessageCount?: number): Attributes {
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

/** Message attributes named like trace headers (any case), each a `{ <valueKey>: "<string>" }`. */
function addTraceMessageAttributes(
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

function setAttribute(attributes: Attributes, key: string, value: string | number | undefined): void {
  if (value !== undefined && value !== '') attributes[key] = value;
}

/** The value every item shares; undefined when any is missing or they differ. */
function commonValue(values: readonly (string | undefined)[]): string | undefined {
  const first = values[0];
  return first !== undefined && values.every((v) => v === first) ? first : undefined;
}

/** `arn:aws:sqs:us-east-1:123456789012:ledger-entries` → `ledger-entries`. */
function arnResource(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts === undefined || parts.length < 6 ? undefined : asNonEmptyString(parts.slice(5).join(':'));
}

function arnRegion(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts === undefined || parts.length < 6 ? undefined : asNonEmptyString(parts[3]);
}

/** The path segment after `prefix` in an ARN's resource: `table/ledger/stream/x`, `table/` → `ledger`. */
function arnResourceAfter(arn: string | undefined, prefix: string): string | undefined {
  const resource = arnResource(arn);
  if (resource === undefined || !resource.startsWith(prefix)) return undefined;
  return asNonEmptyString(resource.slice(prefix.length).split('/')[0]);
}

interface SharedValue {
  /** The decoded value when every record has the same one. */
  readonly value: string | undefined;
  /** Whether every record has the same bytes there (or none has the member). */
  readonly uniform: boolean;
}

/** A member every record shares (queue ARN, region): compared as bytes, decoded once. */
function sharedStringMember(event: Buffer, records: readonly JsonObjectView[], key: string): SharedValue {
  const first = records[0] === undefined ? undefined : findMember(event, records[0], key);
  for (let i = 1; i < records.length; i++) {
    const record = records[i];
    const member = record === undefined ? undefined : findMember(event, record, key);
    const same = member === undefined || first === undefined ? member === first : sameValueBytes(event, first, member);
    if (!same) return { value: undefined, uniform: false };
  }
  return {
    value: first === undefined ? undefined : asNonEmptyString(decodeString(event, first.valueStart, first.valueEnd)),
    uniform: true,
  };
}

function stringMember(event: Buffer, object: JsonObjectView, key: string): string | undefined {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : asNonEmptyString(decodeString(event, member.valueStart, member.valueEnd));
}

function parsedMember(event: Buffer, object: JsonObjectView, key: string): unknown {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : parseSlice(event, member.valueStart, member.valueEnd, PARSE_LIMIT);
}

function objectMember(event: Buffer, object: JsonObjectView, key: string): JsonObjectView | undefined {
  const member = findMember(event, object, key);
  return member === undefined ? undefined : (member.object ?? readObject(event, member.valueStart));
}
