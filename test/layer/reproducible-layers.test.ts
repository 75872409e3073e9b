// `make layer`: three zips with the files Lambda needs and nothing else,
// within Lambda's size limits, and reproducible: a second build from the same
// inputs, in another directory, gives the same bytes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLayers, ZIPS, type Flavour } from './layer-fixture.ts';

const FLAVOURS: readonly Flavour[] = ['x86_64', 'arm64', 'node'];
// Lambda: 50 MB zipped for a direct upload; 250 MB unzipped, function and layers together.
const MAX_ZIPPED = 50 * 1024 * 1024;
const MAX_UNZIPPED = 250 * 1024 * 1024;

interface Entry { readonly name: string; readonly mode: string; readonly size: number; readonly date: string }

/** `unzip -Zl`: one line per entry, in archive order. */
function entries(zip: string): Entry[] {
  return execFileSync('unzip', ['-Zl', zip], { encoding: 'utf8' }).split('\n')
    .map((line) => /^([-dlrwx]{10})\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+ \S+)\s+(.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ mode: m[1]!, size: Number(m[2]), date: m[3]!, name: m[4]! }));
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let second: string;
before(() => {
  buildLayers();
  second = mkdtempSync(path.join(os.tmpdir(), 'ltp-layer-rebuild-'));
  // Everything again, from the cached npm tarballs: extract, strip, stage, zip.
  buildLayers([`LAYER_OUT=${second}`]);
});
after(() => rmSync(second, { recursive: true, force: true }));

for (const flavour of FLAVOURS) {
  test(`${flavour}: a second build gives the same bytes`, () => {
    const again = path.join(second, path.basename(ZIPS[flavour]));
    assert.equal(sha256(again), sha256(ZIPS[flavour]));
  });

  test(`${flavour}: holds the launcher, the wrapper, the bundles with their licences (and Node with its licence, and launcher.sh behind the Go launcher), sorted, with fixed times and modes`, () => {
    const list = entries(ZIPS[flavour]);
    const names = list.map((e) => e.name);
    const standalone = flavour !== 'node';
    const expected = ['extensions/', 'extensions/lambda-trace-proxy', 'lambda-trace-proxy/', 'lambda-trace-proxy/THIRD-PARTY-NOTICES',
      ...(standalone ? ['lambda-trace-proxy/bin/', 'lambda-trace-proxy/bin/LICENSE', 'lambda-trace-proxy/bin/node'] : []),
      'lambda-trace-proxy/extension.cjs', ...(standalone ? ['lambda-trace-proxy/launcher.sh'] : []),
      'lambda-trace-proxy/metrics.cjs', 'lambda-trace-proxy/tracing.cjs', 'wrapper-script.sh'];
    assert.deepEqual(names, expected);
    assert.deepEqual([...names].sort(), names, 'bytewise sorted');
    for (const e of list) {
      assert.equal(e.date, '80-Jan-01 00:00', `${e.name}: fixed time`);
      const executable = e.name.endsWith('/') || ['extensions/lambda-trace-proxy', 'wrapper-script.sh', 'lambda-trace-proxy/bin/node', 'lambda-trace-proxy/launcher.sh'].includes(e.name);
      assert.equal(e.mode, e.name.endsWith('/') ? 'drwxr-xr-x' : executable ? '-rwxr-xr-x' : '-rw-r--r--', e.name);
    }
  });

  test(`${flavour}: within Lambda's layer size limits`, () => {
    const zipped = statSync(ZIPS[flavour]).size;
    const unzipped = entries(ZIPS[flavour]).reduce((sum, e) => sum + e.size, 0);
    assert.ok(zipped < MAX_ZIPPED, `${zipped} bytes zipped`);
    assert.ok(unzipped < MAX_UNZIPPED, `${unzipped} bytes unzipped`);
    if (flavour === 'node') assert.ok(unzipped < 1024 * 1024, `the slim layer is under a megabyte (${unzipped} bytes)`);
  });
}

for (const [flavour, machine] of [['x86_64', 'Advanced Micro Devices X86-64'], ['arm64', 'AArch64']] as const) {
  test(`${flavour}: its Node is the pinned Node build for ${flavour}, without symbol tables or debug info`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-node-'));
    try {
      execFileSync('unzip', ['-q', ZIPS[flavour], 'lambda-trace-proxy/bin/node', '-d', dir]);
      const node = path.join(dir, 'lambda-trace-proxy/bin/node');
      const header = execFileSync('llvm-readelf', ['--file-header', '--sections', node], { encoding: 'utf8' });
      assert.match(header, new RegExp(`Machine:\\s+${machine}`));
      assert.doesNotMatch(header, /\.symtab|\.debug_info|\.debug_line/);
      assert.match(header, /\.dynsym/, 'dynamic symbols stay: native addons link against them');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const [flavour, machine] of [['x86_64', 'Advanced Micro Devices X86-64'], ['arm64', 'AArch64']] as const) {
  test(`${flavour}: extensions/lambda-trace-proxy is the Go launcher for ${flavour}: a static executable (no interpreter, no shared libraries), stripped`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-launcher-'));
    try {
      execFileSync('unzip', ['-q', ZIPS[flavour], 'extensions/lambda-trace-proxy', '-d', dir]);
      const launcher = path.join(dir, 'extensions/lambda-trace-proxy');
      const elf = execFileSync('llvm-readelf', ['--file-header', '--program-headers', '--sections', '--dynamic', launcher], { encoding: 'utf8' });
      assert.match(elf, new RegExp(`Machine:\\s+${machine}`));
      assert.match(elf, /Type:\s+EXEC/);
      assert.doesNotMatch(elf, /INTERP|\.interp|\.dynamic|NEEDED/, 'runs without a dynamic loader: the same binary on Amazon Linux 2 and 2023');
      assert.doesNotMatch(elf, /\.symtab|\.debug_info|\.debug_line/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the notices name every npm package bundled, with its licence text', () => {
  const notices = execFileSync('unzip', ['-p', ZIPS.node, 'lambda-trace-proxy/THIRD-PARTY-NOTICES'], { encoding: 'utf8' });
  for (const pkg of ['@opentelemetry/sdk-trace@', '@opentelemetry/otlp-exporter-base@', 'aws4@']) assert.ok(notices.includes(pkg), pkg);
  assert.match(notices, /Apache License\s+Version 2\.0/);
  assert.match(notices, /Permission is hereby granted, free of charge/); // MIT, aws4
});
