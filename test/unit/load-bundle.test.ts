import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadBundleBeside } from '../../src/load-bundle.ts';

/** Two bundles side by side in `opt/layer/` (as /opt/lambda-trace-proxy), under a malformed `opt/package.json`. */
function layerUnderBrokenPackageJson(t: { after(fn: () => void): void }): { main: string; dir: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'load-bundle-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'opt/layer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(root, 'opt/package.json'), '{"name": "another layer\'s, cut short');
  writeFileSync(path.join(dir, 'main.cjs'), '');
  writeFileSync(path.join(dir, 'tracing.cjs'), 'exports.loaded = (exports.loaded ?? 0) + 1; exports.file = __filename;');
  return { main: path.join(dir, 'main.cjs'), dir };
}

/** The module object a bundle gets as `module`. */
function bundleModule(filename: string): NodeJS.Module {
  const mod = new Module(filename) as NodeJS.Module;
  mod.filename = filename;
  return mod;
}

test('a bundle beside this one loads, once, whatever package.json lies above the layer', (t) => {
  const { main, dir } = layerUnderBrokenPackageJson(t);
  // What require() did: Node parses the nearest package.json above the requiring file, and throws.
  assert.throws(() => createRequire(main)('./tracing.cjs'), { code: 'ERR_INVALID_PACKAGE_CONFIG' });
  const first = loadBundleBeside(bundleModule(main), './tracing.cjs');
  assert.deepEqual({ ...first as object }, { loaded: 1, file: path.join(dir, 'tracing.cjs') });
  assert.equal(loadBundleBeside(bundleModule(main), './tracing.cjs'), first, 'the module cache serves the second load');
});

test('without Module._load, a bundle beside is loaded by require()', (t) => {
  const { main, dir } = layerUnderBrokenPackageJson(t);
  rmSync(path.join(dir, '../package.json'));
  const required: string[] = [];
  const from = { filename: main, constructor: Object, require: (id: string) => { required.push(id); return { via: 'require' }; } };
  assert.deepEqual(loadBundleBeside(from as unknown as NodeJS.Module, './tracing.cjs'), { via: 'require' });
  assert.deepEqual(required, [path.join(dir, 'tracing.cjs')]);
});
