/**
 * The HTTP surface of the sandbox: Runtime API `2018-06-01`, Extensions API
 * `2020-01-01`, and the Telemetry / Logs API stubs, all on one port as in Lambda
 * (`AWS_LAMBDA_RUNTIME_API` serves every API).
 */
export type RouteName =
  | 'runtime.next'
  | 'runtime.response'
  | 'runtime.error'
  | 'runtime.init-error'
  | 'runtime.restore-next'
  | 'runtime.restore-error'
  | 'extension.register'
  | 'extension.next'
  | 'extension.init-error'
  | 'extension.exit-error'
  | 'telemetry.subscribe'
  | 'logs.subscribe';

export interface RouteMatch {
  readonly route: RouteName;
  /** `{id}` of `/runtime/invocation/{id}/…`, URL-decoded. */
  readonly requestId: string | null;
}

const RUNTIME = '/2018-06-01/runtime';
const EXTENSION = '/2020-01-01/extension';

const FIXED: ReadonlyMap<string, RouteName> = new Map<string, RouteName>([
  [`GET ${RUNTIME}/invocation/next`, 'runtime.next'],
  [`POST ${RUNTIME}/init/error`, 'runtime.init-error'],
  [`GET ${RUNTIME}/restore/next`, 'runtime.restore-next'],
  [`POST ${RUNTIME}/restore/error`, 'runtime.restore-error'],
  [`POST ${EXTENSION}/register`, 'extension.register'],
  [`GET ${EXTENSION}/event/next`, 'extension.next'],
  [`POST ${EXTENSION}/init/error`, 'extension.init-error'],
  [`POST ${EXTENSION}/exit/error`, 'extension.exit-error'],
  ['PUT /2022-07-01/telemetry', 'telemetry.subscribe'],
  ['PUT /2020-08-15/logs', 'logs.subscribe'],
]);

const INVOCATION_POST = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;

/** The route for a request line, or null (the server answers 404). Query strings are ignored. */
export function matchRoute(method: string, url: string): RouteMatch | null {
  const path = url.split('?', 1)[0] ?? '';
  const fixed = FIXED.get(`${method} ${path}`);
  if (fixed !== undefined) return { route: fixed, requestId: null };
  if (method !== 'POST') return null;
  const m = INVOCATION_POST.exec(path);
  if (m === null || m[1] === undefined) return null;
  let requestId: string;
  try {
    requestId = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  return { route: m[2] === 'response' ? 'runtime.response' : 'runtime.error', requestId };
}
