// The README's "Deploy with CDK / SAM / CloudFormation" snippets, each run
// or checked as it is printed, and the CloudFormation example kept in step
// with the construct: same variables, same permission.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { skipWithoutPythonTools } from '../../../test/layer/python-tools.ts';
import { LambdaTraceProxy, OtlpEndpoint, TraceProxyLayers, XRAY_OTLP_ACTION } from '../lib/index.ts';
import { ARNS, PACKAGE, ROOT, inlineFunction } from './app-fixture.ts';
import { cdkSynth, cfnLint } from './cdk-cli.ts';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const CFN_EXAMPLE = path.join(ROOT, 'examples/cloudformation/traced-functions.yaml');
const SAM_EXAMPLE = path.join(ROOT, 'examples/sam/template.yaml');

/** The first fenced block of this language after this heading, in the deploy section. */
function snippet(heading: string, language: string): string {
  const section = README.slice(README.indexOf('## Deploy with CDK / SAM / CloudFormation'));
  const start = section.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no ${heading} under "Deploy with CDK / SAM / CloudFormation"`);
  const block = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section.slice(start));
  assert.ok(block?.[1], `README's ${heading} has no \`\`\`${language} block`);
  return block[1];
}

test('the README\'s CDK snippet typechecks, and cdk synth of it traces both its functions', (t) => {
  // Inside the package, so that 'lambda-trace-proxy-cdk' resolves to it (package self-reference) as it would from npm.
  const dir = path.join(PACKAGE, 'readme-snippet');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'app.ts'), snippet('### CDK', 'ts'));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['app.ts'] }));
  const tsc = spawnSync(process.execPath, [path.join(PACKAGE, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);

  // Run from the project's root, where the snippet's 'dist' is.
  const out = cdkSynth(t, `node ${path.join(dir, 'app.ts')}`, ROOT);
  const template = Template.fromJSON(JSON.parse(readFileSync(path.join(out, 'Orders.template.json'), 'utf8')) as Record<string, unknown>);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
  for (const [runtime, architectures] of [['nodejs24.x', ['x86_64', 'arm64']], ['python3.13', ['arm64']]] as const) {
    const [layer] = Object.keys(template.findResources('AWS::Lambda::LayerVersion', { Properties: { CompatibleArchitectures: architectures } }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: runtime,
      Layers: [{ Ref: layer }],
      Environment: { Variables: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper-script.sh', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' } },
    });
  }
  template.resourceCountIs('AWS::IAM::Policy', 2);
});

test('the README\'s SAM snippet is part of examples/sam/template.yaml, which cfn-lint passes', { skip: skipWithoutPythonTools }, () => {
  assert.ok(readFileSync(SAM_EXAMPLE, 'utf8').includes(snippet('### SAM', 'yaml')), 'README SAM snippet differs from examples/sam/template.yaml');
  cfnLint(SAM_EXAMPLE);
});

test('the README\'s CloudFormation snippet is part of examples/cloudformation/traced-functions.yaml', () => {
  assert.ok(readFileSync(CFN_EXAMPLE, 'utf8').includes(snippet('### CloudFormation', 'yaml')), 'README CloudFormation snippet differs from the example');
});

/** `NAME: value` of each Environment.Variables entry of each function, as written in the YAML. */
function yamlVariables(text: string): Map<string, Record<string, string>> {
  const functions = new Map<string, Record<string, string>>();
  for (const [, name, body] of text.matchAll(/^ {2}(\w+):\n {4}Type: AWS::(?:Lambda|Serverless)::Function\n([\s\S]*?)(?=^ {2}\w+:\n|^\S|(?![\s\S]))/gm)) {
    const variables = /^ {6}Environment:\n {8}Variables:\n((?: {10}.*\n)+)/m.exec(body ?? '')?.[1] ?? '';
    functions.set(name ?? '', Object.fromEntries([...variables.matchAll(/^ {10}(\w+): (.*)$/gm)].map(([, key, value]) => [key ?? '', value ?? ''])));
  }
  return functions;
}

/** The construct's value as the YAML writes it: Fn::Join of strings and pseudo-parameter Refs becomes !Sub. */
function asYaml(value: unknown): string {
  if (typeof value === 'string') return value;
  const parts = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  return `!Sub ${parts.map((part) => typeof part === 'string' ? part : `\${${(part as { Ref: string }).Ref}}`).join('')}`;
}

test('examples/cloudformation and examples/sam set the variables and grant the permission the construct does for the same settings', () => {
  const stack = new Stack(undefined, 'Orders', { env: { region: 'eu-west-1' } });
  const node = inlineFunction(stack, 'Node', Runtime.NODEJS_24_X);
  const python = inlineFunction(stack, 'Python', Runtime.PYTHON_3_13, Architecture.ARM_64);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), endpoint: OtlpEndpoint.xray(), compression: 'gzip' }).addFunctions(node, python);
  const template = Template.fromStack(stack);
  const fromConstruct = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) =>
    Object.fromEntries(Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>).map(([key, value]) => [key, asYaml(value)])));
  assert.equal(fromConstruct.length, 2);
  assert.deepEqual(fromConstruct[0], fromConstruct[1]);
  const expected = fromConstruct[0] as Record<string, string>;

  const cfn = yamlVariables(readFileSync(CFN_EXAMPLE, 'utf8'));
  assert.deepEqual([...cfn.keys()], ['PythonOrders', 'NodeOrders']);
  for (const [name, variables] of cfn) {
    // OTEL_SERVICE_NAME: the example names services by a parameter; the construct leaves each function's name (the extension's default).
    const { OTEL_SERVICE_NAME: serviceName, ...rest } = variables;
    assert.match(serviceName ?? '', /^!Sub \$\{ServiceNamePrefix\}-/, name);
    assert.deepEqual(rest, expected, name);
  }
  const samText = readFileSync(SAM_EXAMPLE, 'utf8');
  const globals = /^ {4}Environment:\n {6}Variables:\n((?: {8}.*\n)+)/m.exec(samText)?.[1] ?? '';
  assert.deepEqual(Object.fromEntries([...globals.matchAll(/^ {8}(\w+): (.*)$/gm)].map(([, key, value]) => [key, value])), expected);

  // The one permission: the construct's statement, and the examples' (each function's role in SAM, the shared role in CloudFormation).
  const statements = Object.values(template.findResources('AWS::IAM::Policy')).map((policy) => policy.Properties.PolicyDocument.Statement);
  assert.deepEqual(statements, [[{ Action: XRAY_OTLP_ACTION, Effect: 'Allow', Resource: '*' }], [{ Action: XRAY_OTLP_ACTION, Effect: 'Allow', Resource: '*' }]]);
  const grant = (indent: string) => new RegExp(`^${indent}- Effect: Allow\\n${indent}  Action: ${XRAY_OTLP_ACTION}\\n${indent}  Resource: '\\*'$`, 'gm');
  assert.equal([...readFileSync(CFN_EXAMPLE, 'utf8').matchAll(grant(' {14}'))].length, 1);
  assert.doesNotMatch(readFileSync(CFN_EXAMPLE, 'utf8'), /AWSXray\w+Access/, 'no managed policy wider than the construct\'s grant');
  assert.equal([...samText.matchAll(grant(' {12}'))].length, 2);
});
