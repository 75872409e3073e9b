// The extension's core settings, parsed once from the environment into a typed
// object, before `register` (so this file stays small). A bad proxy setting is a
// ConfigError (reported to Lambda as an init error): silently falling back would
// hide a misconfigured proxy chain. The log level and OTEL_SDK_DISABLED fall back
// with a warning instead. Tracing settings are parsed by tracing-settings.ts
// after `register`: a bad tracing setting must never stop the function.

import { ConfigError } from '../errors.ts';
import type { LogLevel } from '../log.ts';
import { envText, readBoolean, SettingProblems, type Env, type SettingProblem } from './env-values.ts';

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
  /** OTEL_SDK_DISABLED is not `true`: tracing is loaded after `register`. */
  readonly tracingEnabled: boolean;
  /**
   * Lambda Managed Instances run invocations concurrently, never freeze between
   * them, and refuse an INVOKE registration (the extension would fail its init).
   */
  readonly managedInstances: boolean;
}

export const DEFAULT_LISTENER_PORT = 9009;

/** Extensions API address alone: needed to report a ConfigError even when the rest is bad. */
export function parseExtensionsApi(env: Env): HostPort {
  const raw = envText(env, 'AWS_LAMBDA_RUNTIME_API');
  if (raw === undefined) {
    throw new ConfigError('Extension.MissingRuntimeApi',
      'AWS_LAMBDA_RUNTIME_API is not set: lambda-trace-proxy must be started by Lambda as an extension (from /opt/extensions).');
  }
  return parseHostPort(raw, 'AWS_LAMBDA_RUNTIME_API');
}

/** Proxy settings throw a ConfigError; OTEL_SDK_DISABLED problems go to `problems` (code LRAP_TRACING_CONFIG_INVALID). */
export function parseCoreConfig(env: Env, extensionName: string, extensionsApi: HostPort, problems: SettingProblems): CoreConfig {
  const endpoint = envText(env, 'LRAP_RUNTIME_API_ENDPOINT');
  const upstream = endpoint ? parseHostPort(endpoint, 'LRAP_RUNTIME_API_ENDPOINT') : extensionsApi;
  const listenerPort = parseListenerPort(envText(env, 'LRAP_LISTENER_PORT'));
  if (listenerPort === upstream.port && isLoopback(upstream.host)) {
    throw new ConfigError('Extension.InvalidConfiguration',
      `LRAP_LISTENER_PORT ${listenerPort} is also the upstream Runtime API port (${upstream.text}): the proxy would forward to itself. Choose another port.`);
  }
  return {
    extensionName,
    extensionsApi,
    upstream,
    listenerPort,
    // The spec's boolean: only `true` (any case) disables; a typo keeps tracing on, with a warning.
    tracingEnabled: !readBoolean(env, 'OTEL_SDK_DISABLED', problems, false),
    managedInstances: envText(env, 'AWS_LAMBDA_INITIALIZATION_TYPE') === 'lambda-managed-instances',
  };
}

/** OTEL_LOG_LEVEL's values (the spec's, case-insensitive) and the aliases we have always accepted. */
const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  debug: 'debug', verbose: 'debug', all: 'debug', trace: 'debug',
  info: 'info',
  warn: 'warn', warning: 'warn',
  error: 'error',
  none: 'none', off: 'none', silent: 'none',
};

/**
 * `LRAP_LOG_LEVEL`, else `OTEL_LOG_LEVEL`, else `warn`. Read first of all, so
 * that every later problem can be logged; a bad value is skipped with a warning
 * (an empty one counts as unset, so it does not hide OTEL_LOG_LEVEL).
 */
export function parseLogLevelSetting(env: Env): { readonly level: LogLevel; readonly problems: readonly SettingProblem[] } {
  const problems = new SettingProblems('LRAP_LOG_LEVEL_INVALID');
  const names = ['LRAP_LOG_LEVEL', 'OTEL_LOG_LEVEL'] as const;
  const pending: { name: string; text: string }[] = [];
  let level: LogLevel | undefined;
  for (const name of names) {
    const text = envText(env, name);
    if (text === undefined) continue;
    level = LOG_LEVELS[text.toLowerCase()];
    if (level !== undefined) break;
    pending.push({ name, text });
  }
  for (const { name, text } of pending) {
    problems.add(name, text, 'not one of debug, info, warn, error, none', level === undefined ? 'warn' : `${level} (OTEL_LOG_LEVEL)`);
  }
  return { level: level ?? 'warn', problems: problems.list };
}

function parseListenerPort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LISTENER_PORT;
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
