// The Init warm-up runs the span and serialization code once, and must leave no
// trace of itself: no global provider, no span anywhere a real export could pick up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { propagation, trace } from '@opentelemetry/api';
import { warmUpSpanSerialization } from '../../src/export/serialization-warm-up.ts';

for (const json of [false, true]) {
  test(`the ${json ? 'JSON' : 'protobuf'} warm-up registers nothing globally`, () => {
    const fields = propagation.fields();
    warmUpSpanSerialization(json);
    // A provider registered globally would bring its propagators along.
    assert.deepEqual(propagation.fields(), fields);
    // Without a global provider the API's no-op one answers: its spans do not record.
    assert.equal(trace.getTracer('check').startSpan('x').isRecording(), false);
  });
}
