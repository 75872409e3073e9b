// Build step: the licences of the npm packages esbuild put into the bundles,
// read from esbuild's metafiles, written as one text file shipped beside them.
// Apache-2.0 (OpenTelemetry) and MIT (aws4, protobuf writers…) both require
// their notice to travel with the code; --legal-comments cannot, since these
// packages carry their licence in a file, not in a comment.
//
// Usage: node src/build/third-party-notices.ts OUT META.json [META.json…]

import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [out, ...metafiles] = process.argv.slice(2);
if (!out || metafiles.length === 0) throw new Error('usage: third-party-notices.ts OUT META.json [META.json…]');

/** node_modules/@scope/name/… or node_modules/name/… → the package's folder. */
function packageDir(input: string): string | undefined {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m?.[1];
}

const dirs = new Set<string>();
for (const file of metafiles) {
  const meta = JSON.parse(readFileSync(file, 'utf8')) as { inputs: Record<string, unknown> };
  for (const input of Object.keys(meta.inputs)) {
    const dir = packageDir(input);
    if (dir) dirs.add(dir);
  }
}

const sections: string[] = [];
for (const dir of [...dirs].sort()) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
  const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\..*)?$/i.test(f));
  const text = licenceFile ? readFileSync(path.join(dir, licenceFile), 'utf8').trim() : `License: ${pkg.license ?? 'see the package'}`;
  sections.push(`${pkg.name}@${pkg.version} (${pkg.license ?? 'unknown'})\n${'-'.repeat(72)}\n${text}\n`);
}
if (!existsSync(path.dirname(out))) throw new Error(`${path.dirname(out)} does not exist`);
writeFileSync(out, `lambda-trace-proxy bundles these packages:\n\n${sections.join('\n')}`);
