// The Extensions API (2020-01-01): register, wait for the next lifecycle event,
// report init and exit errors. node:http only: this runs before `register`, on
// every cold start, so it must load nothing heavier.

import http from 'node:http';
import { ExtensionsApiError, describeError } from '../errors.ts';
import type { HostPort } from '../settings/core-config.ts';
import type { Logger } from '../log.ts';

export type LifecycleEvent =
  | { readonly eventType: 'INVOKE'; readonly requestId: string; readonly deadlineMs: number; readonly invokedFunctionArn: string | undefined; readonly traceHeader: string | undefined }
  | { readonly eventType: 'SHUTDOWN'; readonly shutdownReason: string; readonly deadlineMs: number };

export interface Registration {
  readonly extensionId: string;
  readonly functionName: string | undefined;
  readonly functionVersion: string | undefined;
  readonly handler: string | undefined;
  readonly accountId: string | undefined;
}

interface RawResponse { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

const BASE = '/2020-01-01/extension';

/**
 * A broken connection to the Extensions API (a reset, a socket that died while
 * the environment was frozen or snapshotted) is retried; Lambda's own answers
 * are not. Doubling from 10 ms, 6 attempts: <= 630 ms in all, well inside
 * Init's 10 s and the 2 s an external extension gets at SHUTDOWN.
 */
const RETRIES = 6;
const FIRST_BACKOFF_MS = 10;

/**
 * Runs `call` again while its connection breaks (no answer from Lambda), up to
 * RETRIES more times, logging each new attempt (LRAP_EXTENSIONS_API_RETRY:
 * "the Extensions API connection broke; <again>"). Safe for every Extensions API
 * call, because a repeat that Lambda did receive the first time is answered,
 * not acted on twice: a second `/register` is refused (403, Registered to
 * Registered), a second `/init/error` or `/exit/error` is accepted and ignored
 * (RIE's InitErrorState/ExitErrorState: "only the first submitted error is
 * accepted"), and `/event/next` only hands out the next event. `retried` tells
 * the caller, when the call fails in the end, whether a repeat was sent.
 */
export async function retryingBrokenConnections<T>(
  call: () => Promise<T>,
  log: Logger,
  again: string,
  retried?: { sent: boolean },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const transport = err instanceof ExtensionsApiError && err.status === undefined;
      if (!transport || attempt >= RETRIES) throw err;
      const backoffMs = FIRST_BACKOFF_MS * 2 ** attempt;
      log.warn(`the Extensions API connection broke; ${again}`, {
        code: 'LRAP_EXTENSIONS_API_RETRY', attempt: attempt + 1, backoffMs, error: describeError(err),
      });
      if (retried) retried.sent = true;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
    }
  }
}

export class ExtensionsApiClient {
  readonly #api: HostPort;
  // Its own keep-alive connection: /event/next blocks for as long as the
  // environment is idle, and must not wait behind proxied traffic.
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  #extensionId: string | undefined;

  constructor(api: HostPort) {
    this.#api = api;
  }

  get registered(): boolean {
    return this.#extensionId !== undefined;
  }

  async register(name: string, events: readonly ('INVOKE' | 'SHUTDOWN')[]): Promise<Registration> {
    const res = await this.#call('POST', '/register', {
      'Lambda-Extension-Name': name,
      'Lambda-Extension-Accept-Feature': 'accountId',
      'Content-Type': 'application/json',
    }, Buffer.from(JSON.stringify({ events })));
    return this.#registered(name, res);
  }

  /** Lambda's answer to a register the launcher sent before Node started: taken as if it had answered ours. */
  adoptRegistration(name: string, answer: { readonly status: number; readonly extensionId: string; readonly body: Buffer }): Registration {
    return this.#registered(name, { status: answer.status, headers: { 'lambda-extension-identifier': answer.extensionId }, body: answer.body });
  }

  #registered(name: string, res: RawResponse): Registration {
    const id = res.headers['lambda-extension-identifier'];
    if (res.status !== 200 || typeof id !== 'string' || id === '') {
      throw new ExtensionsApiError(
        `Extensions API refused registration of "${name}" (HTTP ${res.status}: ${errorSummary(res.body)}). The extension name must equal the file name in /opt/extensions.`,
        res.status);
    }
    this.#extensionId = id;
    const info = parseObject(res.body);
    return {
      extensionId: id,
      functionName: stringField(info, 'functionName'),
      functionVersion: stringField(info, 'functionVersion'),
      handler: stringField(info, 'handler'),
      accountId: stringField(info, 'accountId'),
    };
  }

  /** Blocks until Lambda has an event for us: no timeout, the environment may be frozen for hours. */
  async nextEvent(): Promise<LifecycleEvent> {
    const res = await this.#call('GET', '/event/next', this.#idHeader());
    if (res.status !== 200) {
      throw new ExtensionsApiError(`Extensions API /event/next answered HTTP ${res.status}: ${errorSummary(res.body)}`, res.status);
    }
    const event = parseObject(res.body);
    const eventType = stringField(event, 'eventType');
    const deadlineMs = numberField(event, 'deadlineMs') ?? Date.now() + 2000;
    if (eventType === 'INVOKE') {
      const tracing = event?.tracing;
      const traceHeader = typeof tracing === 'object' && tracing !== null ? stringField(tracing as Record<string, unknown>, 'value') : undefined;
      return {
        eventType,
        requestId: stringField(event, 'requestId') ?? '',
        deadlineMs,
        invokedFunctionArn: stringField(event, 'invokedFunctionArn'),
        traceHeader,
      };
    }
    if (eventType === 'SHUTDOWN') {
      return { eventType, shutdownReason: (stringField(event, 'shutdownReason') ?? 'unknown').toLowerCase(), deadlineMs };
    }
    throw new ExtensionsApiError(`Extensions API sent an unknown event type ${JSON.stringify(eventType)}`);
  }

  /** Reports a failed init; Lambda then restarts the environment. */
  async initError(errorType: string, message: string): Promise<void> {
    await this.#reportError('/init/error', errorType, message);
  }

  async exitError(errorType: string, message: string): Promise<void> {
    await this.#reportError('/exit/error', errorType, message);
  }

  close(): void {
    this.#agent.destroy();
  }

  async #reportError(path: string, errorType: string, message: string): Promise<void> {
    const body = Buffer.from(JSON.stringify({ errorMessage: message, errorType, stackTrace: [] }));
    await this.#call('POST', path, {
      ...this.#idHeader(),
      'Lambda-Extension-Function-Error-Type': errorType,
      'Content-Type': 'application/json',
    }, body);
  }

  #idHeader(): Record<string, string> {
    if (this.#extensionId === undefined) throw new ExtensionsApiError('not registered with the Extensions API yet');
    return { 'Lambda-Extension-Identifier': this.#extensionId };
  }

  #call(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: this.#api.host, port: this.#api.port, method, path: BASE + path, agent: this.#agent,
        headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => reject(new ExtensionsApiError(
          `the Extensions API connection broke during the answer to ${path}: ${describeError(err)}`, undefined, err)));
      });
      req.on('error', (err) => reject(new ExtensionsApiError(
        `cannot reach the Extensions API at ${this.#api.text}${BASE}${path}: ${describeError(err)}`, undefined, err)));
      req.end(body);
    });
  }
}

function parseObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function stringField(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' ? v : undefined;
}

function numberField(obj: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function errorSummary(body: Buffer): string {
  const obj = parseObject(body);
  const type = stringField(obj, 'errorType');
  const message = stringField(obj, 'errorMessage');
  if (type || message) return [type, message].filter(Boolean).join(': ');
  return body.length === 0 ? 'empty body' : `${body.length} bytes`;
}
