// The README's reference tables (settings, log codes, Lambda error types, span
// attributes), as data, and their Markdown. The README holds them between
// `<!-- reference:NAME -->` markers; test/unit/reference-tables.test.ts fails
// when the README differs from this file, or when src/ reads a variable, logs a
// code or sets an attribute that is not here (or this file lists one src/ no
// longer has). Run `make docs` (this file with --write) to refresh the README.
//
// Never imported by the extension itself: nothing here is in the layer.

import { readFileSync, writeFileSync } from 'node:fs';

export type VariableGroup = 'proxy' | 'logging' | 'tracing' | 'export' | 'spans' | 'queue' | 'telemetry' | 'not read' | 'set by Lambda';

export interface VariableDoc {
  /** One row may document a general variable and its traces-only form, which wins over it. */
  readonly names: readonly string[];
  readonly group: VariableGroup;
  readonly defaultValue: string;
  /** Accepted values and what they do. */
  readonly values: string;
  /** What a bad value does. */
  readonly bad: string;
}

const SKIPPED = 'warning `LRAP_TRACING_CONFIG_INVALID`, then';
const CASE = 'any case';

export const VARIABLES: readonly VariableDoc[] = [
  // ---- the proxy: a bad value fails init
  {
    names: ['LRAP_LISTENER_PORT'], group: 'proxy', defaultValue: '`9009`',
    values: 'the proxy\'s port on 127.0.0.1, 1 to 65535 (the wrapper reads it too)',
    bad: 'init fails: `Extension.InvalidListenerPort`; the upstream\'s own loopback port: `Extension.InvalidConfiguration`',
  },
  {
    names: ['LRAP_RUNTIME_API_ENDPOINT'], group: 'proxy', defaultValue: '`AWS_LAMBDA_RUNTIME_API`',
    values: 'upstream `host:port` (no scheme); point it at another proxy to chain them',
    bad: 'init fails: `Extension.InvalidRuntimeApiEndpoint`',
  },
  // ---- logging
  {
    names: ['LRAP_LOG_LEVEL'], group: 'logging', defaultValue: '`OTEL_LOG_LEVEL`, else `warn`',
    values: `\`debug\`, \`info\`, \`warn\`, \`error\`, \`none\` (${CASE}; also \`verbose\`, \`all\`, \`trace\` = debug, \`warning\` = warn, \`off\`, \`silent\` = none)`,
    bad: 'warning `LRAP_LOG_LEVEL_INVALID`, then `OTEL_LOG_LEVEL`, else `warn`',
  },
  {
    names: ['OTEL_LOG_LEVEL'], group: 'logging', defaultValue: '`warn`',
    values: 'as `LRAP_LOG_LEVEL`, used when that is unset. The level in force applies to the OpenTelemetry libraries\' own messages too (`LRAP_OTEL_DIAGNOSTIC`)',
    bad: 'warning `LRAP_LOG_LEVEL_INVALID`, then `warn`',
  },
  // ---- tracing on or off
  {
    names: ['OTEL_SDK_DISABLED'], group: 'tracing', defaultValue: '`false`',
    values: `\`true\` (${CASE}): forward only, no tracing (nothing of the SDK is loaded); \`false\``,
    bad: `${SKIPPED} \`false\` (the spec's booleans: \`1\`, \`yes\` are not true)`,
  },
  {
    names: ['OTEL_TRACES_EXPORTER'], group: 'tracing', defaultValue: '`otlp`',
    values: '`otlp`; `none`: no spans are made, the proxy forwards only',
    bad: `${SKIPPED} \`otlp\` (\`console\`, \`zipkin\` are not available)`,
  },
  // ---- where spans go
  {
    names: ['OTEL_EXPORTER_OTLP_ENDPOINT'], group: 'export', defaultValue: '`http://localhost:4318`',
    values: 'base `http://` or `https://` URL; `/v1/traces` is appended',
    bad: `${SKIPPED} the default`,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'], group: 'export', defaultValue: '',
    values: 'full URL, used as is; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`',
    bad: `${SKIPPED} \`OTEL_EXPORTER_OTLP_ENDPOINT\`, else the default`,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'], group: 'export', defaultValue: '',
    values: '`key=value,…`, percent-decoded (`%2C` for a comma), e.g. an API key; the traces form is added over the general one, key by key. Never logged',
    bad: `${SKIPPED} none of that variable's headers (its value is masked in the log)`,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'], group: 'export', defaultValue: '`http/protobuf`',
    values: `\`http/protobuf\` or \`http/json\` (${CASE}); gRPC is not available`,
    bad: `${SKIPPED} the other variable, else \`http/protobuf\``,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'], group: 'export', defaultValue: '`10000`',
    values: 'ms for one export request; `0`: no limit. Retries are the export queue\'s, in the background; an invocation is held at most `LRAP_FLUSH_TIMEOUT_MS` (or to its deadline) whatever this says',
    bad: `${SKIPPED} the other variable, else \`10000\``,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'], group: 'export', defaultValue: '`none`',
    values: `\`gzip\` or \`none\` (${CASE})`,
    bad: `${SKIPPED} the other variable, else \`none\``,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_CERTIFICATE', 'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE'], group: 'export', defaultValue: 'the system\'s CAs',
    values: 'PEM file of the CA certificates to trust for an `https://` collector (instead of the system\'s)',
    bad: `unreadable: ${SKIPPED} the other variable, else the system's CAs`,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE'], group: 'export', defaultValue: '',
    values: 'PEM file of the client certificate, for mutual TLS',
    bad: `unreadable: ${SKIPPED} the other variable, else none`,
  },
  {
    names: ['OTEL_EXPORTER_OTLP_CLIENT_KEY', 'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY'], group: 'export', defaultValue: '',
    values: 'PEM file of the client certificate\'s private key',
    bad: `unreadable: ${SKIPPED} the other variable, else none`,
  },
  {
    names: ['LRAP_XRAY_SIGV4'], group: 'export', defaultValue: 'only for X-Ray\'s endpoint',
    values: '`true`: SigV4-sign exports with the function\'s role (service `xray`), whatever the endpoint; `false`: never (send an X-Ray API key instead); unset: sign when the endpoint is `https://xray.<region>.amazonaws.com`',
    bad: `${SKIPPED} the default. Signing without a region or credentials: the same warning (naming \`AWS_REGION\` or \`AWS_ACCESS_KEY_ID\`), tracing off`,
  },
  // ---- what the spans say
  {
    names: ['OTEL_SERVICE_NAME'], group: 'spans', defaultValue: 'function name',
    values: '`service.name`; wins over one in `OTEL_RESOURCE_ATTRIBUTES`',
    bad: 'none: any text is a name',
  },
  {
    names: ['OTEL_RESOURCE_ATTRIBUTES'], group: 'spans', defaultValue: '',
    values: 'extra resource attributes, `k=v,…`, percent-decoded; they win over ours',
    bad: `${SKIPPED} none of them (the spec: one bad entry discards all)`,
  },
  {
    names: ['OTEL_TRACES_SAMPLER'], group: 'spans', defaultValue: '`parentbased_always_on`',
    values: `\`always_on\`, \`always_off\`, \`traceidratio\`, \`parentbased_always_on\`, \`parentbased_always_off\`, \`parentbased_traceidratio\` (${CASE})`,
    bad: `${SKIPPED} \`parentbased_always_on\``,
  },
  {
    names: ['OTEL_TRACES_SAMPLER_ARG'], group: 'spans', defaultValue: '`1`',
    values: 'the ratio, 0 to 1, of the `traceidratio` samplers; ignored by the others',
    bad: `${SKIPPED} \`1\``,
  },
  {
    names: ['OTEL_PROPAGATORS'], group: 'spans', defaultValue: '`tracecontext,baggage,xray`',
    values: `what incoming context is joined, a list (${CASE}): \`tracecontext\`, \`xray\`, \`xray-lambda\` (also follows \`Lambda-Runtime-Trace-Id\` when it is not sampled), \`none\`. \`baggage\` is accepted and does nothing: the event's own \`baggage\` reaches the function unchanged, and spans do not record it`,
    bad: `names not read here (\`b3\`, \`jaeger\`, …): ${SKIPPED} the rest, or the default if none is left`,
  },
  {
    names: ['LRAP_XRAY_PARENT_REWRITE'], group: 'spans', defaultValue: '`true`',
    values: '`true`/`false`: when the span joined Lambda\'s X-Ray trace, point `Parent=` of `Lambda-Runtime-Trace-Id` at it, so X-Ray-instrumented code nests under it',
    bad: `${SKIPPED} \`true\` (\`1\`, \`0\` are not booleans)`,
  },
  // ---- the queue and when it is exported
  {
    names: ['OTEL_BSP_MAX_QUEUE_SIZE'], group: 'queue', defaultValue: '`2048`',
    values: 'spans waiting for export (or for a retry) at most; more are dropped, counted and logged (`LRAP_SPANS_DROPPED`)',
    bad: `${SKIPPED} \`2048\``,
  },
  {
    names: ['LRAP_FLUSH'], group: 'queue', defaultValue: '`adaptive` (`periodic:1000` on Managed Instances)',
    values: `\`adaptive\`: see *When spans are exported*; \`end\`: export after each invocation, before the environment may freeze; \`periodic:<ms>\`: batch, export when due; \`shutdown\`: only at SHUTDOWN (${CASE})`,
    bad: `${SKIPPED} the default`,
  },
  {
    names: ['LRAP_FLUSH_TIMEOUT_MS'], group: 'queue', defaultValue: '`2000`',
    values: 'most an invocation is ever held for an export; the budget learned from the collector stays under it',
    bad: `${SKIPPED} \`2000\``,
  },
  // ---- the Telemetry API and metrics
  {
    names: ['LRAP_TELEMETRY_API'], group: 'telemetry', defaultValue: '`true`',
    values: 'subscribe to Lambda\'s Telemetry API (platform events, and the function\'s log, only scanned for out-of-memory messages); `false`: no platform facts on spans, no spans for invocations the proxy does not see, no metrics',
    bad: 'warning `LRAP_TELEMETRY_CONFIG_INVALID`, then `true` (`1`, `0` are not booleans)',
  },
  {
    names: ['LRAP_PLATFORM_WAIT_MS'], group: 'telemetry', defaultValue: '`100`',
    values: 'longest a span whose runtime has posted waits for Lambda\'s `platform.runtimeDone` (its response latency, duration, status) before it is exported, 0 to 1000; the wait holds the environment after the response (measured: ~28 ms median per invocation); `0`: spans leave at once, without those figures. Invocations whose runtime posted nothing never wait for it',
    bad: 'warning `LRAP_TELEMETRY_CONFIG_INVALID`, then `100`',
  },
  {
    names: ['OTEL_METRICS_EXPORTER'], group: 'telemetry', defaultValue: '`otlp`',
    values: '`otlp`: `platform.report` figures as OTLP metrics (not when exporting to X-Ray\'s endpoint, which takes traces only, nor with `LRAP_TELEMETRY_API=false`); `none`: no metrics',
    bad: 'others (`prometheus`, `console`): warning `LRAP_TELEMETRY_CONFIG_INVALID`, then `otlp` if it is listed too, else no metrics',
  },
  {
    names: ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'], group: 'telemetry', defaultValue: '`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`',
    values: 'full URL for metrics, used as is',
    bad: 'warning `LRAP_TELEMETRY_CONFIG_INVALID`, then `OTEL_EXPORTER_OTLP_ENDPOINT`, else the default',
  },
  {
    names: ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION',
      'OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE', 'OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE', 'OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY'], group: 'telemetry',
    defaultValue: 'the general variable\'s',
    values: 'as the general `OTEL_EXPORTER_OTLP_*` variable of the same name, for metrics only; each wins over its general form (headers key by key)',
    bad: 'warning `LRAP_TELEMETRY_CONFIG_INVALID`, then the general variable, else its default',
  },
  {
    names: ['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE'], group: 'telemetry', defaultValue: '`cumulative`',
    values: '`cumulative`, `delta` or `lowmemory` (any case)',
    bad: 'warning `LRAP_TELEMETRY_CONFIG_INVALID`, then `cumulative`',
  },
  // ---- standard variables that are not read
  {
    names: ['OTEL_BSP_SCHEDULE_DELAY'], group: 'not read', defaultValue: '',
    values: 'not read: `LRAP_FLUSH` decides when spans are exported (a frozen environment fires no timer)',
    bad: 'set at all: warning `LRAP_SETTING_IGNORED`',
  },
  {
    names: ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'OTEL_BSP_EXPORT_TIMEOUT'], group: 'not read', defaultValue: '',
    values: 'not read: the export queue sends at most 512 spans per request, each bounded by `OTEL_EXPORTER_OTLP_TIMEOUT` (and an invocation\'s wait by `LRAP_FLUSH_TIMEOUT_MS`)',
    bad: 'set at all: warning `LRAP_SETTING_IGNORED`',
  },
  {
    names: ['OTEL_EXPORTER_OTLP_INSECURE', 'OTEL_EXPORTER_OTLP_TRACES_INSECURE'], group: 'not read', defaultValue: '',
    values: 'not read: gRPC only; the URL\'s scheme decides TLS',
    bad: 'set at all: warning `LRAP_SETTING_IGNORED`',
  },
  // ---- set by Lambda, read by the extension
  {
    names: ['AWS_LAMBDA_RUNTIME_API'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: 'the Extensions and Runtime API `host:port`',
    bad: 'missing: the extension exits (`LRAP_CONFIG_INVALID`); not `host:port`: init fails, `Extension.InvalidRuntimeApiEndpoint`',
  },
  {
    names: ['AWS_LAMBDA_INITIALIZATION_TYPE'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: '`lambda-managed-instances`: register for SHUTDOWN only, flush on a timer',
    bad: 'anything else: an ordinary (on-demand) environment',
  },
  {
    names: ['AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: '`faas.name` (and the default `service.name`), `faas.version`, `faas.max_memory` (in bytes)',
    bad: 'missing: the names from `register`; memory not a whole number: no `faas.max_memory`',
  },
  {
    names: ['AWS_REGION', 'AWS_DEFAULT_REGION'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: '`cloud.region`, and the SigV4 region when the endpoint names none (`AWS_REGION` first)',
    bad: '',
  },
  {
    names: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: 'the function role\'s credentials, read only to SigV4-sign exports; never logged',
    bad: 'missing when signing: see `LRAP_XRAY_SIGV4`',
  },
  {
    names: ['AWS_LAMBDA_LOG_STREAM_NAME'], group: 'set by Lambda', defaultValue: 'set by Lambda',
    values: 'read by `wrapper-script.sh` in the runtime\'s process (extensions do not get it): `faas.instance`',
    bad: '',
  },
  {
    names: ['AWS_LAMBDA_LOG_FORMAT'], group: 'set by Lambda', defaultValue: '',
    values: 'not read: the function\'s log reaches the extension over the Telemetry API as text or JSON lines, and both are understood',
    bad: '',
  },
  {
    names: ['AWS_LAMBDA_EXEC_WRAPPER'], group: 'set by Lambda', defaultValue: '',
    values: 'you set it to `/opt/wrapper-script.sh`; Lambda reads it, the extension does not',
    bad: '',
  },
];

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogCodeDoc {
  readonly code: string;
  readonly level: string;
  readonly meaning: string;
  readonly action: string;
}

export const LOG_CODES: readonly LogCodeDoc[] = [
  // start-up
  { code: 'LRAP_CONFIG_INVALID', level: 'error', meaning: 'a proxy setting is wrong; init fails with its `Extension.*` type', action: 'the message names the variable and the valid form' },
  { code: 'LRAP_HANDOVER_FAILED', level: 'warn', meaning: 'standalone layers: the Node part could not serve on a socket the launcher opened before it (`extensions/lambda-trace-proxy`): the proxy\'s, or the Telemetry API listener\'s; it closed them and listened itself', action: 'nothing; report it if it repeats' },
  { code: 'LRAP_LISTEN_FAILED', level: 'error', meaning: 'port 9009 (or `LRAP_LISTENER_PORT`) is taken; init fails', action: 'pick another port; the wrapper follows the same variable' },
  { code: 'LRAP_INIT_FAILED', level: 'error', meaning: 'init failed for another reason; reported to Lambda as `Extension.InitFailed`', action: 'please report it' },
  { code: 'LRAP_EXTENSIONS_API_FAILED', level: 'error', meaning: 'the Extensions API refused a call or could not be reached', action: 'nothing: Lambda restarts the environment' },
  { code: 'LRAP_NODE_MISSING', level: 'error', meaning: 'the slim layer found no Node.js to run on', action: 'take a standalone layer, or a runtime with Node ≥ 22.15' },
  { code: 'LRAP_NODE_UNSUPPORTED', level: 'error', meaning: 'the runtime\'s Node.js is too old; init fails with `Extension.UnsupportedNode`', action: 'as above' },
  { code: 'LRAP_REGISTERED', level: 'debug', meaning: 'registered with the Extensions API', action: '' },
  { code: 'LRAP_EXTENSIONS_API_RETRY', level: 'warn', meaning: 'the connection to the Extensions API broke (e.g. after a freeze) during `/register`, `/event/next` or `/init/error`; the extension asked again, up to 6 times within ~0.6 s, and exits only if it stays broken or Lambda answers with an error (a refused second `/register` means the first one\'s answer was lost: the extension exits and Lambda starts a new Init)', action: 'nothing, unless it repeats' },
  // the runtime behind the proxy, or not
  { code: 'LRAP_RUNTIME_BYPASS', level: 'error', meaning: 'once: Lambda sent an invocation the runtime did not get through the proxy, so the runtime is not behind it: no `traceparent` reaches the function, and its invocations are traced from Lambda\'s platform events alone (`lambda_trace_proxy.injected=false`, no response or error read; not at all with `LRAP_TELEMETRY_API=false`); the extension stops holding invocations (no cost to the function) until the runtime shows up through the proxy', action: 'set `AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script.sh`; on `provided.al2023`/`provided.al2`, which ignore it, start your binary from a `bootstrap` that runs `exec /opt/wrapper-script.sh <your binary>` (see [OS-only runtimes](#os-only-runtimes-providedal2023-providedal2-go-rust-c))' },
  { code: 'LRAP_RUNTIME_PROXIED', level: 'info', meaning: 'after a bypass, the runtime now talks through the proxy; invocations are held for and traced through it again', action: '' },
  // settings
  { code: 'LRAP_TRACING_CONFIG_INVALID', level: 'warn', meaning: 'a tracing setting (`OTEL_*` or `LRAP_*`) is not valid; the line names the variable, its value (masked if it may be a secret) and what was used instead', action: 'fix the variable (see Settings)' },
  { code: 'LRAP_LOG_LEVEL_INVALID', level: 'warn', meaning: '`LRAP_LOG_LEVEL` or `OTEL_LOG_LEVEL` is not a level; the next one, else `warn`, is used', action: 'fix the variable' },
  { code: 'LRAP_SETTING_IGNORED', level: 'warn', meaning: 'a standard OpenTelemetry variable this extension does not read is set; it has no effect', action: 'remove it, or see Settings for ours' },
  { code: 'LRAP_TRACING_DISABLED', level: 'warn; info when `OTEL_TRACES_EXPORTER=none` or signing is impossible', meaning: 'tracing is off; the proxy forwards only', action: 'the line, or the one before, says why' },
  { code: 'LRAP_OTEL_DIAGNOSTIC', level: 'as the library said (verbose as debug)', meaning: 'a message of the OpenTelemetry libraries themselves (message only, never their arguments), e.g. links past the 128 a span keeps', action: 'usually the line says' },
  // the Telemetry API and metrics
  { code: 'LRAP_TELEMETRY_CONFIG_INVALID', level: 'warn', meaning: 'a Telemetry API or metrics setting (`LRAP_TELEMETRY_API`, `LRAP_PLATFORM_WAIT_MS`, `OTEL_METRICS_EXPORTER`, `OTEL_EXPORTER_OTLP_METRICS_*`) is not valid; the line names the variable, its value and what was used instead', action: 'fix the variable' },
  { code: 'LRAP_TELEMETRY_SUBSCRIBED', level: 'debug', meaning: 'subscribed to the Telemetry API', action: '' },
  { code: 'LRAP_TELEMETRY_LOOPBACK', level: 'debug', meaning: '`sandbox.localdomain` does not resolve here (a local run): the Telemetry API listener is on 127.0.0.1', action: '' },
  { code: 'LRAP_TELEMETRY_LOOKUP_TIMEOUT', level: 'warn', meaning: '`sandbox.localdomain` did not resolve within 250 ms (a resolver that does not answer): the Telemetry API listener is on 127.0.0.1 so that tracing starts on time; platform telemetry may not arrive', action: 'check the environment\'s DNS settings if it repeats' },
  { code: 'LRAP_TELEMETRY_LISTEN_PARTIAL', level: 'debug', meaning: 'the Telemetry API listener could not listen on one of the addresses `sandbox.localdomain` resolves to; the first one serves', action: '' },
  { code: 'LRAP_TELEMETRY_UNAVAILABLE', level: 'info in the local emulator; warn', meaning: 'the Telemetry API is not there (RIE) or could not be reached; spans go without platform facts, no metrics', action: 'nothing, locally; in Lambda, report it' },
  { code: 'LRAP_TELEMETRY_REFUSED', level: 'warn', meaning: 'Lambda refused the subscription (its `errorType` is logged)', action: 'please report it' },
  { code: 'LRAP_TELEMETRY_SILENT', level: 'warn', meaning: 'three spans waited for a `platform.runtimeDone` that never came; spans stop waiting until one comes', action: 'none needed; says why spans lack platform facts' },
  { code: 'LRAP_TELEMETRY_DROPPED', level: 'warn', meaning: 'Lambda dropped telemetry events for us (`platform.logsDropped`); at most once a minute, `records` counting every event dropped since the previous warning', action: 'a very chatty function log; facts for some invocations are missing' },
  { code: 'LRAP_TELEMETRY_FAILED', level: 'warn, then debug', meaning: 'a bug handling platform events', action: 'please report it' },
  { code: 'LRAP_METRICS_EXPORTED', level: 'debug', meaning: 'metrics exported', action: '' },
  { code: 'LRAP_METRICS_EXPORT_FAILED', level: 'warn, then debug until an export succeeds', meaning: 'the collector refused or could not be reached for metrics', action: 'as for `LRAP_EXPORT_FAILED`; the figures are sent again at the next flush (cumulative)' },
  { code: 'LRAP_METRICS_FLUSH_TIMEOUT', level: 'warn', meaning: 'a metric export took longer than the time left', action: 'as for `LRAP_FLUSH_TIMEOUT`' },
  { code: 'LRAP_METRICS_DISABLED', level: 'warn', meaning: 'the metrics SDK could not start; spans go on', action: 'please report it' },
  // forwarding
  { code: 'LRAP_UPSTREAM_UNREACHABLE', level: 'error', meaning: 'the Runtime API (or the next proxy) did not answer; the runtime got a 502 (`Extension.UpstreamUnreachable`)', action: 'check `LRAP_RUNTIME_API_ENDPOINT`' },
  { code: 'LRAP_BAD_REQUEST', level: 'debug', meaning: 'the runtime sent something that is not HTTP', action: '' },
  { code: 'LRAP_TRACING_HOOK_FAILED', level: 'warn', meaning: 'a bug in tracing; the invocation went on untraced', action: 'please report it' },
  // export
  { code: 'LRAP_EXPORTED', level: 'debug', meaning: 'spans exported', action: '' },
  { code: 'LRAP_EXPORT_RETRYING', level: 'debug', meaning: 'an export failed in a retryable way (429, 502, 503, 504, network, timeout); the spans stay queued and are retried in the background', action: '' },
  { code: 'LRAP_EXPORT_FAILED', level: 'warn, then debug until an export succeeds', meaning: 'the collector refused a batch for good (e.g. 400, 403, 500); those spans are dropped (counted)', action: 'check headers, permissions, the collector\'s logs' },
  { code: 'LRAP_COLLECTOR_UNHEALTHY', level: 'warn', meaning: 'an export failed (refused, unreachable, timed out, or an error status); invocations stop waiting for the collector, spans stay queued and are retried in the background', action: 'check the endpoint, headers, network (VPC)' },
  { code: 'LRAP_COLLECTOR_HEALTHY', level: 'info', meaning: 'an export succeeded again after failures', action: '' },
  { code: 'LRAP_SPANS_DROPPED', level: 'warn', meaning: 'the span queue (`OTEL_BSP_MAX_QUEUE_SIZE`) was full; logged when drops start and when they stop, with counts', action: 'the collector has been down a while, or raise the queue size' },
  { code: 'LRAP_FLUSHED', level: 'debug', meaning: 'an export round at a flush point ended (`outcome`, `ms`)', action: '' },
  { code: 'LRAP_FLUSH_TIMEOUT', level: 'warn', meaning: 'an export outlived the hold budget (or the invocation\'s deadline); the invocation was not held longer, the export goes on', action: 'a slow or far collector: consider a collector layer' },
  { code: 'LRAP_FLUSH_SKIPPED', level: 'warn', meaning: 'no time was left before the deadline to export; spans stay queued', action: 'a function that runs to its timeout' },
  { code: 'LRAP_FLUSH_FAILED', level: 'warn', meaning: 'a background, periodic or metric export failed outright', action: 'see the lines before it' },
  { code: 'LRAP_SHUTDOWN_FLUSH', level: 'info; warn if anything was lost', meaning: 'the final export at SHUTDOWN: exported, rejected, dropped and unsent counts', action: '' },
  // bugs
  { code: 'LRAP_INTERNAL_ERROR', level: 'error', meaning: 'a bug in the extension: a call it was forwarding got a 502 `Extension.InternalError` (or its connection was cut if part of the answer was out), the invocation was released, and the proxy carried on; or an uncaught error elsewhere, after which it keeps serving', action: 'please report it' },
  { code: 'LRAP_FATAL', level: 'error', meaning: 'the extension stopped on an unexpected error', action: 'please report it' },
];

export interface ErrorTypeDoc {
  readonly type: string;
  readonly where: string;
}

/** `Extension.*` error types: what Lambda shows for a failed init, or what a span or the runtime gets. */
export const ERROR_TYPES: readonly ErrorTypeDoc[] = [
  { type: 'Extension.MissingRuntimeApi', where: 'init error: `AWS_LAMBDA_RUNTIME_API` is not set (the extension was not started by Lambda)' },
  { type: 'Extension.InvalidRuntimeApiEndpoint', where: 'init error: `LRAP_RUNTIME_API_ENDPOINT` (or `AWS_LAMBDA_RUNTIME_API`) is not `host:port`' },
  { type: 'Extension.InvalidListenerPort', where: 'init error: `LRAP_LISTENER_PORT` is not a port' },
  { type: 'Extension.InvalidConfiguration', where: 'init error: the listener port is the upstream\'s own' },
  { type: 'Extension.ListenerFailed', where: 'init error: the port is taken (`LRAP_LISTEN_FAILED`)' },
  { type: 'Extension.InitFailed', where: 'init error: anything else (`LRAP_INIT_FAILED`)' },
  { type: 'Extension.UnsupportedNode', where: 'init error: the slim layer\'s Node.js is too old (`LRAP_NODE_UNSUPPORTED`)' },
  { type: 'Extension.Crash', where: 'Lambda\'s own, for an extension that exited before registering (e.g. `LRAP_NODE_MISSING`)' },
  { type: 'Extension.UpstreamUnreachable', where: '`errorType` of the 502 the runtime gets when the Runtime API did not answer' },
  { type: 'Extension.InternalError', where: '`errorType` of the 502 the runtime gets when a bug in the proxy broke that call (`LRAP_INTERNAL_ERROR`)' },
  { type: 'Extension.ProxyFailure', where: '`error.type` of a span whose post the proxy could not deliver' },
];

export interface AttributeDoc {
  readonly key: string;
  readonly on: 'span' | 'init span' | 'restore span' | 'resource' | 'exception event';
  readonly when: string;
  /** Set by the OpenTelemetry SDK, not by src/. */
  readonly bySdk?: boolean;
}

export const ATTRIBUTES: readonly AttributeDoc[] = [
  { key: 'faas.trigger', on: 'span', when: 'always: `http`, `pubsub`, `datasource`, `timer` or `other`' },
  { key: 'faas.invocation.id', on: 'span', when: 'always: the request id' },
  { key: 'faas.coldstart', on: 'span', when: 'always; `true` on the init span too' },
  { key: 'aws.lambda.invoked_arn', on: 'span', when: 'the ARN the function was invoked by (alias included)' },
  { key: 'cloud.resource_id', on: 'span', when: 'that ARN with an alias replaced by the version that ran' },
  { key: 'lambda_trace_proxy.parent_source', on: 'span', when: 'a parent was joined: `event` (its headers or message attributes) or `lambda-trace-header`' },
  { key: 'http.request.method', on: 'span', when: 'API Gateway, function URL, ALB (`_OTHER` for an unknown method)' },
  { key: 'http.request.method_original', on: 'span', when: 'the method, when it is not a known one' },
  { key: 'http.route', on: 'span', when: 'API Gateway: the resource or route (`/pets/{petId}`)' },
  { key: 'url.path', on: 'span', when: 'HTTP triggers' },
  { key: 'url.query', on: 'span', when: 'HTTP triggers, with credential-like parameters `REDACTED`' },
  { key: 'url.scheme', on: 'span', when: 'HTTP triggers, from `X-Forwarded-Proto`' },
  { key: 'server.address', on: 'span', when: 'HTTP triggers, from the host' },
  { key: 'server.port', on: 'span', when: 'HTTP triggers, from the host or `X-Forwarded-Port`' },
  { key: 'client.address', on: 'span', when: 'HTTP triggers: the caller\'s IP' },
  { key: 'user_agent.original', on: 'span', when: 'HTTP triggers' },
  { key: 'network.protocol.version', on: 'span', when: 'API Gateway, function URL, when the event says (`1.1`, `2`)' },
  { key: 'http.response.status_code', on: 'span', when: 'HTTP triggers: the `statusCode` of the function\'s response' },
  { key: 'messaging.system', on: 'span', when: 'SQS (`aws_sqs`), SNS (`aws_sns`), Kinesis (`aws_kinesis`), EventBridge (`aws_eventbridge`), DynamoDB Streams (`aws_dynamodb_streams`: semconv defines no value for it)' },
  { key: 'messaging.operation.type', on: 'span', when: 'with `messaging.system`: `process`' },
  { key: 'messaging.operation.name', on: 'span', when: 'with `messaging.system`: `process`' },
  { key: 'messaging.destination.name', on: 'span', when: 'the queue, topic, stream or table, when all records share it' },
  { key: 'messaging.batch.message_count', on: 'span', when: 'SQS, Kinesis and DynamoDB Streams: the number of records' },
  { key: 'messaging.message.id', on: 'span', when: 'a single record or message (SQS, SNS, Kinesis, DynamoDB Streams, EventBridge)' },
  { key: 'faas.document.collection', on: 'span', when: 'S3 (the bucket), DynamoDB Streams (the table)' },
  { key: 'faas.document.operation', on: 'span', when: 'S3, DynamoDB Streams: `insert`, `edit` or `delete`' },
  { key: 'faas.document.name', on: 'span', when: 'S3, one record: the object key' },
  { key: 'faas.document.time', on: 'span', when: 'S3, one record: the event time' },
  { key: 'cloud.region', on: 'span', when: 'event sources whose records name it (SQS, SNS, Kinesis, S3, DynamoDB, EventBridge); also on the resource' },
  { key: 'error.type', on: 'span', when: 'status ERROR: the exception type; for a 5xx `statusCode`, the code (`"502"`)' },
  { key: 'exception.type', on: 'exception event', when: 'an `/error` post, Lambda\'s 413, a stream that failed midway, a timeout or crash, a proxy failure (not a 5xx `statusCode`: that is only a status)' },
  { key: 'exception.message', on: 'exception event', when: 'as `exception.type`, when there is a message' },
  { key: 'exception.stacktrace', on: 'exception event', when: 'as `exception.type`, when the runtime sent a stack' },
  { key: 'lambda_trace_proxy.added.next_us', on: 'span', when: 'µs the extension added to the event: from its last byte arriving from Lambda to its last byte handed to the runtime' },
  { key: 'lambda_trace_proxy.added.result_us', on: 'span', when: 'µs the extension added to the response or error: from its last byte arriving from the runtime to its last byte handed to Lambda' },
  { key: 'lambda_trace_proxy.added.previous_flush_us', on: 'span', when: 'the µs the environment was held after the previous invocation of the same environment for its export (0 when it was released at once)' },
  { key: 'lambda_trace_proxy.added.previous_flush_invocation_id', on: 'span', when: 'the request id of that previous invocation, the one billed for the hold' },
  { key: 'lambda_trace_proxy.platform.status', on: 'span', when: '`platform.runtimeDone`: `success`, `error`, `failure` or `timeout`, as Lambda saw the invocation' },
  { key: 'lambda_trace_proxy.platform.error_type', on: 'span', when: '`platform.runtimeDone`: Lambda\'s error type (`Runtime.ExitError`, `Runtime.OutOfMemory`, `Sandbox.Timedout`, the function\'s own)' },
  { key: 'lambda_trace_proxy.platform.duration_us', on: 'span', when: '`platform.runtimeDone`: the runtime\'s duration as Lambda measured it, µs' },
  { key: 'lambda_trace_proxy.platform.produced_bytes', on: 'span', when: '`platform.runtimeDone`: size of the response, bytes' },
  { key: 'lambda_trace_proxy.platform.response_latency_us', on: 'span', when: '`platform.runtimeDone` span `responseLatency`: invocation start to the first byte of the response, µs' },
  { key: 'lambda_trace_proxy.platform.response_duration_us', on: 'span', when: '`platform.runtimeDone` span `responseDuration`: first to last byte of the response, µs' },
  { key: 'lambda_trace_proxy.out_of_memory', on: 'span', when: '`true` when the invocation ran out of memory (see Out-of-memory below); `error.type` is then `Runtime.OutOfMemory`' },
  { key: 'lambda_trace_proxy.out_of_memory.evidence', on: 'span', when: 'what said so: `runtime-done`, `posted-error`, `function-log` or `memory-limit`' },
  { key: 'lambda_trace_proxy.injected', on: 'span', when: '`false` on the span of an invocation the proxy never saw (its runtime talked to Lambda directly): from `platform.start` to `platform.runtimeDone`, joined to Lambda\'s trace header like any span, nothing injected, nothing held' },
  { key: 'lambda_trace_proxy.init.type', on: 'init span', when: '`platform.initStart`: `on-demand`, `provisioned-concurrency`, `snap-start`, `lambda-managed-instances`' },
  { key: 'lambda_trace_proxy.init.phase', on: 'init span', when: '`platform.initStart`: `init`, or `invoke` for an Init Lambda re-ran at the first invocation' },
  { key: 'lambda_trace_proxy.init.status', on: 'init span', when: '`platform.initRuntimeDone`: `success`, `error`, `failure`' },
  { key: 'lambda_trace_proxy.init.error_type', on: 'init span', when: '`platform.initRuntimeDone`: why Init failed' },
  { key: 'lambda_trace_proxy.init.duration_us', on: 'init span', when: '`platform.initReport`: Init\'s duration, µs' },
  { key: 'lambda_trace_proxy.restore.status', on: 'restore span', when: '`platform.restoreRuntimeDone` (SnapStart)' },
  { key: 'lambda_trace_proxy.restore.error_type', on: 'restore span', when: '`platform.restoreRuntimeDone`: why the restore failed' },
  { key: 'lambda_trace_proxy.restore.duration_us', on: 'restore span', when: '`platform.restoreReport`: the restore\'s duration, µs' },
  { key: 'service.name', on: 'resource', when: '`OTEL_SERVICE_NAME`, else one in `OTEL_RESOURCE_ATTRIBUTES`, else the function name' },
  { key: 'cloud.provider', on: 'resource', when: '`aws`' },
  { key: 'cloud.platform', on: 'resource', when: '`aws_lambda`' },
  { key: 'cloud.account.id', on: 'resource', when: 'from `register`' },
  { key: 'faas.name', on: 'resource', when: 'the function name' },
  { key: 'faas.version', on: 'resource', when: 'the version that runs' },
  { key: 'faas.instance', on: 'resource', when: 'the log stream, handed over by the wrapper as the runtime starts; absent when the runtime does not run the wrapper' },
  { key: 'faas.max_memory', on: 'resource', when: 'in bytes' },
  { key: 'telemetry.sdk.name', on: 'resource', when: 'the SDK\'s (`opentelemetry`)', bySdk: true },
  { key: 'telemetry.sdk.language', on: 'resource', when: 'the SDK\'s (`nodejs`)', bySdk: true },
  { key: 'telemetry.sdk.version', on: 'resource', when: 'the SDK\'s version', bySdk: true },
];

export interface MetricDoc {
  readonly name: string;
  readonly instrument: string;
  readonly from: string;
}

/** From `platform.report` (src/telemetry/report-metrics.ts). */
export const METRICS: readonly MetricDoc[] = [
  { name: 'faas.invocations', instrument: 'counter, `{invocation}`', from: 'one per report' },
  { name: 'faas.invoke_duration', instrument: 'histogram, `s`', from: '`durationMs`' },
  { name: 'faas.init_duration', instrument: 'histogram, `s`', from: '`initDurationMs` (cold starts)' },
  { name: 'faas.coldstarts', instrument: 'counter, `{coldstart}`', from: 'reports with `initDurationMs`' },
  { name: 'faas.errors', instrument: 'counter, `{error}`, attribute `error.type`', from: 'reports whose status is not `success`; `error.type` = `Runtime.OutOfMemory` for every out-of-memory, else Lambda\'s error type (or the status)' },
  { name: 'faas.timeouts', instrument: 'counter, `{timeout}`', from: 'status `timeout`' },
  { name: 'faas.mem_usage', instrument: 'histogram, `By`', from: '`maxMemoryUsedMB`' },
  { name: 'lambda_trace_proxy.billed_duration', instrument: 'histogram, `s`', from: '`billedDurationMs` (no semantic convention exists for it)' },
];

// ---- Markdown ----------------------------------------------------------------

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function variableNames(doc: VariableDoc): string {
  return doc.names.map((n) => `\`${n}\``).join(', ');
}

const GROUP_TITLES: Readonly<Record<VariableGroup, string>> = {
  proxy: 'The proxy (a bad value fails init)',
  logging: 'Logging',
  tracing: 'Tracing on or off',
  export: 'Where and how spans are exported',
  spans: 'What the spans say',
  queue: 'The queue, and when it is exported',
  telemetry: 'The Telemetry API and metrics',
  'not read': 'Standard variables that are not read',
  'set by Lambda': 'Set by Lambda, read by the extension',
};

export function renderSettings(): string {
  const rows = ['| variable | default | values | a bad value |', '|---|---|---|---|'];
  let group: VariableGroup | undefined;
  for (const doc of VARIABLES) {
    if (doc.group !== group) {
      group = doc.group;
      rows.push(`| **${GROUP_TITLES[group]}** | | | |`);
    }
    rows.push(`| ${variableNames(doc)} | ${cell(doc.defaultValue)} | ${cell(doc.values)} | ${cell(doc.bad)} |`);
  }
  return rows.join('\n');
}

export function renderLogCodes(): string {
  return ['| code | level | meaning | what to do |', '|---|---|---|---|',
    ...LOG_CODES.map((c) => `| \`${c.code}\` | ${cell(c.level)} | ${cell(c.meaning)} | ${cell(c.action)} |`)].join('\n');
}

export function renderErrorTypes(): string {
  return ['| error type | when |', '|---|---|', ...ERROR_TYPES.map((e) => `| \`${e.type}\` | ${cell(e.where)} |`)].join('\n');
}

export function renderAttributes(): string {
  return ['| attribute | on | when |', '|---|---|---|', ...ATTRIBUTES.map((a) => `| \`${a.key}\` | ${a.on} | ${cell(a.when)} |`)].join('\n');
}

export function renderMetrics(): string {
  return ['| metric | instrument, unit | from `platform.report` |', '|---|---|---|', ...METRICS.map((m) => `| \`${m.name}\` | ${cell(m.instrument)} | ${cell(m.from)} |`)].join('\n');
}

export const SECTIONS: Readonly<Record<string, () => string>> = {
  settings: renderSettings,
  metrics: renderMetrics,
  'log-codes': renderLogCodes,
  'error-types': renderErrorTypes,
  attributes: renderAttributes,
};

const BLOCK = /<!-- reference:([a-z-]+) -->\n[\s\S]*?<!-- \/reference:\1 -->/g;

/** The README with every reference block replaced by its current rendering. */
export function withReferenceTables(readme: string): string {
  return readme.replace(BLOCK, (_all, name: string) => {
    const render = SECTIONS[name];
    if (render === undefined) throw new Error(`README has an unknown reference block: ${name}`);
    return `<!-- reference:${name} -->\n${render()}\n<!-- /reference:${name} -->`;
  });
}

/** Which reference blocks the README has, in order. */
export function referenceBlocks(readme: string): string[] {
  return [...readme.matchAll(BLOCK)].map((m) => m[1]!);
}

if (process.argv[1]?.endsWith('reference-tables.ts') && process.argv[2] === '--write') {
  const file = process.argv[3] ?? 'README.md';
  writeFileSync(file, withReferenceTables(readFileSync(file, 'utf8')));
}
