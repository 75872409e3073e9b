// The construct's typed settings, checked once and turned into the
// environment variables the extension documents (README, "Settings"). A bad
// value throws at `new LambdaTraceProxy(...)`, naming the property, the value
// and what is allowed: a wrong endpoint found at synth time costs seconds,
// found in a deployed function it costs a lost trace.

import { Aws, Token } from 'aws-cdk-lib';
import { TraceProxyConfigError } from './errors.ts';

/** Where spans go. */
export class OtlpEndpoint {
  /**
   * X-Ray's OTLP endpoint (CloudWatch Transaction Search must be on in the
   * account): `https://xray.<region>.<url suffix>`, the stack's region unless
   * one is given. Exports are signed with the function's role, which gets
   * `xray:PutTraceSegments`.
   */
  static xray(region?: string): OtlpEndpoint {
    return new OtlpEndpoint(`https://xray.${region ?? Aws.REGION}.${Aws.URL_SUFFIX}`, true);
  }

  /** A collector or backend, e.g. `http://collector.internal:4318` (the extension appends `/v1/traces`). */
  static url(url: string): OtlpEndpoint {
    if (Token.isUnresolved(url)) return new OtlpEndpoint(url, false);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TraceProxyConfigError(`endpoint "${url}" is not a URL; give one such as http://collector.internal:4318, or OtlpEndpoint.xray()`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TraceProxyConfigError(`endpoint "${url}" uses ${parsed.protocol.slice(0, -1)}; the extension exports over OTLP/HTTP only: give an http:// or https:// URL`);
    }
    return new OtlpEndpoint(url, isXrayEndpoint(url));
  }

  /** The value of OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Whether the extension signs exports to it (SigV4, service xray) unless told otherwise. */
  readonly isXray: boolean;

  private constructor(url: string, isXray: boolean) {
    this.url = url;
    this.isXray = isXray;
  }
}

// The host names the extension signs for by itself (src/settings/sigv4-settings.ts;
// the tests check both agree): xray.<region>.amazonaws.com[.cn], -fips, VPC endpoints.
const XRAY_HOST = /^(?:[a-z0-9-]+\.)?xray(?:-fips)?\.[a-z]{2}(?:-[a-z]+)+-\d+\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

export function isXrayEndpoint(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && XRAY_HOST.test(parsed.hostname.toLowerCase());
  } catch {
    return false;
  }
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type OtlpCompression = 'gzip' | 'none';
export type TraceSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
export type TraceProxyLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'none';

/** What the extension does, as typed properties; each maps to one documented variable. */
export interface OtlpSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT. A string is taken as `OtlpEndpoint.url(string)`. @default the extension's (http://localhost:4318: a collector in another layer) */
  readonly endpoint?: OtlpEndpoint | string;
  /** OTEL_EXPORTER_OTLP_PROTOCOL. @default 'http/protobuf' */
  readonly protocol?: OtlpProtocol;
  /**
   * OTEL_EXPORTER_OTLP_HEADERS, e.g. `{ 'x-api-key': '…' }`. Lambda shows
   * environment variables to anyone who may read the function's
   * configuration: keep secrets out, or accept that.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** OTEL_EXPORTER_OTLP_COMPRESSION. @default none */
  readonly compression?: OtlpCompression;
  /** OTEL_SERVICE_NAME. @default each function's name */
  readonly serviceName?: string;
  /** OTEL_RESOURCE_ATTRIBUTES, e.g. `{ 'deployment.environment.name': 'prod' }`. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  /** OTEL_TRACES_SAMPLER. @default 'parentbased_always_on' */
  readonly sampler?: TraceSampler;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio, 0 to 1, for the `traceidratio` samplers. */
  readonly samplerRatio?: number;
  /**
   * LRAP_XRAY_SIGV4: true signs exports with the function's role whatever the
   * endpoint (a proxy, a private DNS name); false never signs (an X-Ray API
   * key in `headers` instead). @default signs for X-Ray's own endpoints only
   */
  readonly xraySigV4?: boolean;
  /** LRAP_LOG_LEVEL. @default 'warn' */
  readonly logLevel?: TraceProxyLogLevel;
}

export const WRAPPER_VARIABLE = 'AWS_LAMBDA_EXEC_WRAPPER';
export const WRAPPER_PATH = '/opt/wrapper-script.sh';

export interface ResolvedSettings {
  /** Variables every traced function gets (not the wrapper: OS-only runtimes ignore it). */
  readonly environment: Readonly<Record<string, string>>;
  /** Whether exports are SigV4-signed with the function's role, which then needs xray:PutTraceSegments. */
  readonly signsWithRole: boolean;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const COMPRESSIONS: readonly OtlpCompression[] = ['gzip', 'none'];
const SAMPLERS: readonly TraceSampler[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
const LOG_LEVELS: readonly TraceProxyLogLevel[] = ['debug', 'info', 'warn', 'error', 'none'];

function oneOf<T extends string>(property: string, value: T | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || Token.isUnresolved(value) || allowed.includes(value)) return value;
  throw new TraceProxyConfigError(`${property} "${value}" is not supported; use one of ${allowed.join(', ')}`);
}

// OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES are W3C-baggage-like
// lists (`k=v,k2=v2`) whose values are percent-decoded by the reader: encode
// values so that a comma or an equals sign in one survives.
function keyValueList(property: string, entries: Readonly<Record<string, string>>): string {
  return Object.entries(entries).map(([key, value]) => {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]+$/.test(key)) {
      throw new TraceProxyConfigError(`${property} key "${key}" is not a valid name: use letters, digits and -._~!#$&'*+^\`|:/ only (no spaces, commas or equals signs)`);
    }
    if (value === '') {
      throw new TraceProxyConfigError(`${property} "${key}" is empty; the extension would drop it: give a value or leave the key out`);
    }
    if (Token.isUnresolved(value)) {
      throw new TraceProxyConfigError(`${property} "${key}" is a token (a deploy-time value); its encoding cannot be checked at synth time: give a plain string`);
    }
    return `${key}=${encodeURIComponent(value)}`;
  }).join(',');
}

export function resolveSettings(settings: OtlpSettings): ResolvedSettings {
  const env: Record<string, string> = {};
  const endpoint = typeof settings.endpoint === 'string' ? OtlpEndpoint.url(settings.endpoint) : settings.endpoint;
  if (endpoint !== undefined) env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint.url;
  const protocol = oneOf('protocol', settings.protocol, PROTOCOLS);
  if (protocol !== undefined) env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
  if (settings.headers !== undefined && Object.keys(settings.headers).length > 0) {
    env.OTEL_EXPORTER_OTLP_HEADERS = keyValueList('headers', settings.headers);
  }
  const compression = oneOf('compression', settings.compression, COMPRESSIONS);
  if (compression !== undefined) env.OTEL_EXPORTER_OTLP_COMPRESSION = compression;
  if (settings.serviceName !== undefined) {
    if (settings.serviceName === '') throw new TraceProxyConfigError('serviceName is empty; leave it out to name each service after its function');
    env.OTEL_SERVICE_NAME = settings.serviceName;
  }
  if (settings.resourceAttributes !== undefined && Object.keys(settings.resourceAttributes).length > 0) {
    env.OTEL_RESOURCE_ATTRIBUTES = keyValueList('resourceAttributes', settings.resourceAttributes);
  }
  const sampler = oneOf('sampler', settings.sampler, SAMPLERS);
  if (sampler !== undefined) env.OTEL_TRACES_SAMPLER = sampler;
  if (settings.samplerRatio !== undefined) {
    const ratio = settings.samplerRatio;
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      throw new TraceProxyConfigError(`samplerRatio ${ratio} is not a ratio: give a number from 0 to 1 (0.1 keeps one trace in ten)`);
    }
    if (sampler === undefined || !sampler.endsWith('traceidratio')) {
      throw new TraceProxyConfigError(`samplerRatio is read only by the traceidratio samplers; set sampler to 'parentbased_traceidratio' (or 'traceidratio') too`);
    }
    env.OTEL_TRACES_SAMPLER_ARG = String(ratio);
  }
  if (settings.xraySigV4 !== undefined) env.LRAP_XRAY_SIGV4 = String(settings.xraySigV4);
  const logLevel = oneOf('logLevel', settings.logLevel, LOG_LEVELS);
  if (logLevel !== undefined) env.LRAP_LOG_LEVEL = logLevel;
  // The same rule as the extension's (sigv4-settings.ts): LRAP_XRAY_SIGV4 wins, else X-Ray's endpoints are signed.
  const signsWithRole = settings.xraySigV4 ?? endpoint?.isXray ?? false;
  return { environment: env, signsWithRole };
}
