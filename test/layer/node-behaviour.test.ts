// The proxy's memory work leans on how Node allocates, frees and collects: buffers freed by
// detaching them (src/proxy/written-chunks.ts), young-generation collections it asks for, heap
// settings, a listener adopted without the cluster module. That behaviour changes between
// releases: Node 24.22 leaves a socket read that nearly fills its 64 KiB buffer in all of it and
// made Buffer's pool 64 KiB; Node 22 lets its pool be detached, where 24 refuses. The tests run on
// the pinned Node 24 (package.json), but in Lambda the extension runs on the standalone layers'
// Node 22 (the Makefile's pin) or, in the slim layer, on the function's own Node 22 or 24. So the
// unit tests of that code run here again, on the Node the standalone layer ships.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, STANDALONE_NODE_VERSION } from './layer-fixture.ts';

/** `make build` puts the standalone layer's Node (the host's architecture) beside the bundles. */
const LAYER_NODE = path.join(ROOT, 'dist/layer/lambda-trace-proxy/bin/node');

/** The unit tests of what depends on Node's own allocation, collection and listening behaviour. */
const NODE_DEPENDENT_TESTS = [
  'test/unit/written-chunks.test.ts',
  'test/unit/young-generation.test.ts',
  'test/unit/heap-settings.test.ts',
  'test/unit/listen-without-cluster.test.ts',
  'test/unit/stream-body.test.ts',
];

test(`the unit tests of what leans on Node's internals pass on the standalone layer's Node ${STANDALONE_NODE_VERSION}`, () => {
  const version = spawnSync(LAYER_NODE, ['--version'], { encoding: 'utf8' });
  assert.equal(version.error, undefined, `no Node at ${LAYER_NODE}: run make build`);
  assert.equal(version.stdout.trim(), `v${STANDALONE_NODE_VERSION}`);

  // Without the runner's NODE_TEST_CONTEXT, which would make the child report to us in the runner's binary form.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const run = spawnSync(LAYER_NODE, ['--test', '--test-reporter=tap', ...NODE_DEPENDENT_TESTS], {
    cwd: ROOT, env, encoding: 'utf8', timeout: 120_000,
  });
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? NaN);
  const failed = run.stdout.split('\n').filter((line) => /^\s*not ok /.test(line));
  assert.deepEqual(failed, [], `failed on Node ${STANDALONE_NODE_VERSION}:\n${run.stdout.slice(-4000)}${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(count('tests') >= NODE_DEPENDENT_TESTS.length, `too few tests ran:\n${run.stdout.slice(-2000)}`);
  assert.equal(count('pass'), count('tests'));
  assert.equal(count('skipped'), 0);
});
