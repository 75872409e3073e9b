// API Gateway payload 1.0 (REST APIs, and HTTP APIs set to format 1.0): `httpMethod`, `resource`,
// `path`, and `headers` / `multiValueHeaders` (into which tracing splices `traceparent`).

import { type JsonObjectView, asJsonObject, asNonEmptyString } from './json-scan.ts';
import { type HeaderIndex, type HttpRequestFacts, firstHeader } from './http-request.ts';
import { stringMember } from './members.ts';

/** The members payload 1.0 adds to the HTTP ones (http-request.ts). */
export const APIGW_REST_SHAPE = { httpMethod: true, resource: true, path: true } as const;

/** API Gateway payload 1.0: REST APIs, and HTTP APIs set to format 1.0. */
export function payloadV1Facts(
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
