import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { layerParts, packageJsonAbove, stageLayer } from '../bench/staged-layer.ts';

const LAUNCHER_SH = '#!/bin/sh\nif [ -x "$root/bin/node" ]; then\n  exec "$root/bin/node" "$bundle" --extension-name "$name" "$@"\nfi\n';

/** A layer laid out as dist/layer, in a fresh directory (under a package.json when asked). */
function fakeLayer(t: { after(fn: () => void): void }, withPackageJson: boolean): string {
  const root = mkdtempSync(path.join(tmpdir(), 'staged-layer-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  if (withPackageJson) writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
  const layer = path.join(root, 'dist/layer');
  mkdirSync(path.join(layer, 'extensions'), { recursive: true });
  mkdirSync(path.join(layer, 'lambda-trace-proxy/bin'), { recursive: true });
  writeFileSync(path.join(layer, 'extensions/lambda-trace-proxy'), 'launcher', { mode: 0o755 });
  writeFileSync(path.join(layer, 'lambda-trace-proxy/bin/node'), 'node', { mode: 0o755 });
  writeFileSync(path.join(layer, 'lambda-trace-proxy/extension.cjs'), 'bundle');
  writeFileSync(path.join(layer, 'lambda-trace-proxy/launcher.sh'), LAUNCHER_SH, { mode: 0o755 });
  return layer;
}

test('a layer under a package.json is staged where none is above it, its files the same files', (t) => {
  const built = fakeLayer(t, true);
  assert.equal(packageJsonAbove(built), path.join(built, '../../package.json'));
  const staged = stageLayer(built);
  t.after(() => rmSync(staged.dir, { recursive: true, force: true }));
  assert.equal(packageJsonAbove(staged.dir), undefined);
  assert.deepEqual(staged, layerParts(staged.dir));
  const builtNode = statSync(layerParts(built).node);
  const stagedNode = statSync(staged.node);
  assert.equal(stagedNode.ino, builtNode.ino, 'bin/node is a hard link: the same pages in the page cache');
  assert.equal(stagedNode.mode, builtNode.mode);
  assert.equal(readFileSync(staged.bundle, 'utf8'), 'bundle');
  assert.equal(statSync(staged.launcher).mode & 0o777, 0o755);
});

test('staging where a package.json is above the destination is refused', (t) => {
  const built = fakeLayer(t, false);
  const inside = path.join(built, '../staged');
  writeFileSync(path.join(built, '../package.json'), '{}');
  assert.throws(() => stageLayer(built, { at: inside }), /package\.json is above it/);
});

test('a preload goes into the staged launcher.sh only, the built one unchanged', (t) => {
  const built = fakeLayer(t, false);
  const probe = path.join(built, '../probe.cjs');
  writeFileSync(probe, '// probe');
  const staged = stageLayer(built, { at: path.join(built, '../staged'), preload: probe });
  const preloaded = path.join(staged.dir, 'lambda-trace-proxy/probe.cjs');
  assert.equal(readFileSync(preloaded, 'utf8'), '// probe');
  assert.equal(readFileSync(path.join(staged.dir, 'lambda-trace-proxy/launcher.sh'), 'utf8'),
    LAUNCHER_SH.replace('exec "$root/bin/node" "$bundle"', `exec "$root/bin/node" --require="${preloaded}" "$bundle"`));
  assert.equal(readFileSync(path.join(built, 'lambda-trace-proxy/launcher.sh'), 'utf8'), LAUNCHER_SH);
});
