// examples/cloudformation: a template that deploys functions with the layers,
// the wrapper and X-Ray's OTLP endpoint, checked offline with cfn-lint
// against CloudFormation's resource schemas (runtimes, architectures, ARNs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './layer-fixture.ts';
import { skipWithoutPythonTools, VENV_BIN } from './python-tools.ts';

const TEMPLATE = path.join(ROOT, 'examples/cloudformation/traced-functions.yaml');
const text = readFileSync(TEMPLATE, 'utf8');

test('the example template passes cfn-lint with no error or warning', { skip: skipWithoutPythonTools }, () => {
  const r = spawnSync(path.join(VENV_BIN, 'cfn-lint'), ['--non-zero-exit-code', 'warning', '--format', 'parseable', TEMPLATE], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('every function in it runs through the wrapper and exports to X-Ray\'s OTLP endpoint', () => {
  const functions = text.split(/\n  (?=\w+:\n    Type: AWS::Lambda::Function\n)/).slice(1);
  assert.equal(functions.length, 2);
  for (const fn of functions) {
    assert.match(fn, /AWS_LAMBDA_EXEC_WRAPPER: \/opt\/wrapper-script\.sh\n/);
    assert.match(fn, /OTEL_EXPORTER_OTLP_ENDPOINT: !Sub https:\/\/xray\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}\n/);
    assert.match(fn, /Layers: \[!Ref \w+LayerArn\]/);
  }
});

test('its runtimes are among those make publish declares for the layer each function uses', () => {
  const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
  const list = (name: string) => (new RegExp(`^${name} := (.+)$`, 'm').exec(makefile)?.[1] ?? '').split(' ');
  assert.ok(list('STANDALONE_RUNTIMES').includes(/Runtime: (\S+)\n\s+Architectures: \[arm64\]/.exec(text)?.[1] ?? '?'));
  assert.ok(list('SLIM_RUNTIMES').includes(/Runtime: (nodejs\S+)/.exec(text)?.[1] ?? '?'));
});
