// The standalone layers run on every runtime Lambda still offers, Amazon
// Linux 2 included: the Node each zip ships asks the dynamic linker for no
// symbol version newer than AL2 provides. Read from the ELF itself (the
// .gnu.version_r section, with llvm-readelf or binutils' readelf), not from
// the binary's strings: a version string can sit in a binary that never binds
// to it, and only the version-needs entries make the loader refuse to start.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLayers, ZIPS } from './layer-fixture.ts';

/**
 * The newest version of each versioned library on Amazon Linux 2 (Lambda's
 * java8.al2, java11, java17, python3.10, python3.11, provided.al2): glibc 2.26,
 * and GCC 7.3's libstdc++ (GLIBCXX_3.4.24, CXXABI_1.3.11) and libgcc_s (GCC_7.0.0).
 */
const AMAZON_LINUX_2: Readonly<Record<string, readonly number[]>> = {
  GLIBC: [2, 26],
  GLIBCXX: [3, 4, 24],
  CXXABI: [1, 3, 11],
  GCC: [7, 0, 0],
};
/** What every glibc system has: a shipped Node must need nothing else (no libatomic, no libz…). */
const SYSTEM_LIBRARIES = new Set(['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'libstdc++.so.6', 'libgcc_s.so.1',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1']);
const LOADERS = { x86_64: '/lib64/ld-linux-x86-64.so.2', arm64: '/lib/ld-linux-aarch64.so.1' } as const;

/** llvm-readelf reads either architecture's ELF; binutils' readelf does too. */
const READELF = ['llvm-readelf', 'readelf'].find((tool) => spawnSync(tool, ['--version']).status === 0);

interface VersionNeed { readonly file: string; readonly version: string }

/** The .gnu.version_r entries: each library the binary links against, and each symbol version it needs from it. */
function versionNeeds(readelfOutput: string): VersionNeed[] {
  const needs: VersionNeed[] = [];
  let file: string | undefined;
  let inSection = false;
  for (const line of readelfOutput.split('\n')) {
    if (/^Version needs section/.test(line)) { inSection = true; continue; }
    if (!inSection) continue;
    if (/^\S/.test(line)) break;
    const library = /\bFile: (\S+)/.exec(line);
    if (library) { file = library[1]; continue; }
    const name = /\bName: (\S+)/.exec(line);
    if (name && file !== undefined) needs.push({ file, version: name[1]! });
  }
  return needs;
}

/** `GLIBCXX_3.4.19` → ['GLIBCXX', [3, 4, 19]]; undefined for a name that is not a versioned library tag. */
function parseTag(version: string): [string, number[]] | undefined {
  const m = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
  return m ? [m[1]!, m[2]!.split('.').map(Number)] : undefined;
}

function newerThan(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return false;
}

let dir: string;
before(() => {
  buildLayers();
  dir = mkdtempSync(path.join(os.tmpdir(), 'ltp-al2-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the version-needs reader finds each library and the versions needed from it', () => {
  const sample = [
    "Version needs section '.gnu.version_r' contains 2 entries:",
    ' Addr: 0000000000e2c090  Offset: 0xa2c090  Link: 6 (.dynstr)',
    '  0x0000: Version: 1  File: libstdc++.so.6  Cnt: 2',
    '  0x0010:   Name: GLIBCXX_3.4.19  Flags: none  Version: 23',
    '  0x0020:   Name: CXXABI_1.3.7  Flags: none  Version: 16',
    '  0x0030: Version: 1  File: libc.so.6  Cnt: 1',
    '  0x0040:   Name: GLIBC_2.28  Flags: none  Version: 5',
    '',
  ].join('\n');
  assert.deepEqual(versionNeeds(sample), [
    { file: 'libstdc++.so.6', version: 'GLIBCXX_3.4.19' },
    { file: 'libstdc++.so.6', version: 'CXXABI_1.3.7' },
    { file: 'libc.so.6', version: 'GLIBC_2.28' },
  ]);
});

for (const flavour of ['x86_64', 'arm64'] as const) {
  test(`${flavour}: its Node needs no symbol version newer than Amazon Linux 2's glibc 2.26 and GCC 7 libstdc++`, { skip: READELF ? false : 'neither llvm-readelf nor readelf is installed (Debian: apt-get install llvm)' }, () => {
    execFileSync('unzip', ['-q', '-o', ZIPS[flavour], 'lambda-trace-proxy/bin/node', '-d', path.join(dir, flavour)]);
    const node = path.join(dir, flavour, 'lambda-trace-proxy/bin/node');
    const out = execFileSync(READELF!, ['--wide', '--program-headers', '--dynamic', '--version-info', node], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

    assert.match(out, new RegExp(`Requesting program interpreter: ${LOADERS[flavour]}\\]`), 'the system\'s glibc loader');
    const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    assert.ok(needed.length > 0, 'dynamic section read');
    assert.deepEqual(needed.filter((lib) => !SYSTEM_LIBRARIES.has(lib)), [], 'links only against the C and C++ runtime libraries');

    const needs = versionNeeds(out);
    assert.ok(needs.some((n) => n.version.startsWith('GLIBC_')), 'version needs read');
    const tooNew = needs.filter((n) => {
      const tag = parseTag(n.version);
      const limit = tag && AMAZON_LINUX_2[tag[0]];
      return tag === undefined || limit === undefined || newerThan(tag[1], limit);
    }).map((n) => `${n.version} (${n.file})`);
    assert.deepEqual([...new Set(tooNew)], [], 'symbol versions Amazon Linux 2 does not have');
  });
}
