// Keeping one OTLP protobuf estimator and writer alive (src/export/serializer-shapes.ts) keeps V8
// from throwing away the serializer's optimized code at every full collection. Run in a child
// process under --trace-deopt, both ways: without it V8 reports the serializer's functions
// deoptimized because objects their code embedded were collected; with it, never.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const CHURN = path.join(import.meta.dirname, 'fixtures/serializer-churn.ts');
/** The protobuf writer's functions and the serializer's that call them. */
const SERIALIZER = /<SharedFunctionInfo (write\w*|startLengthDelimited|finishLengthDelimited|_ensureCapacity)>/;

/** Functions compiled on the main thread, so that a busy machine cannot leave them unoptimized at a collection. */
async function weakObjectDeopts(mode: 'keep' | 'drop'): Promise<number> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--expose-gc', '--trace-deopt', '--no-concurrent-recompilation', CHURN, mode], { maxBuffer: 64 * 1024 * 1024 });
  assert.match(stderr, /serialized [1-9]\d* bytes/, 'the churn ran to its end');
  // "reason: weak objects" (Node 22's V8), "reason: embedded weak objects cleared" (Node 24's).
  return stdout.split('\n').filter((line) => /reason: (embedded )?weak objects/.test(line) && SERIALIZER.test(line)).length;
}

test('full collections throw away the serializer\'s optimized code, unless an estimator and a writer are kept', async () => {
  const [dropped, kept] = await Promise.all([weakObjectDeopts('drop'), weakObjectDeopts('keep')]);
  assert.ok(dropped >= 20, `without them kept, V8 threw away the serializer's code ${dropped} times: this test no longer sees what it guards against`);
  assert.equal(kept, 0, `with them kept, V8 still threw away the serializer's code ${kept} times`);
});
