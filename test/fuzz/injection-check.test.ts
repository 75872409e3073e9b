// The fuzz harness's judge must itself be able to say no.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainInjection } from './injection-check.ts';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const b = (s: string) => Buffer.from(s);

test('the same bytes, and our members appended to a map, pass', () => {
  assert.equal(explainInjection(b('{"a":1}'), b('{"a":1}')), undefined);
  assert.equal(explainInjection(b('{"headers":{"a":"b"}}'), b(`{"headers":{"a":"b","traceparent":"${TP}","tracestate":"k=v"}}`)), undefined);
  assert.equal(explainInjection(b('{"headers":{}}'), b(`{"headers":{"traceparent":"${TP}"}}`)), undefined);
  assert.equal(explainInjection(b('{"multiValueHeaders":null}'), b(`{"multiValueHeaders":{"traceparent":["${TP}"]}}`)), undefined);
});

test('an existing trace header whose value was replaced passes, whatever its spelling', () => {
  assert.equal(explainInjection(b('{"headers":{"TraceParent": "00-11111111111111111111111111111111-2222222222222222-01","x":1}}'),
    b(`{"headers":{"TraceParent": "${TP}","x":1}}`)), undefined);
  assert.equal(explainInjection(b('{"headers":{"trace\\u0070arent":[1,{"a":2}]}}'), b(`{"headers":{"trace\\u0070arent":"${TP}"}}`)), undefined);
});

test('any other change fails', () => {
  assert.match(explainInjection(b('{"a":1}'), b('{"a":2}')) ?? '', /changed|unexplained/);
  assert.match(explainInjection(b('{"headers":{"a":"b"}}'), b(`{"headers":{"a":"b","traceparent":"not-a-traceparent"}}`)) ?? '', /not a valid traceparent/);
  assert.match(explainInjection(b('{"headers":{"a":"b"}}'), b(`{"headers":{"a":"b","traceparent":"${TP}"}} `)) ?? '', /unexplained|changed/);
  assert.match(explainInjection(b('{"headers":{"x":"1"}}'), b(`{"headers":{"x":"${TP}"}}`)) ?? '', /value of "x" changed/);
  assert.notEqual(explainInjection(b('{"headers":{"a":"b"}}'), b(`{"headers":{"a":"b","x-other":"${TP}"}}`)), undefined);
});
