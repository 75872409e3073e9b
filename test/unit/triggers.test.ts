import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROOT_CONTEXT, SpanKind, trace, type Attributes } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { classifyTrigger, traceCarrierGetter, type TriggerInfo } from '../../src/event/triggers.ts';
import { indexHeaders } from '../../src/event/http-request.ts';

const FUNCTION_NAME = 'orders-fn';

function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url));
}

function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixtureBytes(name).toString('utf8')) as Record<string, unknown>;
}

function classify(event: Buffer | string | object): TriggerInfo {
  const bytes = Buffer.isBuffer(event) ? event : Buffer.from(typeof event === 'string' ? event : JSON.stringify(event));
  return classifyTrigger(bytes, FUNCTION_NAME);
}

interface Expected {
  readonly source: TriggerInfo['source'];
  readonly spanKind: SpanKind;
  readonly spanName: string;
  readonly attributes: Attributes;
}

const HTTPS_443 = { 'url.scheme': 'https', 'server.port': 443 };

const EXPECTED: Record<string, Expected> = {
  'apigw-rest.json': {
    source: 'api-gateway-rest',
    spanKind: SpanKind.SERVER,
    spanName: 'POST /orders/{orderId}',
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'POST',
      'http.route': '/orders/{orderId}',
      'url.path': '/orders/ord-7f3a9c',
      ...HTTPS_443,
      'server.address': 'k3x9q2m7vb.execute-api.us-east-1.amazonaws.com',
      'client.address': '198.51.100.23',
      'user_agent.original': 'orders-client/3.4.1 (node 20)',
      'network.protocol.version': '1.1',
    },
  },
  'apigw-rest-xray.json': {
    source: 'api-gateway-rest',
    spanKind: SpanKind.SERVER,
    spanName: 'PUT /orders/{orderId}',
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'PUT',
      'http.route': '/orders/{orderId}',
      'url.path': '/orders/ord-91bd04',
      ...HTTPS_443,
      'server.address': 'k3x9q2m7vb.execute-api.us-east-1.amazonaws.com',
      'client.address': '203.0.113.140',
      'user_agent.original': 'aws-sdk-java/2.25.60 Linux/5.10 OpenJDK_64-Bit_Server_VM/21.0.3',
      'network.protocol.version': '1.1',
    },
  },
  'apigw-http.json': {
    source: 'api-gateway-http',
    spanKind: SpanKind.SERVER,
    spanName: 'POST /carts/{cartId}/items',
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'POST',
      'http.route': '/carts/{cartId}/items',
      'url.path': '/carts/c-5521/items',
      'url.query': 'source=web&tag=promo&tag=summer',
      ...HTTPS_443,
      'server.address': 'r2d7c3p0x4.execute-api.us-east-1.amazonaws.com',
      'client.address': '203.0.113.77',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
      'network.protocol.version': '1.1',
    },
  },
  'function-url.json': {
    source: 'function-url',
    spanKind: SpanKind.SERVER,
    // `$default` route: no route template, so the Lambda default (function name).
    spanName: FUNCTION_NAME,
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'POST',
      'url.path': '/webhooks/deploy',
      ...HTTPS_443,
      'server.address': 'n4w7vq2xk9c3hzr8tb6ymf5dps1gje0a.lambda-url.us-east-1.on.aws',
      'client.address': '192.0.2.61',
      'user_agent.original': 'deploy-notifier/1.8.0',
      'network.protocol.version': '1.1',
    },
  },
  'alb.json': {
    source: 'alb',
    spanKind: SpanKind.SERVER,
    spanName: FUNCTION_NAME,
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'GET',
      'url.path': '/checkout/status',
      'url.query': 'orderId=ord-7f3a9c&verbose=true',
      ...HTTPS_443,
      'server.address': 'checkout-alb-1849302215.us-east-1.elb.amazonaws.com',
      'client.address': '198.51.100.202',
      'user_agent.original': 'checkout-web/5.2.0',
    },
  },
  'alb-multivalue.json': {
    source: 'alb',
    spanKind: SpanKind.SERVER,
    spanName: FUNCTION_NAME,
    attributes: {
      'faas.trigger': 'http',
      'http.request.method': 'GET',
      'url.path': '/search',
      // ALB does not decode the query; every value of the multi-value map is there.
      'url.query': 'q=lambda%20tracing&tag=otel&tag=xray',
      ...HTTPS_443,
      'server.address': 'search-alb-772510498.us-east-1.elb.amazonaws.com',
      'client.address': '192.0.2.18',
      'user_agent.original':
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    },
  },
  'sqs.json': {
    source: 'sqs',
    spanKind: SpanKind.CONSUMER,
    spanName: 'ledger-entries process',
    attributes: {
      'faas.trigger': 'pubsub',
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'ledger-entries',
      'messaging.batch.message_count': 2,
      'cloud.region': 'us-east-1',
    },
  },
  'sns.json': {
    source: 'sns',
    spanKind: SpanKind.CONSUMER,
    spanName: 'order-events process',
    attributes: {
      'faas.trigger': 'pubsub',
      'messaging.system': 'aws.sns',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'order-events',
      'messaging.message.id': '4c784a01-88e3-4a80-8cbf-f214ab55512b',
      'cloud.region': 'us-east-1',
    },
  },
  'eventbridge.json': {
    source: 'eventbridge',
    spanKind: SpanKind.CONSUMER,
    spanName: FUNCTION_NAME,
    attributes: {
      'faas.trigger': 'pubsub',
      'messaging.system': 'aws_eventbridge',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': 'a2eceaa0-0b87-4480-bb2f-cffc8287fce9',
      'cloud.region': 'us-east-1',
    },
  },
  'schedule.json': {
    source: 'schedule',
    spanKind: SpanKind.SERVER,
    spanName: FUNCTION_NAME,
    attributes: { 'faas.trigger': 'timer' },
  },
  's3.json': {
    source: 's3',
    spanKind: SpanKind.CONSUMER,
    spanName: FUNCTION_NAME,
    attributes: {
      'faas.trigger': 'datasource',
      'faas.document.collection': 'acme-ingest-reports',
      'faas.document.operation': 'insert',
      'faas.document.name': 'incoming/2025/06/Quarterly Report (Q2) résumé.pdf',
      'faas.document.time': '2025-06-12T14:10:21.338Z',
      'cloud.region': 'us-east-1',
    },
  },
  'dynamodb.json': {
    source: 'dynamodb',
    spanKind: SpanKind.CONSUMER,
    spanName: 'ledger process',
    // INSERT and MODIFY in one batch: no single document operation.
    attributes: {
      'faas.trigger': 'datasource',
      'faas.document.collection': 'ledger',
      'messaging.system': 'aws_dynamodb_streams',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'ledger',
      'messaging.batch.message_count': 2,
      'cloud.region': 'us-east-1',
    },
  },
  'kinesis.json': {
    source: 'kinesis',
    spanKind: SpanKind.CONSUMER,
    spanName: 'clickstream process',
    attributes: {
      'faas.trigger': 'pubsub',
      'messaging.system': 'aws_kinesis',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'clickstream',
      'messaging.batch.message_count': 2,
      'cloud.region': 'us-east-1',
    },
  },
  'cloudwatch-logs.json': {
    source: 'cloudwatch-logs',
    spanKind: SpanKind.CONSUMER,
    spanName: FUNCTION_NAME,
    attributes: { 'faas.trigger': 'pubsub' },
  },
  'direct.json': { source: 'other', spanKind: SpanKind.SERVER, spanName: FUNCTION_NAME, attributes: { 'faas.trigger': 'other' } },
  'not-json.txt': { source: 'other', spanKind: SpanKind.SERVER, spanName: FUNCTION_NAME, attributes: { 'faas.trigger': 'other' } },
};

const HTTP_SOURCES = new Set(['api-gateway-rest', 'api-gateway-http', 'function-url', 'alb']);

describe('classifying the sample events', () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`classifies ${file} as ${expected.source}, named "${expected.spanName}"`, () => {
      const trigger = classify(fixtureBytes(file));
      assert.equal(trigger.source, expected.source);
      assert.equal(trigger.spanKind, expected.spanKind);
      assert.equal(trigger.spanName, expected.spanName);
      assert.deepEqual(trigger.attributes, expected.attributes);
      assert.equal(trigger.faasTrigger, expected.attributes['faas.trigger']);
      assert.equal(trigger.httpShaped, HTTP_SOURCES.has(expected.source));
    });
  }
});

describe('where the incoming trace context is', () => {
  it('reads REST traceparent and tracestate from the multi-value map', () => {
    const trigger = classify(fixtureBytes('apigw-rest.json'));
    assert.deepEqual(trigger.parentCarrier, {
      traceparent: ['00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01'],
      tracestate: ['acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4'],
    });
    assert.deepEqual(trigger.linkCarriers, []);
  });

  it('finds a mixed-case X-Amzn-Trace-Id in a REST event', () => {
    assert.deepEqual(classify(fixtureBytes('apigw-rest-xray.json')).parentCarrier, {
      'x-amzn-trace-id': ['Root=1-684ade5a-9c3e71b20d4f58a6e1b7c203;Parent=6f0d2a9b4e81c735;Sampled=1'],
    });
  });

  it('finds an ALB TraceParent header case-insensitively', () => {
    assert.deepEqual(classify(fixtureBytes('alb.json')).parentCarrier, {
      traceparent: ['00-7d3f9a1c5e2b4086a8c1e3f5b7d9a0c2-1b3d5f7092a4c6e8-01'],
      'x-amzn-trace-id': ['Root=1-684adf0f-2b8e5d1a7c4f903e6a1d2b4c'],
    });
  });

  it('reads an ALB event that has only multi-value headers', () => {
    assert.deepEqual(classify(fixtureBytes('alb-multivalue.json')).parentCarrier, {
      'x-amzn-trace-id': ['Root=1-684adf31-5f0a8c3e1d7b9246a0e4c8d2'],
    });
  });

  it('reads HTTP API headers', () => {
    assert.deepEqual(classify(fixtureBytes('apigw-http.json')).parentCarrier, {
      traceparent: ['00-2c8d0e4f6a1b3957c7e9f0a2b4d6e8f1-e5a7c9b1d3f50284-01'],
      tracestate: ['acme=e5a7c9b1d3f50284'],
    });
  });

  it('gives an empty carrier for a function URL request without trace headers', () => {
    assert.deepEqual(classify(fixtureBytes('function-url.json')).parentCarrier, {});
  });

  it('gives one link carrier per SQS record, from AWSTraceHeader and the traceparent message attribute', () => {
    const trigger = classify(fixtureBytes('sqs.json'));
    assert.equal(trigger.parentCarrier, undefined);
    assert.deepEqual(trigger.linkCarriers, [
      {
        'x-amzn-trace-id': ['Root=1-684adf50-8e2c4a6b0d1f3e5a7c9b1d3f;Parent=4c6e8a0b2d4f6a81;Sampled=1'],
        traceparent: ['00-684adf508e2c4a6b0d1f3e5a7c9b1d3f-4c6e8a0b2d4f6a81-01'],
      },
      { 'x-amzn-trace-id': ['Root=1-684adf3a-b1d3f5a7c9e0f2a4b6c8d0e2;Parent=9a7c5e3b1d0f8e6c;Sampled=0'] },
    ]);
  });

  it('joins an SNS message through its traceparent and tracestate message attributes', () => {
    const trigger = classify(fixtureBytes('sns.json'));
    assert.deepEqual(trigger.parentCarrier, {
      traceparent: ['00-3f8a1c6e9b2d4f07a5c3e1b9d7f0a2c4-8b0d2f4a6c8e1035-01'],
      tracestate: ['acme=8b0d2f4a6c8e1035'],
    });
    assert.deepEqual(trigger.linkCarriers, []);
  });

  it('has no carriers for events that carry no context', () => {
    for (const file of ['eventbridge.json', 'schedule.json', 's3.json', 'dynamodb.json', 'kinesis.json', 'cloudwatch-logs.json', 'direct.json']) {
      const trigger = classify(fixtureBytes(file));
      assert.equal(trigger.parentCarrier, undefined, file);
      assert.deepEqual(trigger.linkCarriers, [], file);
    }
  });

  it('lets the OpenTelemetry W3C and X-Ray propagators read a carrier', () => {
    const rest = classify(fixtureBytes('apigw-rest.json')).parentCarrier ?? {};
    const w3c = trace.getSpanContext(new W3CTraceContextPropagator().extract(ROOT_CONTEXT, rest, traceCarrierGetter));
    assert.equal(w3c?.traceId, '5e1f0b9c2a7d4e38b61c0f9a3d2e7b45');
    assert.equal(w3c?.traceState?.serialize(), 'acme=7b2d4856a3f1c9e0,vendorx=q1w2e3r4');
    const xray = classify(fixtureBytes('apigw-rest-xray.json')).parentCarrier ?? {};
    const joined = trace.getSpanContext(new AWSXRayPropagator().extract(ROOT_CONTEXT, xray, traceCarrierGetter));
    assert.equal(joined?.spanId, '6f0d2a9b4e81c735');
  });
});

describe('HTTP details', () => {
  const httpApi = fixtureJson('apigw-http.json');
  const requestContext = httpApi.requestContext as Record<string, unknown>;

  it('names an unknown method _OTHER, keeps the original, and names the span HTTP {route}', () => {
    const trigger = classify({ ...httpApi, requestContext: { ...requestContext, http: { ...(requestContext.http as object), method: 'PURGE' } } });
    assert.equal(trigger.attributes['http.request.method'], '_OTHER');
    assert.equal(trigger.attributes['http.request.method_original'], 'PURGE');
    assert.equal(trigger.spanName, 'HTTP /carts/{cartId}/items');
  });

  it('uses the function name and sets no route for an HTTP API $default route', () => {
    const trigger = classify({ ...httpApi, routeKey: '$default', requestContext: { ...requestContext, routeKey: '$default' } });
    assert.equal(trigger.spanName, FUNCTION_NAME);
    assert.equal(trigger.attributes['http.route'], undefined);
  });

  it('redacts signature query parameters', () => {
    const trigger = classify({ ...httpApi, rawQueryString: 'a=1&Signature=abc&X-Goog-Signature=def&sig=x&AWSAccessKeyId=AKIA&b=2' });
    assert.equal(trigger.attributes['url.query'], 'a=1&Signature=REDACTED&X-Goog-Signature=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED&b=2');
  });

  it('classifies a REST event whose header maps are null, with an empty carrier', () => {
    const trigger = classify({ ...fixtureJson('apigw-rest.json'), headers: null, multiValueHeaders: null });
    assert.equal(trigger.source, 'api-gateway-rest');
    assert.deepEqual(trigger.parentCarrier, {});
  });

  it('keeps every value of a repeated REST header, so a duplicated traceparent can be refused', () => {
    const rest = fixtureJson('apigw-rest.json');
    const multiValueHeaders = { ...(rest.multiValueHeaders as object), traceparent: ['00-a', '00-b'] };
    assert.deepEqual(classify({ ...rest, multiValueHeaders }).parentCarrier?.traceparent, ['00-a', '00-b']);
  });

  it('indexes headers by lower-case name: multiValueHeaders win for a name they have, headers add the rest', () => {
    const index = indexHeaders(
      { 'Host': 'a.example', 'host': 'b.example', 'X-Only-Single': 'one', 'Accept': 'text/plain', 'Bad': 7 },
      { 'accept': ['application/json', 3, 'text/html'], 'ACCEPT': ['*/*'], 'X-Empty': [], 'X-Not-List': 'x' },
    );
    assert.deepEqual([...index], [
      ['accept', ['application/json', 'text/html', '*/*']],
      ['host', ['a.example', 'b.example']],
      ['x-only-single', ['one']],
    ]);
    assert.deepEqual([...indexHeaders(null, undefined)], []);
  });

  it('takes the last of a repeated header key, as JSON.parse does', () => {
    const event = Buffer.from(JSON.stringify({ ...fixtureJson('apigw-rest.json'), headers: { 'User-Agent': 'first' }, multiValueHeaders: null })
      .replace('"User-Agent":"first"', '"User-Agent":"first","User-Agent":"second"'));
    assert.equal(classifyTrigger(event, FUNCTION_NAME).attributes['user_agent.original'], 'second');
  });

  it('treats a Lambda authorizer request as not HTTP (its answer is a policy)', () => {
    const trigger = classify({ ...fixtureJson('apigw-rest.json'), type: 'REQUEST', methodArn: 'arn:aws:execute-api:us-east-1:123456789012:k3x9q2m7vb/prod/POST/orders' });
    assert.equal(trigger.source, 'other');
    assert.equal(trigger.httpShaped, false);
  });

  it('takes the port from a Host header that has one', () => {
    const alb = fixtureJson('alb.json');
    const trigger = classify({ ...alb, headers: { ...(alb.headers as object), host: 'internal.example:8443' } });
    assert.equal(trigger.attributes['server.address'], 'internal.example');
    assert.equal(trigger.attributes['server.port'], 8443);
  });
});

describe('record batches', () => {
  const sqs = fixtureJson('sqs.json');
  const [first, second] = sqs.Records as Record<string, unknown>[];

  it('names a batch from two queues multiple_sources process, without a destination', () => {
    const other = { ...second, eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:other-queue' };
    const trigger = classify({ Records: [first, other] });
    assert.equal(trigger.spanName, 'multiple_sources process');
    assert.equal(trigger.attributes['messaging.destination.name'], undefined);
  });

  it('sets the message id of a single SQS message', () => {
    const trigger = classify({ Records: [first] });
    assert.equal(trigger.attributes['messaging.message.id'], 'f047246e-b811-4d58-89f2-032dc6e037f0');
    assert.equal(trigger.attributes['messaging.batch.message_count'], 1);
  });

  it('finds trace message attributes whatever their case', () => {
    const record = { ...second, messageAttributes: { TraceParent: { stringValue: '00-x', dataType: 'String' } } };
    assert.deepEqual(classify({ Records: [record] }).linkCarriers, [
      { 'x-amzn-trace-id': ['Root=1-684adf3a-b1d3f5a7c9e0f2a4b6c8d0e2;Parent=9a7c5e3b1d0f8e6c;Sampled=0'], traceparent: ['00-x'] },
    ]);
  });

  it('reads keys written with escapes', () => {
    const escaped = fixtureBytes('sqs.json').toString('utf8').replaceAll('"eventSourceARN"', '"eventSource\\u0041RN"');
    assert.equal(classify(escaped).spanName, 'ledger-entries process');
  });

  it('names Kinesis and DynamoDB batches from two sources multiple_sources process', () => {
    for (const [file, otherArn] of [
      ['kinesis.json', 'arn:aws:kinesis:us-east-1:123456789012:stream/other'],
      ['dynamodb.json', 'arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/2025-06-01T08:30:12.345'],
    ] as const) {
      const [one, two] = fixtureJson(file).Records as Record<string, unknown>[];
      const trigger = classify({ Records: [one, { ...two, eventSourceARN: otherArn }] });
      assert.equal(trigger.spanName, 'multiple_sources process', file);
      assert.equal(trigger.attributes['messaging.destination.name'], undefined, file);
    }
  });

  it('sets the message id of a single DynamoDB stream record', () => {
    const [one] = fixtureJson('dynamodb.json').Records as Record<string, unknown>[];
    const trigger = classify({ Records: [one] });
    assert.equal(trigger.attributes['messaging.message.id'], one?.eventID);
    assert.equal(trigger.attributes['messaging.batch.message_count'], 1);
  });

  it('sets the document operation when every DynamoDB record agrees', () => {
    const dynamodb = fixtureJson('dynamodb.json');
    const records = (dynamodb.Records as Record<string, unknown>[]).map((r) => ({ ...r, eventName: 'REMOVE' }));
    assert.equal(classify({ Records: records }).attributes['faas.document.operation'], 'delete');
  });

  it('sets no collection for S3 records from two buckets', () => {
    const [record] = fixtureJson('s3.json').Records as Record<string, Record<string, unknown>>[];
    assert.ok(record);
    const other = { ...record, s3: { ...record.s3, bucket: { name: 'another-bucket' } } };
    const trigger = classify({ Records: [record, other] });
    assert.equal(trigger.attributes['faas.document.collection'], undefined);
    assert.equal(trigger.attributes['faas.document.name'], undefined);
  });

  it('treats records from an unknown source as other', () => {
    assert.equal(classify({ Records: [{ eventSource: 'aws:ses' }] }).source, 'other');
  });
});

describe('large and broken events', () => {
  it('classifies a 6 MB API Gateway event whose body is one 6 MB string', () => {
    const rest = fixtureJson('apigw-rest.json');
    const { headers, multiValueHeaders, ...rest1 } = rest;
    const body = JSON.stringify({ note: 'a"b\\c'.repeat(1_200_000) });
    const event = Buffer.from(JSON.stringify({ ...rest1, body, headers, multiValueHeaders }));
    assert.ok(event.length > 6_000_000);
    const trigger = classify(event);
    assert.equal(trigger.spanName, 'POST /orders/{orderId}');
    assert.deepEqual(trigger.parentCarrier?.traceparent, ['00-5e1f0b9c2a7d4e38b61c0f9a3d2e7b45-a3f1c9e07b2d4856-01']);
  });

  it('classifies a 6 MB SQS batch and gives a link carrier for every record', () => {
    const [first] = fixtureJson('sqs.json').Records as Record<string, unknown>[];
    const records = Array.from({ length: 8 }, () => ({ ...first, body: JSON.stringify({ pad: 'x"'.repeat(300_000) }) }));
    const event = Buffer.from(JSON.stringify({ Records: records }));
    assert.ok(event.length > 6_000_000);
    const trigger = classify(event);
    assert.equal(trigger.attributes['messaging.batch.message_count'], 8);
    assert.equal(trigger.linkCarriers.length, 8);
  });

  const broken: Record<string, string> = {
    'an empty event': '',
    'a JSON array': '[{"Records":[]}]',
    'a JSON string': '"Records"',
    'a JSON number': '12345678901234567890',
    'null': 'null',
    'truncated JSON': '{"Records":[{"eventSource":"aws:sqs"',
    'trailing garbage': '{"awslogs":{}} x',
    'a trailing comma': '{"awslogs":{},}',
    'an unterminated string': '{"awslogs":"abc}',
    'a bad literal': '{"awslogs":tru}',
    'a bad number': '{"awslogs":01}',
    'deep nesting': `{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
    'unbalanced nesting': `{"x":${'['.repeat(1000)}}`,
    'Records that are not objects': '{"Records":[1,2]}',
    'empty Records': '{"Records":[]}',
  };
  for (const [what, text] of Object.entries(broken)) {
    it(`classifies ${what} as other without throwing`, () => {
      const trigger = classify(text);
      assert.equal(trigger.source, 'other');
      assert.equal(trigger.spanName, FUNCTION_NAME);
    });
  }
});
