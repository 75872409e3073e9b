// What an HTTP span says about one request, whatever the payload format (API Gateway REST or HTTP API,
// function URL, ALB): the HTTP server conventions' attributes, the span name, and the request's
// headers as the carrier to join. Each format's module (apigw-rest, apigw-http, alb) gathers the facts.

import { type Attributes, SpanKind } from '@opentelemetry/api';
import { ATTR_CLIENT_ADDRESS, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_REQUEST_METHOD_ORIGINAL, ATTR_HTTP_ROUTE, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_PATH, ATTR_URL_QUERY, ATTR_URL_SCHEME, ATTR_USER_AGENT_ORIGINAL, HTTP_REQUEST_METHOD_VALUE_CONNECT, HTTP_REQUEST_METHOD_VALUE_DELETE, HTTP_REQUEST_METHOD_VALUE_GET, HTTP_REQUEST_METHOD_VALUE_HEAD, HTTP_REQUEST_METHOD_VALUE_OPTIONS, HTTP_REQUEST_METHOD_VALUE_OTHER, HTTP_REQUEST_METHOD_VALUE_PATCH, HTTP_REQUEST_METHOD_VALUE_POST, HTTP_REQUEST_METHOD_VALUE_PUT, HTTP_REQUEST_METHOD_VALUE_TRACE } from '@opentelemetry/semantic-conventions';
import { ATTR_FAAS_TRIGGER, FAAS_TRIGGER_VALUE_HTTP } from '@opentelemetry/semantic-conventions/incubating';
import { asJsonObject, asNonEmptyString } from './json-scan.ts';
import { type HttpTriggerInfo, type HttpTriggerSource, TRACE_HEADER_NAMES, type TraceCarrier, type TraceHeaderName, setAttribute } from './trigger.ts';

/**
 * The members every HTTP event is classified and spliced by. The header maps are read as objects in
 * the view's one pass, so that injection finds its splice points there instead of reading them again.
 */
export const HTTP_SHAPE = { requestContext: true, methodArn: true, headers: { '*': true }, multiValueHeaders: { '*': true } } as const;

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
export type HeaderIndex = ReadonlyMap<string, readonly string[]>;

/** What the span needs to know about one HTTP request, whatever the payload format. */
export interface HttpRequestFacts {
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

export function httpTrigger(source: HttpTriggerSource, facts: HttpRequestFacts, functionName: string): HttpTriggerInfo {
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
export function indexHeaders(headers: unknown, multiValueHeaders: unknown): HeaderIndex {
  // Plain loops, one array per name: this runs on every HTTP event (test/bench/profile.ts).
  const index = new Map<string, string[]>();
  const multi = asJsonObject(multiValueHeaders);
  if (multi !== undefined) {
    for (const name in multi) {
      const values = multi[name];
      if (!Array.isArray(values)) continue;
      const lower = name.toLowerCase();
      let list = index.get(lower);
      for (const value of values as unknown[]) {
        if (typeof value !== 'string') continue;
        if (list === undefined) index.set(lower, list = []);
        list.push(value);
      }
    }
  }
  const fromMulti = index.size > 0 ? new Set(index.keys()) : undefined;
  const single = asJsonObject(headers);
  if (single !== undefined) {
    for (const name in single) {
      const value = single[name];
      if (typeof value !== 'string') continue;
      const lower = name.toLowerCase();
      if (fromMulti?.has(lower)) continue;
      const list = index.get(lower);
      if (list === undefined) index.set(lower, [value]);
      else list.push(value);
    }
  }
  return index;
}

export function firstHeader(headers: HeaderIndex, name: string): string | undefined {
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
