import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { joinIncomingContext } from '../../src/context/join-context.ts';
import { classifyTrigger } from '../../src/event/triggers.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/events/${name}`, import.meta.url));
const defaults = parseTracingSettings({}).propagators;
const SAMPLED_LAMBDA = 'Root=1-684adf50-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1';
const UNSAMPLED_LAMBDA = 'Root=1-684adf50-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=2222222222222222;Sampled=0';

test('the event\'s traceparent wins over Lambda\'s X-Ray header', () => {
  const joined = joinIncomingContext(classifyTrigger(fixture('apigw-rest.json'), 'f'), SAMPLED_LAMBDA, defaults);
  assert.equal(joined.parentSource, 'event');
  assert.equal(joined.parent?.traceId, '5e1f0b9c2a7d4e38b61c0f9a3d2e7b45');
  assert.equal(joined.parent?.isRemote, true);
});

test('an X-Ray header in the event is joined when there is no traceparent', () => {
  const joined = joinIncomingContext(classifyTrigger(fixture('apigw-rest-xray.json'), 'f'), undefined, defaults);
  assert.equal(joined.parentSource, 'event');
  assert.match(joined.parent?.traceId ?? '', /^[0-9a-f]{32}$/);
});

test('Lambda-Runtime-Trace-Id is a parent only when active tracing sampled it', () => {
  const direct = classifyTrigger(fixture('direct.json'), 'f');
  assert.equal(joinIncomingContext(direct, SAMPLED_LAMBDA, defaults).parent?.spanId, '1111111111111111');
  assert.equal(joinIncomingContext(direct, UNSAMPLED_LAMBDA, defaults).parent, undefined);
  const followAlways = parseTracingSettings({ OTEL_PROPAGATORS: 'tracecontext,xray-lambda' }).propagators;
  assert.equal(joinIncomingContext(direct, UNSAMPLED_LAMBDA, followAlways).parent?.traceFlags, 0);
  assert.equal(joinIncomingContext(direct, SAMPLED_LAMBDA, parseTracingSettings({ OTEL_PROPAGATORS: 'tracecontext' }).propagators).parent, undefined);
});

test('Sampled=? leaves the decision to us: the parent counts as sampled', () => {
  const direct = classifyTrigger(fixture('direct.json'), 'f');
  const joined = joinIncomingContext(direct, 'Root=1-684adf50-cccccccccccccccccccccccc;Parent=3333333333333333;Sampled=?', parseTracingSettings({ OTEL_PROPAGATORS: 'xray-lambda' }).propagators);
  assert.equal(joined.parent?.traceFlags, 1);
});

test('an SQS batch is linked, one link per record, with no parent', () => {
  const joined = joinIncomingContext(classifyTrigger(fixture('sqs.json'), 'f'), undefined, defaults);
  assert.equal(joined.parent, undefined);
  assert.equal(joined.links.length, 2);
  assert.equal(joined.links[0]?.context.traceId, '684adf508e2c4a6b0d1f3e5a7c9b1d3f');
  assert.equal(joined.links[0]?.context.spanId, '4c6e8a0b2d4f6a81');
});

test('OTEL_PROPAGATORS=none joins nothing', () => {
  const none = parseTracingSettings({ OTEL_PROPAGATORS: 'none' }).propagators;
  const joined = joinIncomingContext(classifyTrigger(fixture('apigw-rest.json'), 'f'), SAMPLED_LAMBDA, none);
  assert.equal(joined.parent, undefined);
});
