// Which Runtime API call a request is. Only the calls that begin or end an
// invocation matter to tracing; every other path is forwarded just the same,
// so endpoints Lambda adds later pass straight through.

export type RuntimeRoute =
  | { readonly kind: 'next' }
  | { readonly kind: 'response'; readonly requestId: string }
  | { readonly kind: 'error'; readonly requestId: string }
  | { readonly kind: 'init-error' }
  | { readonly kind: 'other' };

const OTHER: RuntimeRoute = { kind: 'other' };
const NEXT: RuntimeRoute = { kind: 'next' };
const INIT_ERROR: RuntimeRoute = { kind: 'init-error' };

// /<api version>/runtime/invocation/next | /<v>/runtime/invocation/<id>/(response|error) | /<v>/runtime/init/error
const ROUTE = /^\/[^/?]+\/runtime\/(?:invocation\/(?:(next)|([^/?]+)\/(response|error))|init\/(error))(?:\?|$)/;

export function classifyRoute(method: string | undefined, url: string | undefined): RuntimeRoute {
  if (url === undefined) return OTHER;
  const m = ROUTE.exec(url);
  if (!m) return OTHER;
  if (m[1] !== undefined) return method === 'GET' ? NEXT : OTHER;
  if (method !== 'POST') return OTHER;
  if (m[4] !== undefined) return INIT_ERROR;
  const requestId = decodeSegment(m[2]!);
  return m[3] === 'response' ? { kind: 'response', requestId } : { kind: 'error', requestId };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
