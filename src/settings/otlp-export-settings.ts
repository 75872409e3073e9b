// Where and how spans are exported: the OTEL_EXPORTER_OTLP_* variables, read
// here and only here. The exporter is then built from these values alone
// (span-export.ts), never from the environment: the OpenTelemetry exporter
// would otherwise parse the same variables again, differently, and silently.
//
// Each has a traces-only form (OTEL_EXPORTER_OTLP_TRACES_*) that wins over the
// general one; a bad value is skipped with a warning and the next one applies.

import { readFileSync } from 'node:fs';
import {
  envText, NO_LIMIT_MS, parseKeyValueList, readEnum, readWholeNumber, type Env, type SettingProblems, type UsedInstead,
} from './env-values.ts';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type OtlpCompression = 'gzip' | 'none';

export interface OtlpExportSettings {
  readonly protocol: OtlpProtocol;
  /** The full URL spans are posted to. */
  readonly url: string;
  /** From OTEL_EXPORTER_OTLP_HEADERS, then OTEL_EXPORTER_OTLP_TRACES_HEADERS over it. Secrets: never log. */
  readonly headers: Readonly<Record<string, string>>;
  /** One export, retries included (ms). */
  readonly timeoutMs: number;
  readonly compression: OtlpCompression;
  /** PEM contents of the certificate files, for TLS to the collector. */
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

export const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;

export type ReadFile = (path: string) => Buffer;

/** The variables of one signal (written out in full, so that a search, and the README check, finds each). */
interface SignalVariables {
  readonly endpoint: string;
  readonly headers: string;
  readonly protocol: string;
  readonly timeout: string;
  readonly compression: string;
  readonly certificate: string;
  readonly clientCertificate: string;
  readonly clientKey: string;
  /** Appended to OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly path: string;
}

const SIGNALS: Readonly<Record<'traces' | 'metrics', SignalVariables>> = {
  traces: {
    endpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', headers: 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', protocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    timeout: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', compression: 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION',
    certificate: 'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE', clientCertificate: 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE',
    clientKey: 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY', path: 'v1/traces',
  },
  metrics: {
    endpoint: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', headers: 'OTEL_EXPORTER_OTLP_METRICS_HEADERS', protocol: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
    timeout: 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', compression: 'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION',
    certificate: 'OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE', clientCertificate: 'OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE',
    clientKey: 'OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY', path: 'v1/metrics',
  },
};

/**
 * One signal's export settings: its own variables (…_TRACES_… or …_METRICS_…)
 * over the general ones. Parse traces first: a caller parsing metrics too keeps
 * only the problems of the metrics-only variables, so that a bad general value
 * is reported once.
 */
export function parseOtlpExportSettings(
  env: Env, problems: SettingProblems, readFile: ReadFile = readFileSync, signal: 'traces' | 'metrics' = 'traces',
): OtlpExportSettings {
  const v = SIGNALS[signal];
  return {
    protocol: tracesOrGeneral(v.protocol, 'OTEL_EXPORTER_OTLP_PROTOCOL',
      (name, used) => readProtocol(env, name, problems, used), 'http/protobuf', String),
    url: parseUrl(env, problems, v.endpoint, v.path),
    headers: parseHeaders(env, problems, v.headers),
    timeoutMs: tracesOrGeneral(v.timeout, 'OTEL_EXPORTER_OTLP_TIMEOUT',
      (name, used) => readWholeNumber(env, name, { min: 1, zeroMeansNoLimit: true }, problems, used), DEFAULT_EXPORT_TIMEOUT_MS,
      (ms) => (ms === NO_LIMIT_MS ? 'no limit' : `${ms} ms`)),
    compression: tracesOrGeneral(v.compression, 'OTEL_EXPORTER_OTLP_COMPRESSION',
      (name, used) => readEnum(env, name, ['gzip', 'none'] as const, problems, used), 'none', String),
    tls: {
      ca: readPemFile(env, [v.certificate, 'OTEL_EXPORTER_OTLP_CERTIFICATE'], problems, readFile, 'the system\'s CA certificates'),
      cert: readPemFile(env, [v.clientCertificate, 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'], problems, readFile, 'no client certificate'),
      key: readPemFile(env, [v.clientKey, 'OTEL_EXPORTER_OTLP_CLIENT_KEY'], problems, readFile, 'no client key'),
    },
  };
}

/** The signal's own variable, else the general one, else `fallback`; a bad one is reported with what applies in its place. */
function tracesOrGeneral<T>(
  tracesName: string, generalName: string, read: (name: string, used: UsedInstead) => T | undefined, fallback: T, show: (value: T) => string,
): T {
  let result: T = fallback;
  const traces = read(tracesName, () => show(result));
  const general = read(generalName, () => (traces === undefined ? show(result) : `${tracesName}, which takes precedence`));
  result = traces ?? general ?? fallback;
  return result;
}

function readProtocol(env: Env, name: string, problems: SettingProblems, used: UsedInstead): OtlpProtocol | undefined {
  const text = envText(env, name);
  if (text?.toLowerCase() === 'grpc') {
    problems.add(name, text, 'gRPC export is not available in this extension (http/protobuf or http/json)', used);
    return undefined;
  }
  return readEnum(env, name, ['http/protobuf', 'http/json'] as const, problems, used);
}

/**
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is; OTEL_EXPORTER_OTLP_ENDPOINT
 * is a base to which `v1/traces` is appended (the exporter specification).
 * Only http and https URLs are valid: anything else would post nowhere.
 */
function parseUrl(env: Env, problems: SettingProblems, tracesName: string, path: string): string {
  let result = `http://localhost:4318/${path}`;
  const generalName = 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const tracesText = envText(env, tracesName);
  const generalText = envText(env, generalName);
  const traces = tracesText === undefined ? undefined : httpUrl(tracesText);
  const general = generalText === undefined ? undefined : httpUrl(generalText);
  if (traces !== undefined) result = traces;
  else if (general !== undefined) result = `${general.replace(/\/+$/, '')}/${path}`;
  const why = 'not an http:// or https:// URL';
  if (tracesText !== undefined && traces === undefined) problems.add(tracesName, tracesText, why, () => result);
  if (generalText !== undefined && general === undefined) {
    problems.add(generalName, generalText, why, () => (traces === undefined ? result : `${tracesName}, which takes precedence`));
  }
  return result;
}

function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? text : undefined;
  } catch {
    return undefined;
  }
}

// RFC 9110 token characters for a header name; a value must hold no control characters (CR/LF would split the request).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function parseHeaders(env: Env, problems: SettingProblems, signalName: string): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  // General first, so the signal's own variable overrides it key by key.
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', signalName]) {
    const text = envText(env, name);
    if (text === undefined) continue;
    const parsed = parseKeyValueList(text);
    const why = parsed.ok ? badHeader(parsed.entries) : parsed.why;
    if (why !== undefined || !parsed.ok) {
      problems.add(name, text, `${why}; expected key=value,key2=value2 (percent-encode , and =)`, 'no headers from this variable');
      continue;
    }
    for (const [key, value] of parsed.entries) headers[key] = value;
  }
  return headers;
}

/** Why these headers cannot be sent (a name is not a token, a value could split the request), or undefined. Never quotes a value. */
function badHeader(entries: ReadonlyMap<string, string>): string | undefined {
  for (const [key, value] of entries) {
    if (!HEADER_NAME.test(key)) return 'a header name is not a valid HTTP header name';
    if (HEADER_VALUE_FORBIDDEN.test(value)) return `the value of header ${key} holds a control character`;
  }
  return undefined;
}

function readPemFile(env: Env, names: readonly [string, string], problems: SettingProblems, readFile: ReadFile, without: string): Buffer | undefined {
  let used = without;
  for (const name of names) {
    const path = envText(env, name);
    if (path === undefined) continue;
    try {
      const contents = readFile(path);
      used = `the file of ${name}`;
      return contents;
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.add(name, path, `the file cannot be read (${reason})`, () => used);
    }
  }
  return undefined;
}
