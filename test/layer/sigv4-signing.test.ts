// Direct export to X-Ray's OTLP endpoint: requests signed with SigV4 (service
// `xray`) with the function's own credentials. The signer is checked against
// AWS's published SigV4 test suite, then the built extension's real requests
// are checked by recomputing their signature independently, and the spans
// keep X-Ray-compatible trace ids.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import aws4 from 'aws4';
import { signRequest } from '../../src/export/sigv4-signing.ts';
import { xrayEndpointRegion } from '../../src/settings/sigv4-settings.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';
import { next, raw, respond, startWithProxy, type ProxiedSandbox } from '../integration/harness.ts';
import { OtlpReceiver, type ReceivedRequest, type ReceivedSpan } from '../support/otlp-receiver.ts';

// aws-sig-v4-test-suite (AWS General Reference, "Signature Version 4 test
// suite"): every case signs for us-east-1/service with these credentials at
// 20150830T123600Z; `authorization` is the suite's expected header. Not here:
// the cases whose request line holds raw UTF-8 or dot segments (get-utf8,
// get-slash-*), which a URL never sends; the wire path is what gets signed.
const SUITE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_SCOPE = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';
const STS_TOKEN = 'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

interface SuiteCase {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly sessionToken?: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

const SUITE: readonly SuiteCase[] = [
  { name: 'get-vanilla', method: 'GET', url: 'https://example.amazonaws.com/', signedHeaders: 'host;x-amz-date',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31' },
  { name: 'get-vanilla-query-order-key-case', method: 'GET', url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1', signedHeaders: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500' },
  { name: 'get-unreserved', method: 'GET', url: 'https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', signedHeaders: 'host;x-amz-date',
    signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f' },
  { name: 'get-vanilla-query-unreserved', method: 'GET',
    url: 'https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date', signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197' },
  { name: 'get-header-value-trim', method: 'GET', url: 'https://example.amazonaws.com/', headers: { 'my-header1': 'value1', 'my-header2': '"a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date', signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736' },
  { name: 'post-header-value-case', method: 'POST', url: 'https://example.amazonaws.com/', headers: { 'my-header1': 'VALUE1' },
    signedHeaders: 'host;my-header1;x-amz-date', signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d' },
  { name: 'post-vanilla-query', method: 'POST', url: 'https://example.amazonaws.com/?Param1=value1', signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11' },
  { name: 'post-vanilla', method: 'POST', url: 'https://example.amazonaws.com/', signedHeaders: 'host;x-amz-date',
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b' },
  { name: 'post-x-www-form-urlencoded', method: 'POST', url: 'https://example.amazonaws.com/', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date', signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a' },
  { name: 'post-sts-header-before', method: 'POST', url: 'https://example.amazonaws.com/', sessionToken: STS_TOKEN,
    signedHeaders: 'host;x-amz-date;x-amz-security-token', signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead' },
];

describe('SigV4 signing matches AWS\'s test suite', () => {
  for (const c of SUITE) {
    test(c.name, () => {
      const credentials = c.sessionToken ? { ...SUITE_CREDENTIALS, sessionToken: c.sessionToken } : SUITE_CREDENTIALS;
      const headers = signRequest({
        method: c.method,
        url: new URL(c.url),
        headers: { ...c.headers, 'x-amz-date': '20150830T123600Z' },
        ...(c.body === undefined ? {} : { body: Buffer.from(c.body) }),
      }, 'us-east-1', 'service', credentials);
      assert.equal(headers.authorization, `${SUITE_SCOPE}, SignedHeaders=${c.signedHeaders}, Signature=${c.signature}`);
      if (c.sessionToken) assert.equal(headers['x-amz-security-token'], c.sessionToken);
    });
  }
});

describe('when exports are signed', () => {
  const creds = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_REGION: 'eu-west-1' };
  /** What the settings decide about signing: the SigV4 settings, or undefined when unsigned or when tracing cannot run. */
  const parseSigV4Settings = (env: Record<string, string>) => {
    const { exporter } = parseTracingSettings(env);
    return exporter.kind === 'none' ? undefined : exporter.signing;
  };
  const tracingOff = (env: Record<string, string>) => parseTracingSettings(env).exporter.kind === 'none';
  const problemsOf = (env: Record<string, string>) => parseTracingSettings(env).problems;

  test('X-Ray\'s own endpoints are recognised, with the region they name', () => {
    assert.equal(xrayEndpointRegion('https://xray.us-west-2.amazonaws.com'), 'us-west-2');
    assert.equal(xrayEndpointRegion('https://xray.us-west-2.amazonaws.com/v1/traces'), 'us-west-2');
    assert.equal(xrayEndpointRegion('https://xray-fips.us-gov-west-1.amazonaws.com'), 'us-gov-west-1');
    assert.equal(xrayEndpointRegion('https://xray.cn-north-1.amazonaws.com.cn/v1/traces'), 'cn-north-1');
    assert.equal(xrayEndpointRegion('https://vpce-0abc-1de2.xray.ap-southeast-2.vpce.amazonaws.com'), 'ap-southeast-2');
    assert.equal(xrayEndpointRegion('http://xray.us-west-2.amazonaws.com'), undefined, 'plain HTTP is never X-Ray\'s');
    assert.equal(xrayEndpointRegion('https://xray.us-west-2.amazonaws.com.evil.example'), undefined);
    assert.equal(xrayEndpointRegion('https://collector.example:4318'), undefined);
    assert.equal(xrayEndpointRegion('not a url'), undefined);
  });

  test('an X-Ray endpoint is signed for its own region with the function\'s credentials', () => {
    assert.deepEqual(parseSigV4Settings({ ...creds, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://xray.us-east-2.amazonaws.com' }), {
      service: 'xray', region: 'us-east-2', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    assert.equal(parseSigV4Settings({ ...creds, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://xray.us-east-2.amazonaws.com/v1/traces' })?.region, 'us-east-2');
  });

  test('other endpoints are not signed unless LRAP_XRAY_SIGV4=true, which signs for the function\'s region', () => {
    assert.equal(parseSigV4Settings({ ...creds, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), undefined);
    assert.equal(parseSigV4Settings(creds), undefined);
    assert.equal(parseSigV4Settings({ ...creds, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', LRAP_XRAY_SIGV4: 'true' })?.region, 'eu-west-1');
  });

  test('LRAP_XRAY_SIGV4=false leaves even X-Ray\'s endpoint unsigned (for an X-Ray API key)', () => {
    assert.equal(parseSigV4Settings({ ...creds, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://xray.us-east-2.amazonaws.com', LRAP_XRAY_SIGV4: 'false' }), undefined);
  });

  test('missing credentials or a missing region turn tracing off with a warning naming the variable; a bad switch falls back to the default', () => {
    const xray = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://xray.us-east-2.amazonaws.com' };
    assert.ok(tracingOff({ ...xray, AWS_REGION: 'us-east-2' }));
    assert.deepEqual(problemsOf({ ...xray, AWS_REGION: 'us-east-2' }).map((p) => [p.code, p.variable]), [['LRAP_TRACING_CONFIG_INVALID', 'AWS_ACCESS_KEY_ID']]);
    assert.ok(tracingOff({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', LRAP_XRAY_SIGV4: 'true' }));
    assert.deepEqual(problemsOf({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', LRAP_XRAY_SIGV4: 'true' }).map((p) => p.variable), ['AWS_REGION']);
    assert.equal(parseSigV4Settings({ ...creds, LRAP_XRAY_SIGV4: 'yes' }), undefined, 'not X-Ray\'s endpoint: the default is unsigned');
    assert.equal(tracingOff({ ...creds, LRAP_XRAY_SIGV4: 'yes' }), false);
    assert.deepEqual(problemsOf({ ...creds, LRAP_XRAY_SIGV4: 'yes' }).map((p) => p.variable), ['LRAP_XRAY_SIGV4']);
  });
});

/** The sandbox's fake role credentials (test/sandbox/environment.ts): what the extension signs with. */
const SANDBOX_CREDENTIALS = { accessKeyId: 'ASIASANDBOXEXAMPLE00', secretAccessKey: 'sandbox/secret/access/key/EXAMPLEKEY00', sessionToken: 'sandbox-session-token' };

/** One invocation; resolves once the extension asks for its next event, so its flush is over. */
async function invokeOnce(env: ProxiedSandbox): Promise<string> {
  const invoked = env.sandbox.invoke('{"order":42}');
  const got = await next(env.proxy);
  const id = raw(got.rawHeaders, 'lambda-runtime-aws-request-id')!;
  await respond(env.proxy, id, Buffer.from('{"ok":true}'));
  const { endedAt } = await invoked;
  await env.sandbox.waitForRequest((r) => r.url.endsWith('/extension/event/next') && r.at >= endedAt, { timeoutMs: 10_000 });
  return id;
}

/** What a verifier does: rebuild the signed request from the bytes received and sign it again. */
function expectedAuthorization(request: ReceivedRequest, body: Buffer): string {
  const authorization = String(request.headers.authorization);
  const match = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/.exec(authorization);
  assert.ok(match, `well-formed Authorization: ${authorization}`);
  const [, region, service, signedHeaders] = match;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) headers[name] = String(request.headers[name]);
  // Exactly the headers the Authorization header lists, at the time x-amz-date says: nothing added.
  const signer = new aws4.RequestSigner({ method: request.method, host: headers.host, path: request.url, headers, body, service: service!, region: region!, doNotModifyHeaders: true }, SANDBOX_CREDENTIALS);
  signer.datetime = headers['x-amz-date'];
  return signer.authHeader();
}

/** X-Ray takes trace ids whose first 8 hex digits are the epoch seconds of the trace's start. */
function assertXrayTraceId(span: ReceivedSpan, from: number, to: number): void {
  assert.match(span.traceId, /^[0-9a-f]{32}$/);
  const seconds = parseInt(span.traceId.slice(0, 8), 16);
  assert.ok(seconds >= Math.floor(from / 1000) && seconds <= Math.ceil(to / 1000), `trace id ${span.traceId} starts with the epoch seconds (${seconds}) of the invocation`);
}

for (const [protocol, compression] of [['http/protobuf', 'none'], ['http/json', 'gzip']] as const) {
  test(`the extension signs each ${protocol} export (${compression}) over the bytes it sends, for xray in the function's region`, async () => {
    const receiver = await OtlpReceiver.start();
    const from = Date.now();
    const env = await startWithProxy({
      region: 'eu-central-1',
      env: {
        OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_XRAY_SIGV4: 'true',
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_COMPRESSION: compression,
      },
    });
    try {
      const id = await invokeOnce(env);
      const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
      const to = Date.now();
      const request = receiver.requests.find((r) => r.spans.includes(span))!;
      assert.equal(request.url, '/v1/traces');
      assert.match(String(request.headers.authorization), /Credential=ASIASANDBOXEXAMPLE00\/\d{8}\/eu-central-1\/xray\/aws4_request, /);
      assert.match(String(request.headers.authorization), /SignedHeaders=[a-z0-9;-]*content-type;[a-z0-9;-]*host;x-amz-date;x-amz-security-token,/);
      assert.equal(request.headers['x-amz-security-token'], SANDBOX_CREDENTIALS.sessionToken);
      assert.equal(request.headers['content-encoding'], compression === 'gzip' ? 'gzip' : undefined);
      assert.equal(request.headers.authorization, expectedAuthorization(request, request.body));
      const tampered = Buffer.from(request.body);
      tampered[tampered.length - 1]! ^= 1;
      assert.notEqual(request.headers.authorization, expectedAuthorization(request, tampered), 'the payload is covered by the signature');
      assertXrayTraceId(span, from, to);
      assert.doesNotMatch(env.sandbox.output('lambda-trace-proxy').stderr, /sandbox\/secret|sandbox-session-token/, 'credentials never reach the logs');
    } finally {
      await env.sandbox.shutdown();
      await receiver.close();
    }
  });
}

test('exports to another collector are not signed, and their trace ids are X-Ray-compatible too', async () => {
  const receiver = await OtlpReceiver.start();
  const from = Date.now();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
  try {
    const id = await invokeOnce(env);
    const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
    const request = receiver.requests.find((r) => r.spans.includes(span))!;
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers['x-amz-date'], undefined);
    assertXrayTraceId(span, from, Date.now());
  } finally {
    await env.sandbox.shutdown();
    await receiver.close();
  }
});

test('a signed export answered 503 is signed anew and sent again; a 403 is not retried', async () => {
  const receiver = await OtlpReceiver.start();
  const env = await startWithProxy({ env: { OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, LRAP_XRAY_SIGV4: 'true' } });
  try {
    receiver.respondWith({ kind: 'status', status: 503, headers: { 'retry-after': '0' } }, { times: 1 });
    const id = await invokeOnce(env);
    await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === id, { timeoutMs: 10_000 });
    const [refused, accepted] = receiver.requests;
    assert.equal(receiver.requests.length, 2);
    for (const r of [refused!, accepted!]) assert.equal(r.headers.authorization, expectedAuthorization(r, r.body));

    receiver.respondWith({ kind: 'status', status: 403, body: '{"message":"not authorized to perform xray:PutTraceSegments"}' }, { times: 1 });
    await invokeOnce(env);
    assert.equal(receiver.requests.length, 3, 'a 403 is final');
    assert.match(env.sandbox.output('lambda-trace-proxy').stderr, /LRAP_EXPORT_FAILED/);
  } finally {
    await env.sandbox.shutdown();
    await receiver.close();
  }
});
