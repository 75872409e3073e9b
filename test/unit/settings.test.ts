// Every variable the extension reads, with good, bad and edge values (empty,
// blank, case): the effective setting, and the one log line a bad value gets
// (its code and variable, never a secret). Read through the same functions
// main.ts and start-tracing.ts use, in the same order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoreConfig, parseExtensionsApi, parseLogLevelSetting } from '../../src/settings/core-config.ts';
import { logSettingProblems, NO_LIMIT_MS, SettingProblems, type SettingProblem } from '../../src/settings/env-values.ts';
import { parseTracingSettings, type TracingSettings } from '../../src/settings/tracing-settings.ts';
import { parseTelemetrySettings, type TelemetrySettings } from '../../src/settings/telemetry-settings.ts';
import { ConfigError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { VARIABLES } from '../../src/build/reference-tables.ts';

const LAMBDA = { AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' };

/** Certificate files the fake file system has. */
const FILES: Readonly<Record<string, string>> = { '/pem/ca.pem': 'CA PEM', '/pem/client.pem': 'CLIENT PEM', '/pem/key.pem': 'KEY PEM' };
function readFile(path: string): Buffer {
  const text = FILES[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return Buffer.from(text);
}

interface Effective {
  readonly logLevel: string;
  readonly core: ReturnType<typeof parseCoreConfig>;
  readonly tracing: TracingSettings;
  readonly telemetry: TelemetrySettings;
  readonly problems: readonly SettingProblem[];
}

function effective(env: Record<string, string>): Effective {
  const all = { ...LAMBDA, ...env };
  const logging = parseLogLevelSetting(all);
  const coreProblems = new SettingProblems('LRAP_TRACING_CONFIG_INVALID');
  const core = parseCoreConfig(all, 'lambda-trace-proxy', parseExtensionsApi(all), coreProblems);
  const tracing = parseTracingSettings(all, { managedInstances: core.managedInstances, readFile });
  const telemetry = parseTelemetrySettings(all, readFile);
  return { logLevel: logging.level, core, tracing, telemetry, problems: [...logging.problems, ...coreProblems.list, ...tracing.problems, ...telemetry.problems] };
}

function otlp(e: Effective) {
  assert.equal(e.tracing.exporter.kind, 'otlp');
  if (e.tracing.exporter.kind !== 'otlp') throw new Error('unreachable');
  return e.tracing.exporter.otlp;
}

function signing(e: Effective): string {
  const x = e.tracing.exporter;
  return x.kind === 'none' ? 'tracing off' : x.signing === undefined ? 'unsigned' : `signed for ${x.signing.region}`;
}

/** What each variable decides, as one comparable value. */
const GET = {
  logLevel: (e: Effective) => e.logLevel,
  tracingEnabled: (e: Effective) => e.core.tracingEnabled,
  listenerPort: (e: Effective) => e.core.listenerPort,
  upstream: (e: Effective) => e.core.upstream.text,
  managedInstances: (e: Effective) => `${e.core.managedInstances} ${JSON.stringify(e.tracing.flush)}`,
  exporter: (e: Effective) => e.tracing.exporter.kind,
  url: (e: Effective) => otlp(e).url,
  headers: (e: Effective) => otlp(e).headers,
  protocol: (e: Effective) => otlp(e).protocol,
  timeout: (e: Effective) => otlp(e).timeoutMs,
  compression: (e: Effective) => otlp(e).compression,
  ca: (e: Effective) => otlp(e).tls.ca?.toString(),
  cert: (e: Effective) => otlp(e).tls.cert?.toString(),
  key: (e: Effective) => otlp(e).tls.key?.toString(),
  signing,
  serviceName: (e: Effective) => e.tracing.serviceName,
  resourceAttributes: (e: Effective) => e.tracing.resourceAttributes,
  sampler: (e: Effective) => e.tracing.sampler,
  propagators: (e: Effective) => [...e.tracing.propagators].join(','),
  rewriteXrayParent: (e: Effective) => e.tracing.rewriteXrayParent,
  maxQueueSize: (e: Effective) => e.tracing.maxQueueSize,
  flush: (e: Effective) => e.tracing.flush,
  flushTimeout: (e: Effective) => e.tracing.flushTimeoutMs,
  functionName: (e: Effective) => e.tracing.function.functionName,
  functionVersion: (e: Effective) => e.tracing.function.functionVersion,
  memory: (e: Effective) => e.tracing.function.memoryMb,
  region: (e: Effective) => e.tracing.function.region,
  telemetryApi: (e: Effective) => e.telemetry.telemetryApi,
  platformWait: (e: Effective) => e.telemetry.runtimeDoneWaitMs,
  metrics: (e: Effective) => e.telemetry.metrics,
  metricsExport: (e: Effective) => {
    const m = e.telemetry.metricsExport;
    return m && { url: m.url, headers: m.headers, protocol: m.protocol, timeoutMs: m.timeoutMs, compression: m.compression, ca: m.tls.ca?.toString(), cert: m.tls.cert?.toString(), key: m.tls.key?.toString() };
  },
  temporality: (e: Effective) => e.telemetry.temporality,
  nothing: () => 'no effect',
} as const;

type Getter = keyof typeof GET;

interface Case {
  /** The variable under test is the first key. */
  readonly env: Record<string, string>;
  readonly get: Getter;
  readonly want: unknown;
  /** The one warning this env gets (code; variable, when not the first key), or none. */
  readonly warns?: SettingProblem['code'] | readonly [SettingProblem['code'], string];
  /** A value that must never appear in a log line. */
  readonly secret?: string;
}

const T = 'LRAP_TRACING_CONFIG_INVALID';
const XRAY = 'https://xray.us-east-2.amazonaws.com';
const CREDS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-very-secret', AWS_REGION: 'eu-west-1' };

const CASES: readonly Case[] = [
  // ---- logging
  { env: { LRAP_LOG_LEVEL: 'debug' }, get: 'logLevel', want: 'debug' },
  { env: { LRAP_LOG_LEVEL: 'ERROR' }, get: 'logLevel', want: 'error' },
  { env: { LRAP_LOG_LEVEL: ' info ' }, get: 'logLevel', want: 'info' },
  { env: { LRAP_LOG_LEVEL: 'verbose' }, get: 'logLevel', want: 'debug' },
  { env: { LRAP_LOG_LEVEL: 'off' }, get: 'logLevel', want: 'none' },
  { env: { LRAP_LOG_LEVEL: 'loud' }, get: 'logLevel', want: 'warn', warns: 'LRAP_LOG_LEVEL_INVALID' },
  { env: { LRAP_LOG_LEVEL: 'loud', OTEL_LOG_LEVEL: 'error' }, get: 'logLevel', want: 'error', warns: 'LRAP_LOG_LEVEL_INVALID' },
  { env: { LRAP_LOG_LEVEL: 'debug', OTEL_LOG_LEVEL: 'error' }, get: 'logLevel', want: 'debug' },
  { env: { LRAP_LOG_LEVEL: '', OTEL_LOG_LEVEL: 'error' }, get: 'logLevel', want: 'error' },
  { env: { OTEL_LOG_LEVEL: 'INFO' }, get: 'logLevel', want: 'info' },
  { env: { OTEL_LOG_LEVEL: 'all' }, get: 'logLevel', want: 'debug' },
  { env: { OTEL_LOG_LEVEL: 'chatty' }, get: 'logLevel', want: 'warn', warns: 'LRAP_LOG_LEVEL_INVALID' },

  // ---- the proxy (bad values throw: see the ConfigError test below)
  { env: { LRAP_LISTENER_PORT: '9011' }, get: 'listenerPort', want: 9011 },
  { env: { LRAP_LISTENER_PORT: ' 9011 ' }, get: 'listenerPort', want: 9011 },
  { env: { LRAP_RUNTIME_API_ENDPOINT: 'localhost:9010' }, get: 'upstream', want: 'localhost:9010' },
  { env: { LRAP_RUNTIME_API_ENDPOINT: '[::1]:9010' }, get: 'upstream', want: '[::1]:9010' },
  { env: { AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9123' }, get: 'upstream', want: '127.0.0.1:9123' },
  { env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }, get: 'managedInstances', want: 'true {"kind":"periodic","intervalMs":1000}' },
  { env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' }, get: 'managedInstances', want: 'false {"kind":"adaptive"}' },

  // ---- tracing on or off
  { env: { OTEL_SDK_DISABLED: 'true' }, get: 'tracingEnabled', want: false },
  { env: { OTEL_SDK_DISABLED: 'TRUE' }, get: 'tracingEnabled', want: false },
  { env: { OTEL_SDK_DISABLED: 'False' }, get: 'tracingEnabled', want: true },
  { env: { OTEL_SDK_DISABLED: '1' }, get: 'tracingEnabled', want: true, warns: T },
  { env: { OTEL_SDK_DISABLED: 'yes' }, get: 'tracingEnabled', want: true, warns: T },
  { env: { OTEL_TRACES_EXPORTER: 'otlp' }, get: 'exporter', want: 'otlp' },
  { env: { OTEL_TRACES_EXPORTER: 'NONE' }, get: 'exporter', want: 'none' },
  { env: { OTEL_TRACES_EXPORTER: 'console' }, get: 'exporter', want: 'otlp', warns: T },
  { env: { OTEL_TRACES_EXPORTER: 'otlp,zipkin' }, get: 'exporter', want: 'otlp', warns: T },
  { env: { OTEL_TRACES_EXPORTER: 'none,otlp' }, get: 'exporter', want: 'otlp', warns: T },

  // ---- where spans go
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, get: 'url', want: 'http://collector:4318/v1/traces' },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example/base/' }, get: 'url', want: 'https://otlp.example/base/v1/traces' },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not-a-url' }, get: 'url', want: 'http://localhost:4318/v1/traces', warns: T },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' }, get: 'url', want: 'http://localhost:4318/v1/traces', warns: T },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://user:hunter2@collector:4318' }, get: 'url', want: 'http://user:hunter2@collector:4318/v1/traces' },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318?token=hunter2' }, get: 'url', want: 'http://localhost:4318/v1/traces', warns: T, secret: 'hunter2' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom' }, get: 'url', want: 'http://collector:4318/custom' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://a:1/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:2' }, get: 'url', want: 'http://a:1/x' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'nope', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:2' }, get: 'url', want: 'http://b:2/v1/traces', warns: T },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc123,tenant=a%2Cb' }, get: 'headers', want: { 'x-api-key': 'abc123', tenant: 'a,b' } },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Basic dXNlcjpwYXNz==' }, get: 'headers', want: { authorization: 'Basic dXNlcjpwYXNz==' } },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'garbage' }, get: 'headers', want: {}, warns: T, secret: 'garbage' },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr3t-value,broken' }, get: 'headers', want: {}, warns: T, secret: 's3cr3t-value' },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=bad%ZZsecret' }, get: 'headers', want: {}, warns: T, secret: 'secret' },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'bad name=tok3n' }, get: 'headers', want: {}, warns: T, secret: 'tok3n' },
  { env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=line%0D%0Abreak' }, get: 'headers', want: {}, warns: T, secret: 'break' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=2,a=3', OTEL_EXPORTER_OTLP_HEADERS: 'a=1' }, get: 'headers', want: { a: '3', b: '2' } },
  { env: { OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'oops', OTEL_EXPORTER_OTLP_HEADERS: 'a=1' }, get: 'headers', want: { a: '1' }, warns: T, secret: 'oops' },
  { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, get: 'protocol', want: 'http/json' },
  { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON' }, get: 'protocol', want: 'http/json' },
  { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, get: 'protocol', want: 'http/protobuf', warns: T },
  { env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, get: 'protocol', want: 'http/protobuf' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, get: 'protocol', want: 'http/json', warns: T },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: '5000' }, get: 'timeout', want: 5000 },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: '0' }, get: 'timeout', want: NO_LIMIT_MS },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: 'abc' }, get: 'timeout', want: 10_000, warns: T },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: '-1' }, get: 'timeout', want: 10_000, warns: T },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: '2.5' }, get: 'timeout', want: 10_000, warns: T },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: '5s' }, get: 'timeout', want: 10_000, warns: T },
  { env: { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '300', OTEL_EXPORTER_OTLP_TIMEOUT: '5000' }, get: 'timeout', want: 300 },
  { env: { OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'x', OTEL_EXPORTER_OTLP_TIMEOUT: '5000' }, get: 'timeout', want: 5000, warns: T },
  { env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, get: 'compression', want: 'gzip' },
  { env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'GZIP' }, get: 'compression', want: 'gzip' },
  { env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, get: 'compression', want: 'none', warns: T },
  { env: { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, get: 'compression', want: 'none' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'br', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, get: 'compression', want: 'gzip', warns: T },
  { env: { OTEL_EXPORTER_OTLP_CERTIFICATE: '/pem/ca.pem' }, get: 'ca', want: 'CA PEM' },
  { env: { OTEL_EXPORTER_OTLP_CERTIFICATE: '/pem/missing.pem' }, get: 'ca', want: undefined, warns: T },
  { env: { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/pem/missing.pem', OTEL_EXPORTER_OTLP_CERTIFICATE: '/pem/ca.pem' }, get: 'ca', want: 'CA PEM', warns: T },
  { env: { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/pem/ca.pem' }, get: 'ca', want: 'CA PEM' },
  { env: { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/pem/client.pem' }, get: 'cert', want: 'CLIENT PEM' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: '/pem/client.pem' }, get: 'cert', want: 'CLIENT PEM' },
  { env: { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/nope' }, get: 'cert', want: undefined, warns: T },
  { env: { OTEL_EXPORTER_OTLP_CLIENT_KEY: '/pem/key.pem' }, get: 'key', want: 'KEY PEM' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '/pem/key.pem' }, get: 'key', want: 'KEY PEM' },
  { env: { OTEL_EXPORTER_OTLP_CLIENT_KEY: '/nope' }, get: 'key', want: undefined, warns: T },
  { env: { LRAP_XRAY_SIGV4: 'true', ...CREDS }, get: 'signing', want: 'signed for eu-west-1' },
  { env: { LRAP_XRAY_SIGV4: 'FALSE', ...CREDS, OTEL_EXPORTER_OTLP_ENDPOINT: XRAY }, get: 'signing', want: 'unsigned' },
  { env: { LRAP_XRAY_SIGV4: '1', ...CREDS }, get: 'signing', want: 'unsigned', warns: T },
  { env: { LRAP_XRAY_SIGV4: '0', ...CREDS, OTEL_EXPORTER_OTLP_ENDPOINT: XRAY }, get: 'signing', want: 'signed for us-east-2', warns: T },
  { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-very-secret', AWS_SESSION_TOKEN: 'tok', OTEL_EXPORTER_OTLP_ENDPOINT: XRAY }, get: 'signing', want: 'signed for us-east-2' },
  { env: { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-very-secret', OTEL_EXPORTER_OTLP_ENDPOINT: XRAY }, get: 'signing', want: 'tracing off', warns: [T, 'AWS_ACCESS_KEY_ID'], secret: 'wJalrXUtnFEMI' },
  { env: { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', OTEL_EXPORTER_OTLP_ENDPOINT: XRAY }, get: 'signing', want: 'tracing off', warns: [T, 'AWS_SECRET_ACCESS_KEY'] },
  { env: { AWS_SESSION_TOKEN: 'only-a-token' }, get: 'signing', want: 'unsigned' },
  { env: { AWS_DEFAULT_REGION: 'ap-south-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', LRAP_XRAY_SIGV4: 'true' }, get: 'signing', want: 'signed for ap-south-1' },
  { env: { LRAP_XRAY_SIGV4: 'true', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }, get: 'signing', want: 'tracing off', warns: [T, 'AWS_REGION'] },

  // ---- what the spans say
  { env: { OTEL_SERVICE_NAME: 'orders' }, get: 'serviceName', want: 'orders' },
  { env: { OTEL_SERVICE_NAME: '  orders  ' }, get: 'serviceName', want: 'orders' },
  { env: { OTEL_RESOURCE_ATTRIBUTES: 'team=payments,deployment.environment.name=prod' }, get: 'resourceAttributes', want: { team: 'payments', 'deployment.environment.name': 'prod' } },
  { env: { OTEL_RESOURCE_ATTRIBUTES: 'note=a%2Cb%3Dc, ,x = y ' }, get: 'resourceAttributes', want: { note: 'a,b=c', x: 'y' } },
  { env: { OTEL_RESOURCE_ATTRIBUTES: 'garbage' }, get: 'resourceAttributes', want: {}, warns: T },
  { env: { OTEL_RESOURCE_ATTRIBUTES: 'ok=1,=nokey' }, get: 'resourceAttributes', want: {}, warns: T },
  { env: { OTEL_RESOURCE_ATTRIBUTES: 'bad=%E0%A4%A' }, get: 'resourceAttributes', want: {}, warns: T },
  { env: { OTEL_TRACES_SAMPLER: 'always_off' }, get: 'sampler', want: { kind: 'always_off' } },
  { env: { OTEL_TRACES_SAMPLER: 'ALWAYS_ON' }, get: 'sampler', want: { kind: 'always_on' } },
  { env: { OTEL_TRACES_SAMPLER: 'ParentBased_AlwaysOff' }, get: 'sampler', want: { kind: 'parentbased_always_on' }, warns: T },
  { env: { OTEL_TRACES_SAMPLER: 'sometimes' }, get: 'sampler', want: { kind: 'parentbased_always_on' }, warns: T },
  { env: { OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1 } },
  { env: { OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }, get: 'sampler', want: { kind: 'parentbased_traceidratio', ratio: 0.25 } },
  { env: { OTEL_TRACES_SAMPLER_ARG: '0', OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 0 } },
  { env: { OTEL_TRACES_SAMPLER_ARG: '1e-7', OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1e-7 } },
  { env: { OTEL_TRACES_SAMPLER_ARG: '-0.5', OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1 }, warns: T },
  { env: { OTEL_TRACES_SAMPLER_ARG: '0x1', OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1 }, warns: T },
  { env: { OTEL_TRACES_SAMPLER_ARG: '2', OTEL_TRACES_SAMPLER: 'traceidratio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1 }, warns: T },
  { env: { OTEL_TRACES_SAMPLER_ARG: 'half', OTEL_TRACES_SAMPLER: 'TraceIdRatio' }, get: 'sampler', want: { kind: 'traceidratio', ratio: 1 }, warns: T },
  { env: { OTEL_TRACES_SAMPLER_ARG: '0.5' }, get: 'sampler', want: { kind: 'parentbased_always_on' } },
  { env: { OTEL_PROPAGATORS: 'tracecontext' }, get: 'propagators', want: 'tracecontext' },
  { env: { OTEL_PROPAGATORS: 'TraceContext, XRAY-lambda' }, get: 'propagators', want: 'tracecontext,xray-lambda' },
  { env: { OTEL_PROPAGATORS: 'none' }, get: 'propagators', want: '' },
  { env: { OTEL_PROPAGATORS: 'baggage' }, get: 'propagators', want: 'baggage' },
  { env: { OTEL_PROPAGATORS: 'tracecontext,b3' }, get: 'propagators', want: 'tracecontext', warns: T },
  { env: { OTEL_PROPAGATORS: 'b3,jaeger' }, get: 'propagators', want: 'tracecontext,baggage,xray', warns: T },
  { env: { LRAP_XRAY_PARENT_REWRITE: 'false' }, get: 'rewriteXrayParent', want: false },
  { env: { LRAP_XRAY_PARENT_REWRITE: 'False' }, get: 'rewriteXrayParent', want: false },
  { env: { LRAP_XRAY_PARENT_REWRITE: '0' }, get: 'rewriteXrayParent', want: true, warns: T },
  { env: { LRAP_XRAY_PARENT_REWRITE: 'yes' }, get: 'rewriteXrayParent', want: true, warns: T },

  // ---- the queue and when it is exported
  { env: { OTEL_BSP_MAX_QUEUE_SIZE: '100' }, get: 'maxQueueSize', want: 100 },
  { env: { OTEL_BSP_MAX_QUEUE_SIZE: '0' }, get: 'maxQueueSize', want: 2048, warns: T },
  { env: { OTEL_BSP_MAX_QUEUE_SIZE: 'lots' }, get: 'maxQueueSize', want: 2048, warns: T },
  { env: { OTEL_BSP_MAX_QUEUE_SIZE: '99999999999' }, get: 'maxQueueSize', want: 2048, warns: T },
  { env: { LRAP_FLUSH: 'periodic:250' }, get: 'flush', want: { kind: 'periodic', intervalMs: 250 } },
  { env: { LRAP_FLUSH: 'SHUTDOWN' }, get: 'flush', want: { kind: 'shutdown' } },
  { env: { LRAP_FLUSH: 'end' }, get: 'flush', want: { kind: 'end' } },
  { env: { LRAP_FLUSH: 'Adaptive' }, get: 'flush', want: { kind: 'adaptive' } },
  { env: { LRAP_FLUSH: 'periodic:0' }, get: 'flush', want: { kind: 'adaptive' }, warns: T },
  { env: { LRAP_FLUSH: 'sometimes' }, get: 'flush', want: { kind: 'adaptive' }, warns: T },
  { env: { LRAP_FLUSH: 'nope', AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' }, get: 'flush', want: { kind: 'periodic', intervalMs: 1000 }, warns: T },
  { env: { LRAP_FLUSH_TIMEOUT_MS: '500' }, get: 'flushTimeout', want: 500 },
  { env: { LRAP_FLUSH_TIMEOUT_MS: '-5' }, get: 'flushTimeout', want: 2000, warns: T },
  { env: { LRAP_FLUSH_TIMEOUT_MS: '0' }, get: 'flushTimeout', want: 2000, warns: T },

  // ---- the Telemetry API and metrics
  { env: { LRAP_TELEMETRY_API: 'false' }, get: 'telemetryApi', want: false },
  { env: { LRAP_TELEMETRY_API: 'FALSE' }, get: 'metrics', want: false },
  { env: { LRAP_TELEMETRY_API: '0' }, get: 'telemetryApi', want: true, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { LRAP_PLATFORM_WAIT_MS: '0' }, get: 'platformWait', want: 0 },
  { env: { LRAP_PLATFORM_WAIT_MS: '250' }, get: 'platformWait', want: 250 },
  { env: { LRAP_PLATFORM_WAIT_MS: '5s' }, get: 'platformWait', want: 100, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { LRAP_PLATFORM_WAIT_MS: '5000' }, get: 'platformWait', want: 100, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_METRICS_EXPORTER: 'None' }, get: 'metrics', want: false },
  { env: { OTEL_METRICS_EXPORTER: 'otlp' }, get: 'metrics', want: true },
  { env: { OTEL_METRICS_EXPORTER: 'prometheus' }, get: 'metrics', want: false, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_METRICS_EXPORTER: 'otlp,console' }, get: 'metrics', want: true, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/custom' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, url: 'http://m:4318/custom' } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'nope', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, url: 'http://c:4318/v1/metrics' }, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-k=1', OTEL_EXPORTER_OTLP_HEADERS: 'x-k=0,y=2' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, headers: { 'x-k': '1', y: '2' } } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'm3tr1c-secret' }, get: 'metricsExport', want: { url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, warns: 'LRAP_TELEMETRY_CONFIG_INVALID', secret: 'm3tr1c-secret' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'HTTP/JSON' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, protocol: 'http/json' } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }, get: 'metricsExport', want: { url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, timeoutMs: 700 } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: 'soon' }, get: 'metricsExport', want: { url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, compression: 'gzip' } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: '/pem/ca.pem' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, ca: 'CA PEM' } },
  { env: { OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE: '/nope' }, get: 'metricsExport', want: { url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: '/pem/key.pem' }, get: 'metricsExport', want: { ...{ url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, key: 'KEY PEM' } },
  { env: { OTEL_EXPORTER_OTLP_TIMEOUT: 'abc' }, get: 'metricsExport', want: { url: 'http://localhost:4318/v1/metrics', headers: {}, protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none', ca: undefined, cert: undefined, key: undefined }, warns: 'LRAP_TRACING_CONFIG_INVALID' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta' }, get: 'temporality', want: 'delta' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'lowmemory' }, get: 'temporality', want: 'lowmemory' },
  { env: { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'sometimes' }, get: 'temporality', want: 'cumulative', warns: 'LRAP_TELEMETRY_CONFIG_INVALID' },

  // ---- standard variables that are not read: one warning, no effect
  { env: { OTEL_BSP_SCHEDULE_DELAY: '5000' }, get: 'nothing', want: 'no effect', warns: 'LRAP_SETTING_IGNORED' },
  { env: { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' }, get: 'nothing', want: 'no effect', warns: 'LRAP_SETTING_IGNORED' },
  { env: { OTEL_BSP_EXPORT_TIMEOUT: '1000' }, get: 'nothing', want: 'no effect', warns: 'LRAP_SETTING_IGNORED' },
  { env: { OTEL_EXPORTER_OTLP_INSECURE: 'true' }, get: 'nothing', want: 'no effect', warns: 'LRAP_SETTING_IGNORED' },
  { env: { OTEL_EXPORTER_OTLP_TRACES_INSECURE: 'true' }, get: 'nothing', want: 'no effect', warns: 'LRAP_SETTING_IGNORED' },

  // ---- set by Lambda
  { env: { AWS_LAMBDA_FUNCTION_NAME: 'orders' }, get: 'functionName', want: 'orders' },
  { env: { AWS_LAMBDA_FUNCTION_VERSION: '7' }, get: 'functionVersion', want: '7' },
  { env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' }, get: 'memory', want: 512 },
  { env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' }, get: 'memory', want: undefined },
  { env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' }, get: 'region', want: 'eu-west-1' },
  { env: { AWS_DEFAULT_REGION: 'us-east-1' }, get: 'region', want: 'us-east-1' },
];

/** Read by the wrapper script or by Lambda, not by src/settings/: checked elsewhere (test/integration/wrapper.test.ts). */
const NOT_PARSED_HERE = new Set(['AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_LAMBDA_EXEC_WRAPPER', 'AWS_LAMBDA_LOG_FORMAT']);

function logLines(problems: readonly SettingProblem[]): Record<string, unknown>[] {
  const lines: string[] = [];
  logSettingProblems(createLogger('debug', (l) => lines.push(l)), problems);
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

function title(c: Case): string {
  return Object.entries(c.env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
}

for (const c of CASES) {
  const variable = Object.keys(c.env)[0]!;
  test(`${title(c)} gives ${c.get} ${JSON.stringify(c.want)}${c.warns ? ' and one warning' : ', silently'}`, () => {
    const e = effective(c.env);
    assert.deepEqual(GET[c.get](e), c.want);
    const lines = logLines(e.problems);
    if (c.warns === undefined) {
      assert.deepEqual(lines, []);
      return;
    }
    const [code, named] = typeof c.warns === 'string' ? [c.warns, variable] : c.warns;
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]!.level, 'warn');
    assert.equal(lines[0]!.code, code);
    assert.equal(lines[0]!.variable, named);
    assert.match(String(lines[0]!.msg), new RegExp(`^${named}=`));
    assert.ok(String(lines[0]!.used).length > 0, 'says what was used instead');
    if (c.secret !== undefined) assert.ok(!JSON.stringify(lines).includes(c.secret), `no secret in ${JSON.stringify(lines)}`);
  });
}

test('every variable is unset when empty or blank: the default, and no warning', () => {
  const defaults = effective({});
  assert.deepEqual(defaults.problems, []);
  for (const c of CASES) {
    const variable = Object.keys(c.env)[0]!;
    if (variable === 'AWS_LAMBDA_RUNTIME_API') continue; // Required: empty is a ConfigError (below).
    for (const blank of ['', '   ', '\t']) {
      const e = effective({ [variable]: blank });
      assert.deepEqual(GET[c.get](e), GET[c.get](defaults), `${variable}=${JSON.stringify(blank)}`);
      assert.deepEqual(e.problems, [], `${variable}=${JSON.stringify(blank)}`);
    }
  }
});

test('the defaults are those the README documents', () => {
  const e = effective({});
  assert.equal(e.logLevel, 'warn');
  assert.equal(e.core.listenerPort, 9009);
  assert.equal(e.core.upstream.text, '127.0.0.1:9001');
  assert.equal(e.core.tracingEnabled, true);
  assert.deepEqual(otlp(e), { protocol: 'http/protobuf', url: 'http://localhost:4318/v1/traces', headers: {}, timeoutMs: 10_000, compression: 'none', tls: { ca: undefined, cert: undefined, key: undefined } });
  assert.equal(signing(e), 'unsigned');
  assert.deepEqual(e.tracing.sampler, { kind: 'parentbased_always_on' });
  assert.equal(GET.propagators(e), 'tracecontext,baggage,xray');
  assert.deepEqual(e.tracing.flush, { kind: 'adaptive' });
  assert.equal(e.tracing.rewriteXrayParent, true);
  assert.deepEqual([e.tracing.maxQueueSize, e.tracing.flushTimeoutMs], [2048, 2000]);
});

test('a bad proxy setting is a ConfigError naming the variable, its value and the valid form', () => {
  for (const [env, type] of [
    [{ LRAP_LISTENER_PORT: 'abc' }, 'Extension.InvalidListenerPort'],
    [{ LRAP_LISTENER_PORT: '0' }, 'Extension.InvalidListenerPort'],
    [{ LRAP_LISTENER_PORT: '65536' }, 'Extension.InvalidListenerPort'],
    [{ LRAP_RUNTIME_API_ENDPOINT: 'http://127.0.0.1:9001' }, 'Extension.InvalidRuntimeApiEndpoint'],
    [{ LRAP_LISTENER_PORT: '9001' }, 'Extension.InvalidConfiguration'],
    [{ AWS_LAMBDA_RUNTIME_API: 'nowhere' }, 'Extension.InvalidRuntimeApiEndpoint'],
    [{ AWS_LAMBDA_RUNTIME_API: ' ' }, 'Extension.MissingRuntimeApi'],
  ] as const) {
    assert.throws(() => effective(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.code, 'LRAP_CONFIG_INVALID');
      assert.equal(err.lambdaErrorType, type);
      assert.match(err.message, new RegExp(Object.keys(env)[0]!));
      return true;
    }, JSON.stringify(env));
  }
});

test('every documented variable read by src/settings/ has cases here, good and bad', () => {
  const tested = new Set(CASES.map((c) => Object.keys(c.env)[0]!));
  const documented = VARIABLES.flatMap((v) => v.names).filter((n) => !NOT_PARSED_HERE.has(n));
  assert.deepEqual(documented.filter((n) => !tested.has(n)), []);
  assert.deepEqual([...tested].filter((n) => !documented.includes(n)), [], 'a tested variable is not documented');
});

test('a value is masked in the log when its variable may hold a credential, and a URL loses its user and query', () => {
  const lines = logLines([
    ...effective({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key' }).problems,
    ...effective({ OTEL_EXPORTER_OTLP_ENDPOINT: 'htp://user:pw@host?token=t0k' }).problems,
    ...effective({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://user:pw@host/x?token=t0k' }).problems,
  ]);
  assert.equal(lines[0]!.value, '<7 characters, masked>');
  for (const line of lines.slice(1)) {
    assert.doesNotMatch(JSON.stringify(line), /pw|t0k/);
    assert.match(String(line.value), /\*\*\*/);
  }
});
