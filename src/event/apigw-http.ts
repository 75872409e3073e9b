// Payload 2.0, shared by HTTP APIs and function URLs (told apart by the domain): `routeKey`,
// `rawPath`, `rawQueryString`, `requestContext.http`.

import { type JsonObjectView, asNonEmptyString } from './json-scan.ts';
import { type HeaderIndex, type HttpRequestFacts, firstHeader } from './http-request.ts';
import { stringMember } from './members.ts';

/** The members payload 2.0 adds to the HTTP ones (http-request.ts). */
export const APIGW_HTTP_SHAPE = { routeKey: true, rawPath: true, rawQueryString: true } as const;

/** Payload 2.0: HTTP APIs and function URLs. */
export function payloadV2Facts(
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

/** `POST /carts/{cartId}` → `/carts/{cartId}`; `$default` (and function URLs) have no route. */
function routeFromRouteKey(routeKey: string | undefined): string | undefined {
  if (routeKey === undefined || routeKey === '$default') return undefined;
  const space = routeKey.indexOf(' ');
  return space < 0 ? undefined : asNonEmptyString(routeKey.slice(space + 1));
}
