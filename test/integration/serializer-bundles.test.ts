// src/export/serializer-shapes.ts keeps instances of the OTLP protobuf writer classes alive so that
// V8 keeps the serializer's optimized code; that works only if the kept classes are the ones the
// serializer uses: in each bundle that serializes, one copy of each, the ES module file the keeper
// imports (esbuild's metafiles list every file a bundle holds).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './harness.ts';

const PROTOBUF_DIR = 'node_modules/@opentelemetry/otlp-transformer/dist/common/protobuf/';

for (const bundle of ['tracing.cjs', 'metrics.cjs']) {
  test(`${bundle} holds one copy of each protobuf writer class, the one serializer-shapes.ts keeps`, () => {
    const inputs = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'dist/meta', `${bundle}.json`), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    const writers = inputs.filter((input) => /\/protobuf-(writer|size-estimator)\.[cm]?js$/.test(input)).sort();
    assert.deepEqual(writers, [`${PROTOBUF_DIR}protobuf-size-estimator.mjs`, `${PROTOBUF_DIR}protobuf-writer.mjs`]);
    assert.ok(inputs.includes('src/export/serializer-shapes.ts'), `${bundle} does not keep them`);
  });
}
