// The README's settings, log codes, error types and attributes cannot drift from
// the code: they are rendered from src/build/reference-tables.ts, and that file
// must list exactly what src/ reads, logs and sets. Scanned statically, so a
// variable read, a code logged or an attribute set on a path no test reaches is
// caught too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as semconv from '@opentelemetry/semantic-conventions';
import * as semconvIncubating from '@opentelemetry/semantic-conventions/incubating';
import { ATTRIBUTES, ERROR_TYPES, LOG_CODES, METRICS, SECTIONS, VARIABLES, referenceBlocks, withReferenceTables } from '../../src/build/reference-tables.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Build-time constants (esbuild --define), not settings or codes. */
const BUILD_CONSTANTS = new Set(['LRAP_VERSION', 'LRAP_TRACING_MODULE', 'LRAP_METRICS_MODULE']);

/**
 * Every file the layer runs, as text: src/ (but the reference itself and the help text, which are documentation,
 * and src/cdk/, the CDK construct's own package, which runs at synth time, not in Lambda) and the wrapper.
 */
function shippedSources(): { file: string; text: string }[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path.relative(ROOT, full) !== 'src/cdk' && entry.name !== 'node_modules') walk(full);
      }
      else if (/\.(ts|sh)$/.test(entry.name)) files.push(full);
    }
  };
  walk(path.join(ROOT, 'src'));
  files.push(path.join(ROOT, 'wrapper-script.sh'));
  const skip = new Set(['src/build/reference-tables.ts', 'src/help.ts', 'src/build/third-party-notices.ts']);
  return files.filter((f) => !skip.has(path.relative(ROOT, f))).map((file) => ({ file: path.relative(ROOT, file), text: readFileSync(file, 'utf8') }));
}

const SOURCES = shippedSources();

function tokens(pattern: RegExp): Map<string, string> {
  const found = new Map<string, string>();
  for (const { file, text } of SOURCES) for (const m of text.matchAll(pattern)) if (!found.has(m[1]!)) found.set(m[1]!, file);
  return found;
}

const DOCUMENTED_VARIABLES = new Set(VARIABLES.flatMap((v) => v.names));
const DOCUMENTED_CODES = new Set(LOG_CODES.map((c) => c.code));

test('the README\'s reference tables are the ones src/build/reference-tables.ts renders (run `make docs` after changing it)', () => {
  assert.deepEqual(referenceBlocks(README).sort(), Object.keys(SECTIONS).sort(), 'each table appears once');
  assert.equal(README, withReferenceTables(README));
});

test('every OTEL_*, LRAP_* and AWS_* name in the code is a documented variable or log code, and each documented one is in the code', () => {
  const names = tokens(/\b((?:OTEL|LRAP|AWS)_[A-Z0-9_]*[A-Z0-9])\b/g);
  const undocumented = [...names].filter(([n]) => !DOCUMENTED_VARIABLES.has(n) && !DOCUMENTED_CODES.has(n) && !BUILD_CONSTANTS.has(n));
  assert.deepEqual(undocumented, [], 'read or logged in src/ but not in the README (src/build/reference-tables.ts)');
  const gone = [...DOCUMENTED_VARIABLES, ...DOCUMENTED_CODES].filter((n) => !names.has(n));
  assert.deepEqual(gone, [], 'documented but nowhere in src/');
});

test('every `code:` logged in src/ is documented, with its level', () => {
  const logged = tokens(/code:\s*['"](LRAP_[A-Z_]+)['"]/g);
  for (const [code, file] of logged) assert.ok(DOCUMENTED_CODES.has(code), `${code} (${file})`);
  // Levels: a call that names its level and its code together must agree with the table.
  let checked = 0;
  for (const { file, text } of SOURCES) {
    for (const m of text.matchAll(/\.(debug|info|warn|error)\((?:[^()]|\([^()]*\))*?code:\s*'(LRAP_[A-Z_]+)'/g)) {
      const doc = LOG_CODES.find((c) => c.code === m[2]);
      assert.ok(doc?.level.includes(m[1]!), `${m[2]} is logged at ${m[1]} in ${file}; the table says ${doc?.level}`);
      checked++;
    }
  }
  assert.ok(checked >= 15, `only ${checked} log calls were recognised: the pattern no longer matches the code`);
});

test('every Extension.* error type in src/ is documented, and each documented one is in src/', () => {
  const types = tokens(/\b(Extension\.[A-Z][A-Za-z]+)\b/g);
  const documented = new Set(ERROR_TYPES.map((e) => e.type));
  assert.deepEqual([...types.keys()].filter((t) => !documented.has(t)), []);
  assert.deepEqual([...documented].filter((t) => !types.has(t)), []);
});

test('every attribute key set in src/ is documented, and each documented one is set in src/', () => {
  // Our own keys may be constants too (`const ATTR_X = 'lambda_trace_proxy.x'`): those first, then semantic conventions'.
  const local = Object.fromEntries(SOURCES.flatMap(({ text }) => [...text.matchAll(/\bconst (ATTR_[A-Z0-9_]+)\s*=\s*'([^']+)'/g)].map((m) => [m[1]!, m[2]!])));
  const constants: Record<string, unknown> = { ...semconv, ...semconvIncubating, ...local };
  const keys = new Map<string, string>();
  for (const [name, file] of tokens(/\b(ATTR_[A-Z0-9_]+)\b/g)) {
    const key = constants[name];
    assert.equal(typeof key, 'string', `${name} (${file}) is not a semantic-conventions attribute`);
    keys.set(key as string, file);
  }
  // Keys written as literals: attributes['x.y'] = …, setAttribute('x.y', …), setAttribute(target, 'x.y', …).
  for (const [key, file] of tokens(/\[\s*'([a-z_]+(?:\.[a-z_]+)+)'\s*\]\s*=/g)) keys.set(key, file);
  for (const [key, file] of tokens(/setAttribute\((?:\s*[\w.]+\s*,)?\s*'([a-z_]+(?:\.[a-z_]+)+)'/g)) keys.set(key, file);
  const documented = new Set(ATTRIBUTES.filter((a) => !a.bySdk).map((a) => a.key));
  assert.deepEqual([...keys].filter(([k]) => !documented.has(k)), [], 'set in src/ but not documented');
  assert.deepEqual([...documented].filter((k) => !keys.has(k)), [], 'documented but not set in src/');
});

test('every metric created in src/ is documented, and each documented one is created in src/', () => {
  const constants: Record<string, unknown> = { ...semconvIncubating };
  for (const { text } of SOURCES) for (const m of text.matchAll(/\bconst (METRIC_[A-Z0-9_]+)\s*=\s*'([^']+)'/g)) constants[m[1]!] = m[2]!;
  const created = new Set<string>();
  for (const { text } of SOURCES) {
    for (const m of text.matchAll(/\.create(?:Counter|Histogram|Gauge|UpDownCounter|ObservableGauge|ObservableCounter)\(\s*(?:'([^']+)'|(METRIC_[A-Z0-9_]+))/g)) {
      const name = m[1] ?? constants[m[2]!];
      assert.equal(typeof name, 'string', `${m[2]} is not a known metric name`);
      created.add(name as string);
    }
  }
  const documented = new Set(METRICS.map((m) => m.name));
  assert.deepEqual([...created].filter((n) => !documented.has(n)), [], 'created but not documented');
  assert.deepEqual([...documented].filter((n) => !created.has(n)), [], 'documented but not created');
});

test('the --help text names only documented variables', () => {
  const help = readFileSync(path.join(ROOT, 'src/help.ts'), 'utf8');
  const named = [...help.matchAll(/\b((?:OTEL|LRAP|AWS)_[A-Z0-9_]*[A-Z0-9])\b/g)].map((m) => m[1]!);
  assert.deepEqual(named.filter((n) => !DOCUMENTED_VARIABLES.has(n)), []);
});

test('only main.ts reads process.env, and only src/settings/ looks into what it read', () => {
  const readers = SOURCES.filter(({ text }) => /process\.env/.test(text)).map(({ file }) => file);
  // The launcher's Node version check runs before the bundle, to report an unusable Node to Lambda.
  assert.deepEqual(readers.sort(), ['src/launcher.sh', 'src/main.ts']);
  const lookers = SOURCES.filter(({ file, text }) => file.endsWith('.ts') && !file.startsWith('src/settings/') && /\benv(?:\.[A-Z]|\[)/.test(text)).map(({ file }) => file);
  assert.deepEqual(lookers, []);
});
