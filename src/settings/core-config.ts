// The extension's core settings, parsed once from the environment into a typed
// object. A bad value is a ConfigError (reported to Lambda as an init error):
// silently falling back would hide a misconfigured proxy chain. Tracing settings
// (OTEL_*) are parsed separately by the tracing module, because a bad tracing
// setting must only turn tracing off, never the function.

import { ConfigError } from '../errors.ts';
import { parseLogLevel, type LogLevel } from '../log.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** As given, e.g. `127.0.0.1:9001`, for messages and the Host header. */
  readonly text: string;
}

export interface CoreConfig {
  /** Must equal the executable's file name, or Lambda refuses the registration. */
  readonly extensionName: string;
  /** Where the Extensions API is: always Lambda's own `AWS_LAMBDA_RUNTIME_API`. */
  readonly extensionsApi: HostPort;
  /** Where proxied Runtime API calls go: `LRAP_RUNTIME_API_ENDPOINT`, else `AWS_LAMBDA_RUNTIME_API`. */
  readonly upstream: HostPort;
  /** Loopback port the runtime reaches us on (`LRAP_LISTENER_PORT`, default 9009). */
  readonly listenerPort: number;
  readonly logLevel: LogLevel;
  /**
   * Lambda Managed Instances run invocations concurrently, never freeze between
   * them, and refuse an INVOKE registration (the extension would fail its init).
   */
  readonly managedInstances: boolean;
}

export const DEFAULT_LISTENER_PORT = 9009;

type Env = Readonly<Record<string, string | undefined>>;

/** Extensions API address alone: needed to report a ConfigError even when the rest is bad. */
export function parseExtensionsApi(env: Env): HostPort {
  const raw = env.AWS_LAMBDA_RUNTIME_API;
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigError('Extension.MissingRuntimeApi',
      'AWS_LAMBDA_RUNTIME_API is not set: lambda-trace-proxy must be started by Lambda as an extension (from /opt/extensions).');
  }
  return parseHostPort(raw, 'AWS_LAMBDA_RUNTIME_API');
}

export function parseCoreConfig(env: Env, extensionName: string): CoreConfig {
  const extensionsApi = parseExtensionsApi(env);
  const endpoint = env.LRAP_RUNTIME_API_ENDPOINT?.trim();
  const upstream = endpoint ? parseHostPort(endpoint, 'LRAP_RUNTIME_API_ENDPOINT') : extensionsApi;
  const listenerPort = parseListenerPort(env.LRAP_LISTENER_PORT);
  if (listenerPort === upstream.port && isLoopback(upstream.host)) {
    throw new ConfigError('Extension.InvalidConfiguration',
      `LRAP_LISTENER_PORT ${listenerPort} is also the upstream Runtime API port (${upstream.text}): the proxy would forward to itself. Choose another port.`);
  }
  const rawLevel = env.LRAP_LOG_LEVEL ?? env.OTEL_LOG_LEVEL;
  return {
    extensionName,
    extensionsApi,
    upstream,
    listenerPort,
    logLevel: parseLogLevel(rawLevel) ?? 'warn',
    managedInstances: env.AWS_LAMBDA_INITIALIZATION_TYPE === 'lambda-managed-instances',
  };
}

function parseListenerPort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_LISTENER_PORT;
  const text = raw.trim();
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigError('Extension.InvalidListenerPort',
      `LRAP_LISTENER_PORT must be a TCP port number from 1 to 65535, got ${JSON.stringify(text)}. Unset it to use ${DEFAULT_LISTENER_PORT}.`);
  }
  return port;
}

export function parseHostPort(raw: string, name: string): HostPort {
  const text = raw.trim();
  // host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new ConfigError('Extension.InvalidRuntimeApiEndpoint',
      `${name} must be host:port (for example 127.0.0.1:9001, no scheme or path), got ${JSON.stringify(text)}.`);
  }
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port, text };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
