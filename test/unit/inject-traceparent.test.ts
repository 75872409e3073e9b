import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { injectTraceContext } from '../../src/event/inject-traceparent.ts';
import { classifyTrigger, type TriggerInfo } from '../../src/event/triggers.ts';

const OURS = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const OUR_STATE = 'ours=b7ad6b7169203331';

function fixture(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url));
}

function triggerOf(event: Buffer): TriggerInfo {
  return classifyTrigger(event, 'fn');
}

/** An HTTP trigger for events too broken to classify: injection must still refuse them. */
const REST_TRIGGER = triggerOf(fixture('apigw-rest.json'));

function inject(event: Buffer, tracestate?: string): Buffer | undefined {
  return injectTraceContext(event, triggerOf(event), OURS, tracestate);
}

/** Removes `snippet` (which must occur exactly once) from the bytes. */
function cutOut(bytes: Buffer, snippet: string): Buffer {
  const at = bytes.indexOf(snippet);
  assert.ok(at >= 0, `expected ${snippet} in the result`);
  assert.equal(bytes.indexOf(snippet, at + 1), -1, `expected ${snippet} once`);
  return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + Buffer.byteLength(snippet))]);
}

/** Puts `original` back where `written` (which must occur exactly once) is. */
function putBack(bytes: Buffer, written: string, original: string): Buffer {
  const at = bytes.indexOf(written);
  assert.ok(at >= 0, `expected ${written} in the result`);
  assert.equal(bytes.indexOf(written, at + 1), -1, `expected ${written} once`);
  return Buffer.concat([bytes.subarray(0, at), Buffer.from(original), bytes.subarray(at + Buffer.byteLength(written))]);
}

/** The text of a member's value in the original file (the first match of `pattern`'s group). */
function originalText(event: Buffer, pattern: RegExp): string {
  const match = pattern.exec(event.toString('utf8'));
  assert.ok(match?.[1] !== undefined, `pattern ${pattern} not in the fixture`);
  return match[1];
}

function parse(bytes: Buffer | undefined): Record<string, Record<string, unknown> | undefined> {
  assert.ok(bytes !== undefined);
  return JSON.parse(bytes.toString('utf8')) as Record<string, Record<string, unknown> | undefined>;
}

describe('injecting into the sample HTTP events', () => {
  it('replaces the REST traceparent value in both maps and changes nothing else', () => {
    const event = fixture('apigw-rest.json');
    const result = inject(event);
    const parsed = parse(result);
    assert.equal(parsed.headers?.traceparent, OURS);
    assert.deepEqual(parsed.multiValueHeaders?.traceparent, [OURS]);
    assert.equal(parsed.headers?.tracestate, 'acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4');
    assert.ok(result);
    let undone = putBack(result, `"traceparent": "${OURS}"`, `"traceparent": "00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01"`);
    undone = putBack(undone, `["${OURS}"]`, originalText(event, /"traceparent": (\[[^\]]*\])/));
    assert.ok(undone.equals(event));
  });

  it('adds traceparent to both maps of a REST event that has only X-Ray', () => {
    const event = fixture('apigw-rest-xray.json');
    const result = inject(event);
    const parsed = parse(result);
    assert.equal(parsed.headers?.traceparent, OURS);
    assert.deepEqual(parsed.multiValueHeaders?.traceparent, [OURS]);
    assert.ok(result);
    // Appended right after each map's last value, before its closing whitespace.
    assert.ok(result.includes(`"X-Forwarded-Proto": "https","traceparent":"${OURS}"\n  }`));
    assert.ok(cutOut(cutOut(result, `,"traceparent":"${OURS}"`), `,"traceparent":["${OURS}"]`).equals(event));
  });

  it('replaces the HTTP API traceparent and leaves the base64 body as it was', () => {
    const event = fixture('apigw-http.json');
    const result = inject(event);
    const parsed = parse(result);
    assert.equal(parsed.headers?.traceparent, OURS);
    assert.equal(parsed.multiValueHeaders, undefined);
    assert.ok(result);
    assert.ok(putBack(result, OURS, '00-2c8d0e4f6a1b3957c7e9f0a2b4d6e8f1-e5a7c9b1d3f50284-01').equals(event));
  });

  it('adds a fresh traceparent to a function URL event', () => {
    const event = fixture('function-url.json');
    const result = inject(event);
    assert.equal(parse(result).headers?.traceparent, OURS);
    assert.ok(result);
    assert.ok(cutOut(result, `,"traceparent":"${OURS}"`).equals(event));
  });

  it('replaces the value of an ALB TraceParent header and keeps its spelling', () => {
    const event = fixture('alb.json');
    const result = inject(event);
    const headers = parse(result).headers;
    assert.equal(headers?.TraceParent, OURS);
    assert.equal(Object.hasOwn(headers ?? {}, 'traceparent'), false);
    assert.ok(result);
    assert.ok(putBack(result, `"TraceParent": "${OURS}"`, '"TraceParent": "00-7d3f9a1c5e2b4086a8c1e3f5b7d9a0c2-1b3d5f7092a4c6e8-01"').equals(event));
  });

  it('adds a one-element array to an ALB multi-value event and creates no headers map', () => {
    const event = fixture('alb-multivalue.json');
    const result = inject(event);
    const parsed = parse(result);
    assert.deepEqual(parsed.multiValueHeaders?.traceparent, [OURS]);
    assert.equal(parsed.headers, undefined);
    assert.ok(result);
    assert.ok(cutOut(result, `,"traceparent":["${OURS}"]`).equals(event));
  });

  it('writes tracestate too when given: replacing the REST one, adding one to a function URL', () => {
    const rest = parse(inject(fixture('apigw-rest.json'), OUR_STATE));
    assert.equal(rest.headers?.tracestate, OUR_STATE);
    assert.deepEqual(rest.multiValueHeaders?.tracestate, [OUR_STATE]);
    const url = fixture('function-url.json');
    const result = inject(url, OUR_STATE);
    assert.ok(result);
    assert.ok(cutOut(result, `,"traceparent":"${OURS}","tracestate":"${OUR_STATE}"`).equals(url));
  });
});

describe('what injection must not touch', () => {
  it('leaves non-HTTP events alone', () => {
    for (const file of ['sqs.json', 'sns.json', 'eventbridge.json', 'schedule.json', 's3.json', 'dynamodb.json', 'kinesis.json', 'cloudwatch-logs.json', 'direct.json', 'not-json.txt']) {
      assert.equal(inject(fixture(file)), undefined, file);
    }
  });

  it('does not touch a traceparent that is only text inside the body string', () => {
    const rest = JSON.parse(fixture('apigw-rest-xray.json').toString('utf8')) as Record<string, unknown>;
    const body = JSON.stringify({ headers: { traceparent: '00-9b8a7c6d5e4f30211203f4e5d6c7b8a9-0123456789abcdef-01' }, multiValueHeaders: null });
    const event = Buffer.from(JSON.stringify({ ...rest, body }));
    const result = inject(event);
    const parsed = parse(result);
    assert.equal(parsed.body, body as unknown);
    assert.equal(parsed.headers?.traceparent, OURS);
    assert.ok(result);
    assert.ok(cutOut(cutOut(result, `,"traceparent":"${OURS}"`), `,"traceparent":["${OURS}"]`).equals(event));
  });

  it('keeps big integers, odd spacing, escapes, -0 and 1E+2 byte for byte', () => {
    const direct = fixture('direct.json').toString('utf8');
    const url = fixture('function-url.json').toString('utf8');
    const event = Buffer.from(`{ "payload" :${direct},${url.slice(1)}`);
    const result = inject(event);
    assert.ok(result);
    assert.ok(result.includes(direct));
    assert.ok(cutOut(result, `,"traceparent":"${OURS}"`).equals(event));
  });
});

describe('header maps of unusual shape', () => {
  function restEventWith(headersText: string, multiValueHeadersText: string): Buffer {
    const requestContext = JSON.stringify({ httpMethod: 'GET', resourcePath: '/' });
    return Buffer.from(
      `{"resource":"/","httpMethod":"GET","headers":${headersText},"multiValueHeaders":${multiValueHeadersText},"requestContext":${requestContext},"body":null}`,
    );
  }

  it('replaces null header maps by objects holding only our members', () => {
    const event = restEventWith('null', 'null');
    const result = inject(event, OUR_STATE);
    assert.ok(result);
    const parsed = parse(result);
    assert.deepEqual(parsed.headers, { traceparent: OURS, tracestate: OUR_STATE });
    assert.deepEqual(parsed.multiValueHeaders, { traceparent: [OURS], tracestate: [OUR_STATE] });
    const undone = putBack(
      putBack(result, `{"traceparent":"${OURS}","tracestate":"${OUR_STATE}"}`, 'null'),
      `{"traceparent":["${OURS}"],"tracestate":["${OUR_STATE}"]}`,
      'null',
    );
    assert.ok(undone.equals(event));
  });

  it('fills empty maps, keeping their inner spacing', () => {
    const event = restEventWith('{}', '{ }');
    const result = inject(event);
    assert.ok(result);
    assert.ok(result.includes(`"headers":{"traceparent":"${OURS}"}`));
    assert.ok(result.includes(`"multiValueHeaders":{"traceparent":["${OURS}"] }`));
  });

  it('finds keys written with escapes and keeps the key bytes', () => {
    const event = restEventWith('{"Trace\\u0050arent":"00-old","Accept":"*/*"}', '{"trace\\u0070arent":["00-old"]}');
    const result = inject(event);
    assert.ok(result);
    const undone = putBack(putBack(result, `"Trace\\u0050arent":"${OURS}"`, '"Trace\\u0050arent":"00-old"'), `["${OURS}"]`, '["00-old"]');
    assert.ok(undone.equals(event));
  });

  it('replaces every spelling of traceparent in one map', () => {
    const event = restEventWith('{"traceparent":"00-a","TRACEPARENT":"00-b"}', '{}');
    const headers = parse(inject(event)).headers;
    assert.deepEqual(headers, { traceparent: OURS, TRACEPARENT: OURS });
  });

  it('writes into the last headers member when the key is repeated, as JSON parsers keep that one', () => {
    const event = Buffer.from(
      '{"httpMethod":"GET","resource":"/","headers":{"a":"1"},"requestContext":{"httpMethod":"GET"},"headers":{"b":"2"}}',
    );
    const result = injectTraceContext(event, REST_TRIGGER, OURS);
    assert.equal(result?.toString(), `{"httpMethod":"GET","resource":"/","headers":{"a":"1"},"requestContext":{"httpMethod":"GET"},"headers":{"b":"2","traceparent":"${OURS}"}}`);
  });

  it('leaves a header map that is neither an object nor null, and then has nothing to do', () => {
    const event = restEventWith('"not a map"', '[]');
    assert.equal(inject(event), undefined);
  });

  it('creates no header map in an HTTP event that has none', () => {
    const event = Buffer.from('{"httpMethod":"GET","resource":"/","requestContext":{"httpMethod":"GET"}}');
    assert.equal(injectTraceContext(event, REST_TRIGGER, OURS), undefined);
  });
});

describe('large and broken events', () => {
  it('splices a 6 MB event whose headers come after the body', () => {
    const rest = JSON.parse(fixture('apigw-rest.json').toString('utf8')) as Record<string, unknown>;
    const { headers, multiValueHeaders, ...rest1 } = rest;
    const body = JSON.stringify({ note: 'a"b\\c'.repeat(1_200_000) });
    const event = Buffer.from(JSON.stringify({ ...rest1, body, headers, multiValueHeaders }));
    assert.ok(event.length > 6_000_000);
    const result = inject(event);
    assert.ok(result);
    assert.equal(result.length, event.length);
    const undone = putBack(
      putBack(result, `"traceparent":"${OURS}"`, '"traceparent":"00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01"'),
      `"traceparent":["${OURS}"]`,
      '"traceparent":["00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01"]',
    );
    assert.ok(undone.equals(event));
  });

  it('refuses malformed JSON, wherever it is cut, without throwing', () => {
    const event = fixture('apigw-rest.json');
    for (let end = 0; end < event.length - 2; end += 7) {
      assert.equal(injectTraceContext(event.subarray(0, end), REST_TRIGGER, OURS), undefined, `cut at ${end}`);
    }
    for (const broken of ['{"headers":{"a":"1",},"httpMethod":"GET"}', '{"headers":{"a":"1"}} trailing', '{"headers":{"a" "1"}}', '{"headers":{"a":"1\\"}}']) {
      assert.equal(injectTraceContext(Buffer.from(broken), REST_TRIGGER, OURS), undefined, broken);
    }
    assert.equal(injectTraceContext(fixture('not-json.txt'), REST_TRIGGER, OURS), undefined);
  });

  it('refuses to write an invalid traceparent', () => {
    assert.equal(injectTraceContext(fixture('apigw-rest.json'), REST_TRIGGER, 'not-a-traceparent'), undefined);
    assert.equal(injectTraceContext(fixture('apigw-rest.json'), REST_TRIGGER, OURS.toUpperCase()), undefined);
  });
});
