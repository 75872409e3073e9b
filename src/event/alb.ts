// Application Load Balancer targets: `requestContext.elb`; the query as received, the client from
// X-Forwarded-For.

import { type JsonObjectView, asJsonObject } from './json-scan.ts';
import { type HeaderIndex, type HttpRequestFacts, firstHeader } from './http-request.ts';
import { parsedMember, stringMember } from './members.ts';

/** The members ALB events add to the HTTP ones (http-request.ts). */
export const ALB_SHAPE = { httpMethod: true, path: true, queryStringParameters: true, multiValueQueryStringParameters: true } as const;

export function albFacts(event: Buffer, root: JsonObjectView, headers: HeaderIndex): HttpRequestFacts {
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
