// Dependency audit of what the layer ships: the npm packages esbuild put into
// the three bundles (dist/meta/*.json), not the dev tools.
//
// 1. `npm audit --omit=dev` against the npm registry: every advisory must be
//    fixed, or explained in audit-exceptions.json. The registry reachable from
//    this project's machines refuses the audit endpoint (POST
//    /-/npm/v1/security/advisories/bulk answers 405, GET and HEAD only), and no
//    advisory database can be had offline here; the test then says so in its
//    output and the second check is what stands.
// 2. Through the registry's ordinary reads (`npm view`): no bundled package is
//    at a version its authors deprecated (how npm flags a version with a known
//    problem), unless explained; versions behind the newest are listed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../integration/harness.ts';

const run = promisify(execFile);
const exceptions = JSON.parse(readFileSync(path.join(ROOT, 'test/security/audit-exceptions.json'), 'utf8')) as Record<string, string>;

/** name → version of every package inside the production bundles. */
function bundledPackages(): Map<string, string> {
  const packages = new Map<string, string>();
  for (const meta of ['extension.cjs.json', 'tracing.cjs.json', 'metrics.cjs.json']) {
    const inputs = (JSON.parse(readFileSync(path.join(ROOT, 'dist/meta', meta), 'utf8')) as { inputs: Record<string, unknown> }).inputs;
    for (const input of Object.keys(inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m) packages.set(m[1]!, (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', m[1]!, 'package.json'), 'utf8')) as { version: string }).version);
    }
  }
  return packages;
}

test('the production bundle is made of npm packages we can name', () => {
  const packages = bundledPackages();
  assert.ok(packages.size > 0);
  console.log(`dependency audit: the bundles hold ${[...packages].map(([n, v]) => `${n}@${v}`).join(', ')}`);
});

test('npm audit of the production dependencies finds nothing unexplained', async (t) => {
  let report: { vulnerabilities?: Record<string, { via: unknown[]; severity: string }>; statusCode?: number; message?: string };
  try {
    const { stdout } = await run('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, timeout: 120_000 });
    report = JSON.parse(stdout) as typeof report;
  } catch (err) {
    // npm audit exits 1 both when it finds something and when the endpoint fails; the JSON tells which.
    const stdout = (err as { stdout?: string }).stdout ?? '';
    try {
      report = JSON.parse(stdout) as typeof report;
    } catch {
      report = { message: (err as Error).message };
    }
  }
  if (report.vulnerabilities === undefined) {
    const reason = `npm audit could not run here: ${report.message ?? 'no answer'}; the registry check below stands in for it`;
    console.log(`dependency audit: ${reason}`);
    t.skip(reason);
    return;
  }
  const unexplained: string[] = [];
  for (const [name, finding] of Object.entries(report.vulnerabilities)) {
    for (const via of finding.via) {
      const id = typeof via === 'object' && via !== null && 'url' in via ? String((via as { url: string }).url).split('/').pop()! : `${name} via ${String(via)}`;
      if (exceptions[id] === undefined) unexplained.push(`${name} (${finding.severity}): ${id}`);
    }
  }
  console.log(`dependency audit: npm audit found ${Object.keys(report.vulnerabilities).length} vulnerable packages, ${unexplained.length} unexplained`);
  assert.deepEqual(unexplained, [], 'fix these, or explain each in test/security/audit-exceptions.json');
});

test('no bundled package is at a version its authors deprecated', async () => {
  const packages = [...bundledPackages()];
  const deprecated: string[] = [];
  const behind: string[] = [];
  // A few at a time: one registry read per package.
  for (let i = 0; i < packages.length; i += 4) {
    await Promise.all(packages.slice(i, i + 4).map(async ([name, version]) => {
      const { stdout } = await run('npm', ['view', `${name}@${version}`, '--json'], { cwd: ROOT, timeout: 60_000 });
      const manifest = JSON.parse(stdout) as { deprecated?: string; 'dist-tags'?: { latest?: string } };
      if (manifest.deprecated !== undefined && exceptions[`${name}@${version}`] === undefined) deprecated.push(`${name}@${version}: ${manifest.deprecated}`);
      const latest = manifest['dist-tags']?.latest;
      if (latest !== undefined && latest !== version) behind.push(`${name}@${version} (newest ${latest})`);
    }));
  }
  console.log(`dependency audit: ${packages.length} bundled packages read from the registry, ${deprecated.length} deprecated, ${behind.length} behind the newest${behind.length ? `: ${behind.join(', ')}` : ''}`);
  assert.deepEqual(deprecated, [], 'move off these versions, or explain each in test/security/audit-exceptions.json');
});
