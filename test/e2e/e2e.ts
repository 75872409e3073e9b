// `make e2e`: the built layer (dist/layer) in AWS's Runtime Interface Emulator with four real
// runtime interface clients (Node, Python, Go, Java), exporting through real OpenTelemetry
// Collectors (each collector-config/*.yaml that can run here) into a real Jaeger v2; every
// scenario is checked from the caller's side and through Jaeger's query API. Prints a table
// (scenario × runtime) and the reason for every cell; exit 1 when any cell failed.
//
// Run by test/e2e/e2e.sh inside private mount/net/PID namespaces (the layer on /opt, loopback
// only). Env: E2E_LOGS (where the logs go); E2E_RUNTIMES (optional, e.g. "node,go").
// One RIE instance per runtime × group of scenarios, one invocation at a time (RIE crashes on
// concurrent invokes). Invocations run first; the checks read Jaeger afterwards.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR, REPO_ROOT, TOOLS_BIN } from './tools.ts';
import { JaegerQuery, SPAN_KIND, STATUS_CODE, attr, attrOf, poll, type OtlpSpan } from './jaeger-api.ts';
import { RieInstance, Service, type InvokeResult } from './e2e-processes.ts';
import {
  CONFIG_DIR, OPTIONAL, SAFE_AWS_ENV, collectorConfigFiles, listComponents, stripDecouple, usesComponent,
} from './collector-configs.ts';

const LOGS = process.env.E2E_LOGS ?? '';
if (LOGS === '') throw new Error('E2E_LOGS is not set: run me through test/e2e/e2e.sh');

const RUNTIMES = ['node', 'python', 'go', 'java'] as const;
type Runtime = (typeof RUNTIMES)[number];
const selected = (process.env.E2E_RUNTIMES ?? '').split(',').filter((r) => r !== '');
const runtimes = RUNTIMES.filter((r) => selected.length === 0 || selected.includes(r));

const RUN = randomBytes(3).toString('hex');
const STARTED = new Date(Date.now() - 60_000);
const JAEGER = new JaegerQuery('http://127.0.0.1:16686');
const JAEGER_OTLP_GRPC = '127.0.0.1:4417';
const JAEGER_OTLP_HTTP = 'http://127.0.0.1:4418';
const SPAN_WAIT_MS = 30_000;
/** Lambda's (and RIE's) largest response: 6 MB. */
const MAX_RESPONSE_BYTES = 6_291_556;
const TIMEOUT_SECONDS = 3;
const STREAM = { chunks: 5, pauseMs: 100 };
const ARN = (rt: Runtime) => `arn:aws:lambda:us-east-1:012345678912:function:${fn(rt)}`;
const fn = (rt: Runtime) => `e2e-${rt}`;

/**
 * What each client reports as the error type (README.md, "The functions"), and the HTTP status
 * RIE gives the caller: 200, except after aws-lambda-go's panic report, which the client follows
 * by exiting: RIE then answers 502 with the posted error document (Lambda: 200).
 */
const ERRORS: Record<Runtime, { handled: string; unhandled: string; unhandledStatus: number }> = {
  node: { handled: 'OrderError', unhandled: 'TypeError', unhandledStatus: 200 },
  python: { handled: 'OrderError', unhandled: 'KeyError', unhandledStatus: 200 },
  go: { handled: 'OrderError', unhandled: 'boundsError', unhandledStatus: 502 },
  java: { handled: 'e2e.Handlers$OrderException', unhandled: 'java.lang.ArrayIndexOutOfBoundsException', unhandledStatus: 200 },
};

// ---- collectors ------------------------------------------------------------------------

interface CollectorPlan {
  readonly file: string;
  /** Why it cannot run here; undefined when it runs. */
  readonly skip?: string;
  readonly env?: Record<string, string>;
  readonly args?: string[];
  /** Where its OTLP/HTTP receiver answers, to wait for it. */
  readonly listen?: string;
  /** What the function's environment needs to export to it. */
  readonly functionEnv?: Record<string, string>;
  /** How the run differs from the file as written. */
  readonly note?: string;
  /** A file this driver has no plan for: its row fails until one is added. */
  readonly unplanned?: boolean;
}

const NO_METRICS = '--set=service::telemetry::metrics::level=none';

function collectorPlans(components: Set<string>): CollectorPlan[] {
  return collectorConfigFiles().map((file): CollectorPlan => {
    const yaml = readFileSync(join(CONFIG_DIR, file), 'utf8');
    switch (file) {
      case 'jaeger.yaml':
        return {
          file,
          env: { JAEGER_ENDPOINT: JAEGER_OTLP_GRPC, JAEGER_TLS_INSECURE: 'true', OTLP_GRPC_LISTEN: '127.0.0.1:14317', OTLP_HTTP_LISTEN: '127.0.0.1:14318' },
          args: [NO_METRICS],
          listen: 'http://127.0.0.1:14318/',
          functionEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:14318' },
          note: 'as written; OTLP/gRPC to Jaeger',
        };
      case 'lambda-decouple.yaml': {
        const stripped = usesComponent(yaml, 'decouple') && !components.has('processors/decouple');
        return {
          file,
          env: { OTLP_BACKEND_ENDPOINT: JAEGER_OTLP_HTTP, OTLP_BACKEND_AUTHORIZATION: 'Bearer e2e' },
          listen: 'http://localhost:4318/',
          // Nothing set: the extension's OTLP exporter defaults to http://localhost:4318, where this
          // config listens, as it would inside Lambda.
          functionEnv: {},
          note: stripped ? `without the decouple processor (${OPTIONAL.decouple.why}); OTLP/HTTP to Jaeger; the extension on its default endpoint` : 'as written',
        };
      }
      case 'xray-otlp-sigv4.yaml':
        return {
          file,
          env: { AWS_REGION: 'us-east-1', ...SAFE_AWS_ENV, OTLP_GRPC_LISTEN: '127.0.0.1:24317', OTLP_HTTP_LISTEN: '127.0.0.1:24318' },
          args: [NO_METRICS, `--set=exporters::otlphttp/xray::traces_endpoint=${JAEGER_OTLP_HTTP}/v1/traces`],
          listen: 'http://127.0.0.1:24318/',
          functionEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:24318' },
          note: 'traces_endpoint pointed at Jaeger instead of X-Ray; gzip + protobuf and the sigv4auth authenticator as written, fake static credentials',
        };
      case 'xray.yaml':
        return {
          file,
          skip: components.has('exporters/awsxray')
            ? 'its awsxray exporter sends X-Ray segment documents to AWS\'s PutTraceSegments API: nothing here can receive them'
            : `cannot run here: ${OPTIONAL.awsxray.why}; and its exporter speaks only to AWS X-Ray`,
        };
      default:
        return { file, unplanned: true };
    }
  });
}

// ---- what runs ------------------------------------------------------------------------

type Outcome = { status: 'pass' | 'fail' | 'skip'; detail: string };

interface Invocation {
  readonly id: string;
  readonly event: Buffer;
  result?: InvokeResult;
  error?: string;
  log?: string;
}

interface Group {
  readonly name: string;
  readonly handler: string;
  readonly env: Record<string, string>;
}

interface Scenario {
  readonly name: string;
  /** Why it does not apply to this runtime; undefined when it does. */
  readonly skip?: (rt: Runtime) => string | undefined;
  readonly group: (rt: Runtime) => Group;
  readonly events: (rt: Runtime) => Buffer[];
  /** Resolves to what was seen; throws with the reason when something is wrong. */
  readonly check: (rt: Runtime, invocations: Invocation[]) => Promise<string>;
}

class CheckFailed extends Error {}
function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const APIGW_FIXTURE = readFileSync(join(REPO_ROOT, 'test/fixtures/events/apigw-rest.json'), 'utf8');
const FIXTURE_TRACEPARENT = '00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01';
const FIXTURE_TRACESTATE = 'acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4';
if (!APIGW_FIXTURE.includes(FIXTURE_TRACEPARENT)) throw new Error('apigw-rest.json no longer holds the traceparent e2e.ts replaces');

/** The API Gateway REST fixture with a traceparent of its own (in both header maps), so that each trace is new. */
function apigwEvent(): Buffer {
  const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  return Buffer.from(APIGW_FIXTURE.replaceAll(FIXTURE_TRACEPARENT, traceparent));
}

/** The trace and span id of the traceparent that an API Gateway event carried. */
function eventParent(inv: Invocation): { traceId: string; spanId: string } {
  const { headers } = JSON.parse(inv.event.toString('utf8')) as { headers: { traceparent: string } };
  const [, traceId = '', spanId = ''] = headers.traceparent.split('-');
  return { traceId, spanId };
}

// ---- checks ---------------------------------------------------------------------------

function answered(inv: Invocation | undefined): InvokeResult {
  expect(inv !== undefined, 'no invocation was made');
  expect(inv.result !== undefined, `invoke ${inv.id} failed: ${inv.error ?? 'no answer'}${inv.log ? ` (RIE log: ${inv.log})` : ''}`);
  return inv.result;
}

function callerJson(inv: Invocation, status = 200): Record<string, unknown> {
  const r = answered(inv);
  expect(r.status === status, `caller got HTTP ${r.status}: ${r.body.subarray(0, 300).toString()}`);
  try {
    return JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new CheckFailed(`caller got a body that is not JSON: ${r.body.subarray(0, 300).toString()}`);
  }
}

/** The one span whose faas.invocation.id is `id`, from a search by the function's service name. */
async function spanOf(rt: Runtime, id: string): Promise<OtlpSpan> {
  return poll(`the span with faas.invocation.id=${id} in Jaeger (service ${fn(rt)})`, SPAN_WAIT_MS, async () => {
    const spans = (await JAEGER.search(fn(rt), STARTED)).filter((s) => attr(s, 'faas.invocation.id') === id);
    expect(spans.length <= 1, `${spans.length} spans with faas.invocation.id=${id}: one expected`);
    return spans[0];
  }).catch((e: unknown) => {
    throw new CheckFailed(e instanceof Error ? e.message : String(e));
  });
}

/** What every invocation span carries. */
function expectInvocationSpan(span: OtlpSpan, rt: Runtime, trigger: string, coldstart: boolean): void {
  expect(span.kind === SPAN_KIND.SERVER, `span kind ${span.kind}, expected SERVER (2)`);
  expect(attrOf(span.resource, 'service.name') === fn(rt), `resource service.name=${attrOf(span.resource, 'service.name')}, expected ${fn(rt)}`);
  expect(attrOf(span.resource, 'faas.name') === fn(rt), `resource faas.name=${attrOf(span.resource, 'faas.name')}, expected ${fn(rt)}`);
  expect(attr(span, 'faas.trigger') === trigger, `faas.trigger=${attr(span, 'faas.trigger')}, expected ${trigger}`);
  expect(attr(span, 'faas.coldstart') === coldstart, `faas.coldstart=${attr(span, 'faas.coldstart')}, expected ${coldstart}`);
  expect(attr(span, 'aws.lambda.invoked_arn') === ARN(rt), `aws.lambda.invoked_arn=${attr(span, 'aws.lambda.invoked_arn')}, expected ${ARN(rt)}`);
}

function expectNoError(span: OtlpSpan): void {
  expect(span.status?.code !== STATUS_CODE.ERROR, `span status ERROR (${span.status?.message ?? ''}, error.type=${attr(span, 'error.type')})`);
  expect(attr(span, 'error.type') === undefined, `error.type=${attr(span, 'error.type')} on a span that succeeded`);
}

function expectError(span: OtlpSpan, type: string, message: string | undefined): void {
  expect(span.status?.code === STATUS_CODE.ERROR, `span status ${span.status?.code ?? 'unset'}, expected ERROR`);
  expect(attr(span, 'error.type') === type, `span error.type=${attr(span, 'error.type')}, expected ${type}`);
  const exception = span.events?.find((e) => e.name === 'exception');
  expect(exception !== undefined, 'no exception event on the span');
  expect(attrOf(exception.attributes, 'exception.type') === type, `exception.type=${attrOf(exception.attributes, 'exception.type')}, expected ${type}`);
  if (message !== undefined) {
    expect(attrOf(exception.attributes, 'exception.message') === message, `exception.message=${JSON.stringify(attrOf(exception.attributes, 'exception.message'))}, expected ${JSON.stringify(message)}`);
  }
}

/** A function error: the caller's error document, the client's expected type, and the span. */
async function checkFunctionError(rt: Runtime, inv: Invocation, expectedType: string, status = 200): Promise<string> {
  const doc = callerJson(inv, status);
  expect(doc.errorType === expectedType, `caller got errorType ${JSON.stringify(doc.errorType)}, expected ${expectedType}`);
  const span = await spanOf(rt, inv.id);
  expectInvocationSpan(span, rt, 'other', false);
  expectError(span, expectedType, typeof doc.errorMessage === 'string' ? doc.errorMessage : undefined);
  const stack = span.events?.find((e) => e.name === 'exception')?.attributes?.some((a) => a.key === 'exception.stacktrace');
  return `error.type=${expectedType} (= caller's errorType${status === 200 ? '' : `, HTTP ${status}`}), status ERROR, exception event${stack ? ' with stack' : ''}`;
}

/**
 * An API Gateway event joins the event's traceparent (RIE has no X-Ray header to offer): the span's
 * parent is the event's span, and the traceparent the function saw is the span itself. With
 * `wholeTrace`, the trace from GET /api/v3/traces/{id} must hold exactly that span and, on a cold
 * start, its init span as a child.
 */
async function checkJoinedTrace(rt: Runtime, inv: Invocation, coldstart: boolean, wholeTrace: boolean): Promise<string> {
  const { traceId, spanId } = eventParent(inv);
  const response = callerJson(inv);
  expect(response.statusCode === 200, `function answered statusCode ${String(response.statusCode)}`);
  const seen = JSON.parse(String(response.body)) as { traceparent?: string; tracestate?: string; awsRequestId?: string };
  expect(seen.awsRequestId === inv.id, `function saw request id ${seen.awsRequestId}, expected ${inv.id}`);
  const span = await spanOf(rt, inv.id);
  expectInvocationSpan(span, rt, 'http', coldstart);
  expectNoError(span);
  expect(span.traceId === traceId, `span trace id ${span.traceId}, expected the event's ${traceId}`);
  expect(span.parentSpanId === spanId, `span parent ${span.parentSpanId ?? '(none)'}, expected the event's span ${spanId}`);
  const ours = `00-${span.traceId}-${span.spanId}-01`;
  expect(seen.traceparent === ours, `function saw traceparent ${seen.traceparent}, expected our span's ${ours}`);
  expect(seen.tracestate === FIXTURE_TRACESTATE, `function saw tracestate ${seen.tracestate}, expected the event's ${FIXTURE_TRACESTATE}`);
  for (const [key, want] of [['http.request.method', 'POST'], ['http.route', '/orders/{orderId}'], ['http.response.status_code', 200]] as const) {
    expect(attr(span, key) === want, `${key}=${attr(span, key)}, expected ${want}`);
  }
  let shape = '';
  if (wholeTrace) {
    const expected = coldstart ? 2 : 1;
    const trace = await poll(`${expected} spans in trace ${traceId}`, SPAN_WAIT_MS, async () => {
      const spans = await JAEGER.trace(traceId);
      return spans !== undefined && spans.length >= expected ? spans : undefined;
    }).catch((e: unknown) => {
      throw new CheckFailed(e instanceof Error ? e.message : String(e));
    });
    expect(trace.length === expected, `trace ${traceId} has ${trace.length} spans (${trace.map((s) => s.name).join(', ')}), expected ${expected}`);
    const init = trace.find((s) => s.spanId !== span.spanId);
    if (coldstart) {
      expect(init !== undefined, 'no init span in the trace');
      expect(init.parentSpanId === span.spanId, `init span's parent ${init.parentSpanId}, expected the invocation span ${span.spanId}`);
      expect(init.name === `${fn(rt)} init`, `init span named "${init.name}"`);
      expect(init.kind === SPAN_KIND.INTERNAL, `init span kind ${init.kind}, expected INTERNAL (1)`);
      shape = `; trace = "${span.name}" + child "${init.name}"`;
    }
  }
  return `parent = event's span ${spanId.slice(0, 8)}…, function saw our span ${span.spanId.slice(0, 8)}…, tracestate kept${shape}`;
}

function isAllX(body: Buffer): boolean {
  for (let i = 1; i < body.length - 1; i++) if (body[i] !== 0x78) return false;
  return true;
}

function scenarios(collectors: CollectorPlan[]): Scenario[] {
  const viaJaeger = collectors.find((c) => c.file === 'jaeger.yaml');
  if (viaJaeger?.functionEnv === undefined) throw new Error('collector-config/jaeger.yaml is needed: the scenarios export through it');
  const mainGroup: Group = { name: 'main', handler: 'handler', env: { ...viaJaeger.functionEnv } };
  const main = () => mainGroup;
  const list: Scenario[] = [
    {
      name: 'success',
      group: main,
      events: () => [json({ scenario: 'success' })],
      check: async (rt, [inv]) => {
        const result = callerJson(inv!);
        expect(result.ok === true && result.runtime === rt, `caller got ${JSON.stringify(result)}`);
        expect(result.requestId === inv!.id, `function saw request id ${String(result.requestId)}, expected ${inv!.id}`);
        // Not HTTP-shaped: nothing is injected into a direct invocation's event, by design.
        // (The Java client's serialiser leaves null values out: missing = null.)
        expect(result.traceparent === null || result.traceparent === undefined, `function saw a traceparent (${String(result.traceparent)}) in a direct event`);
        const span = await spanOf(rt, inv!.id);
        expectInvocationSpan(span, rt, 'other', true);
        expectNoError(span);
        return `JSON result; span "${span.name}" SERVER, faas.coldstart=true, no traceparent injected (not HTTP)`;
      },
    },
    {
      name: 'apigw-traceparent',
      group: main,
      events: () => [apigwEvent()],
      check: (rt, [inv]) => checkJoinedTrace(rt, inv!, false, false),
    },
    {
      name: 'handled-error',
      group: main,
      events: () => [json({ scenario: 'handled' })],
      check: (rt, [inv]) => checkFunctionError(rt, inv!, ERRORS[rt].handled),
    },
    {
      name: 'response-6mb',
      group: main,
      events: () => [json({ scenario: 'big', bytes: MAX_RESPONSE_BYTES })],
      check: async (rt, [inv]) => {
        const r = answered(inv);
        expect(r.status === 200, `caller got HTTP ${r.status}: ${r.body.subarray(0, 300).toString()}`);
        expect(r.body.length === MAX_RESPONSE_BYTES, `caller got ${r.body.length} bytes, expected ${MAX_RESPONSE_BYTES}: ${r.body.subarray(0, 200).toString()}`);
        expect(r.body[0] === 0x22 && r.body[r.body.length - 1] === 0x22 && isAllX(r.body), 'the body is not the JSON string the function returned');
        const span = await spanOf(rt, inv!.id);
        expectInvocationSpan(span, rt, 'other', false);
        expectNoError(span);
        return `${MAX_RESPONSE_BYTES} bytes (Lambda's limit) byte for byte; span OK`;
      },
    },
    // Last in its group: the Go client exits after reporting a panic (RIE then re-runs INIT).
    {
      name: 'unhandled-exception',
      group: main,
      events: () => [json({ scenario: 'unhandled' })],
      check: (rt, [inv]) => checkFunctionError(rt, inv!, ERRORS[rt].unhandled, ERRORS[rt].unhandledStatus),
    },
    {
      name: 'response-stream',
      skip: (rt) => rt === 'node' ? undefined : `${rt === 'go' ? 'aws-lambda-go' : rt === 'python' ? 'awslambdaric' : 'the Java client'} has no response streaming (Lambda streams for Node.js and custom runtimes only)`,
      group: () => ({ name: 'stream', handler: 'stream', env: { ...viaJaeger.functionEnv } }),
      events: () => [json({ chunks: STREAM.chunks, pauseMs: STREAM.pauseMs })],
      check: async (rt, [inv]) => {
        const r = answered(inv);
        const want = Array.from({ length: STREAM.chunks }, (_, i) => `chunk ${i + 1}/${STREAM.chunks}\n`).join('');
        expect(r.status === 200 && r.body.toString() === want, `caller got HTTP ${r.status} ${JSON.stringify(r.body.subarray(0, 200).toString())}`);
        const span = await spanOf(rt, inv!.id);
        expectInvocationSpan(span, rt, 'other', true);
        expectNoError(span);
        const ms = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6;
        const streamed = (STREAM.chunks - 1) * STREAM.pauseMs;
        expect(ms >= streamed, `span lasted ${ms.toFixed(0)} ms: it ended before the last chunk (${streamed} ms of pauses)`);
        return `${STREAM.chunks} chunks (RIE buffers them into one body); span covers the stream (${ms.toFixed(0)} ms)`;
      },
    },
    {
      name: 'timeout',
      group: () => ({ name: 'timeout', handler: 'handler', env: { ...viaJaeger.functionEnv, AWS_LAMBDA_FUNCTION_TIMEOUT: String(TIMEOUT_SECONDS) } }),
      events: () => [json({ scenario: 'sleep', ms: 10_000 }), json({ scenario: 'success' })],
      check: async (rt, [slow, after]) => {
        const r = answered(slow);
        const text = r.body.toString();
        expect(r.status === 200 && text === `Task timed out after ${TIMEOUT_SECONDS}.00 seconds`, `caller got HTTP ${r.status} ${JSON.stringify(text.slice(0, 200))}`);
        const span = await spanOf(rt, slow!.id);
        expectError(span, 'timeout', undefined);
        const next = callerJson(after!);
        expect(next.ok === true, `the invocation after the timeout got ${JSON.stringify(next)}`);
        const again = await spanOf(rt, after!.id);
        expectInvocationSpan(again, rt, 'other', true);
        return `timed-out span in Jaeger (error.type=timeout, "${span.status?.message}"); next invoke re-ran INIT (faas.coldstart=true)`;
      },
    },
  ];
  for (const c of collectors) {
    list.push({
      name: `collector ${c.file}`,
      skip: () => c.skip,
      group: () => ({ name: `collector-${c.file.replace(/\.yaml$/, '')}`, handler: 'handler', env: { ...c.functionEnv } }),
      events: () => [apigwEvent()],
      check: async (rt, [inv]) => {
        expect(c.unplanned !== true, `no e2e plan for collector-config/${c.file}: add one to collectorPlans() in test/e2e/e2e.ts`);
        return `${await checkJoinedTrace(rt, inv!, true, true)} [${c.note}]`;
      },
    });
  }
  return list;
}

// ---- running --------------------------------------------------------------------------

function unavailable(rt: Runtime): string | undefined {
  const path = join(LOGS, 'unavailable', rt);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

async function runGroup(rt: Runtime, group: Group, invocations: Invocation[]): Promise<void> {
  const dir = join(LOGS, `${rt}-${group.name}`);
  mkdirSync(dir, { recursive: true });
  const env = { AWS_LAMBDA_FUNCTION_NAME: fn(rt), AWS_LAMBDA_FUNCTION_TIMEOUT: '30', LRAP_LOG_LEVEL: 'info', ...group.env };
  const t0 = Date.now();
  let rie: RieInstance;
  try {
    rie = await RieInstance.start(dir, env, [join(E2E_DIR, 'functions', 'run.sh'), rt, group.handler]);
  } catch (e) {
    for (const inv of invocations) inv.error = `RIE did not start: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  try {
    for (const inv of invocations) {
      try {
        inv.result = await rie.invoke(inv.id, inv.event);
      } catch (e) {
        inv.error = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}` : String(e);
        inv.log = rie.log;
      }
    }
  } finally {
    await rie.stop();
  }
  console.log(`  ${rt.padEnd(6)} ${group.name.padEnd(30)} ${invocations.length} invocation(s), ${((Date.now() - t0) / 1000).toFixed(1)} s (logs: ${dir})`);
}

async function startBackends(components: Set<string>, plans: CollectorPlan[]): Promise<Service[]> {
  const services: Service[] = [];
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: LOGS };
  const jaeger = Service.start('jaeger', join(LOGS, 'jaeger.log'), join(TOOLS_BIN, 'jaeger'), ['--config', join(E2E_DIR, 'jaeger-e2e.yaml')], base);
  services.push(jaeger);
  await jaeger.waitForHttp('http://127.0.0.1:16686/', 60_000);
  await jaeger.waitForHttp(`${JAEGER_OTLP_HTTP}/`, 30_000);
  for (const plan of plans) {
    if (plan.skip !== undefined || plan.listen === undefined) continue;
    let config = join(CONFIG_DIR, plan.file);
    const yaml = readFileSync(config, 'utf8');
    if (usesComponent(yaml, 'decouple') && !components.has('processors/decouple')) {
      config = join(LOGS, plan.file);
      writeFileSync(config, stripDecouple(yaml));
    }
    const name = `otelcol ${plan.file}`;
    const service = Service.start(name, join(LOGS, `otelcol-${plan.file.replace(/\.yaml$/, '')}.log`), join(TOOLS_BIN, 'otelcol'),
      [`--config=file:${config}`, ...(plan.args ?? [])], { ...base, ...plan.env });
    services.push(service);
    await service.waitForHttp(plan.listen, 30_000);
  }
  return services;
}

function printTable(rows: string[], results: Map<string, Outcome>): { passed: number; failed: number; skipped: number } {
  const cell = (o: Outcome | undefined) => o === undefined ? '-' : o.status === 'pass' ? 'PASS' : o.status === 'fail' ? 'FAIL' : 'skip';
  const width = Math.max(...rows.map((r) => r.length), 'scenario'.length) + 2;
  const line = (cols: string[]) => `| ${cols[0]!.padEnd(width - 2)} | ${cols.slice(1).map((c) => c.padEnd(6)).join(' | ')} |`;
  console.log('\n' + line(['scenario', ...runtimes]));
  console.log(`|${'-'.repeat(width)}|${runtimes.map(() => '-'.repeat(8)).join('|')}|`);
  for (const row of rows) console.log(line([row, ...runtimes.map((rt) => cell(results.get(`${rt}|${row}`)))]));
  console.log('\nReasons:');
  let passed = 0, failed = 0, skipped = 0;
  for (const rt of runtimes) {
    for (const row of rows) {
      const o = results.get(`${rt}|${row}`);
      if (o === undefined) continue;
      if (o.status === 'pass') passed++;
      else if (o.status === 'fail') failed++;
      else skipped++;
      console.log(`  ${rt.padEnd(6)} ${row.padEnd(width - 2)} ${cell(o)}  ${o.detail}`);
    }
  }
  return { passed, failed, skipped };
}

async function main(): Promise<number> {
  const components = listComponents(join(TOOLS_BIN, 'otelcol'));
  const collectors = collectorPlans(components);
  const list = scenarios(collectors);
  const results = new Map<string, Outcome>();
  console.log(`e2e: run ${RUN}, runtimes ${runtimes.join(', ')}; logs in ${LOGS}`);
  const services = await startBackends(components, collectors);
  const planned: { rt: Runtime; scenario: Scenario; invocations: Invocation[] }[] = [];
  try {
    for (const rt of runtimes) {
      const missing = unavailable(rt);
      const groups = new Map<string, { group: Group; invocations: Invocation[] }>();
      for (const scenario of list) {
        const skip = scenario.skip?.(rt);
        if (skip !== undefined) {
          results.set(`${rt}|${scenario.name}`, { status: 'skip', detail: skip });
          continue;
        }
        if (missing !== undefined) {
          results.set(`${rt}|${scenario.name}`, { status: 'fail', detail: `the ${rt} function could not be built: ${missing}` });
          continue;
        }
        const group = scenario.group(rt);
        const invocations = scenario.events(rt).map((event, i) => ({ id: `e2e-${RUN}-${rt}-${scenario.name.replace(/[^a-z0-9]+/gi, '-')}-${i + 1}`, event }));
        const entry = groups.get(group.name) ?? { group, invocations: [] };
        entry.invocations.push(...invocations);
        groups.set(group.name, entry);
        planned.push({ rt, scenario, invocations });
      }
      for (const { group, invocations } of groups.values()) await runGroup(rt, group, invocations);
    }
    console.log(`e2e: invocations done; checking through Jaeger's query API`);
    for (const { rt, scenario, invocations } of planned) {
      try {
        results.set(`${rt}|${scenario.name}`, { status: 'pass', detail: await scenario.check(rt, invocations) });
      } catch (e) {
        const why = e instanceof CheckFailed ? e.message : e instanceof Error ? e.stack ?? e.message : String(e);
        const logs = join(LOGS, `${rt}-${scenario.group(rt).name}`);
        results.set(`${rt}|${scenario.name}`, { status: 'fail', detail: `${why} [${invocations.map((i) => i.id).join(', ')}; logs ${logs}]` });
      }
    }
  } finally {
    for (const s of services.reverse()) await s.stop();
  }
  const { passed, failed, skipped } = printTable(list.map((s) => s.name), results);
  console.log(`\ne2e: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main();
