// `cdk synth` of example/app.ts, as a user runs it (the aws-cdk CLI, real
// asset bundling, the zips of make layer), then the template checked with
// aws-cdk-lib/assertions and cfn-lint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { skipWithoutPythonTools } from '../../../test/layer/python-tools.ts';
import { ROOT, binaryBootstrapDirectory, packageTempDir } from './app-fixture.ts';
import { cdkSynth, cfnLint, runCdkSynth } from './cdk-cli.ts';

const ids = (template: Template, type: string) => Object.keys(template.findResources(type));

test('cdk synth of the example app traces its Node.js, Python, Java and provided.al2023 functions', async (t) => {
  const out = cdkSynth(t, 'node example/app.ts');
  const file = path.join(out, 'TraceProxyExample.template.json');
  const template = Template.fromJSON(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);

  template.resourceCountIs('AWS::Lambda::Function', 4);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 3);
  const layer = (architectures: string[]) => {
    const [id] = ids(template, 'AWS::Lambda::LayerVersion').filter((lid) =>
      JSON.stringify(template.toJSON().Resources[lid].Properties.CompatibleArchitectures) === JSON.stringify(architectures));
    assert.ok(id, `a layer for ${architectures.join(' and ')}`);
    return { Ref: id };
  };
  const xray = { 'Fn::Join': ['', ['https://xray.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] };
  const settings = {
    OTEL_EXPORTER_OTLP_ENDPOINT: xray,
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=example',
  };
  const wrapped = { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper-script.sh', ...settings };
  const expected: [string, string, string[], unknown, Record<string, unknown>][] = [
    ['nodejs24.x', 'x86_64', ['x86_64', 'arm64'], layer(['x86_64', 'arm64']), wrapped],
    ['python3.13', 'arm64', ['arm64'], layer(['arm64']), wrapped],
    ['java21', 'x86_64', ['x86_64'], layer(['x86_64']), wrapped],
    ['provided.al2023', 'x86_64', ['x86_64'], layer(['x86_64']), settings],
  ];
  for (const [runtime, architecture, , layerRef, variables] of expected) {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: runtime,
      Architectures: architecture === 'arm64' ? ['arm64'] : Match.absent(),
      Layers: [layerRef],
      Environment: { Variables: Match.exact(variables) },
    });
  }
  // What CDK uploads as each layer is, byte for byte, the zip make layer built.
  for (const [zip, architectures] of [['node', ['x86_64', 'arm64']], ['arm64', ['arm64']], ['x86_64', ['x86_64']]] as const) {
    const { Ref: id } = layer([...architectures]);
    const staged = template.toJSON().Resources[id].Metadata['aws:asset:path'] as string;
    assert.ok(readFileSync(path.join(out, staged)).equals(readFileSync(path.join(ROOT, `dist/lambda-trace-proxy-${zip}.zip`))), `${zip} layer asset`);
  }

  // One grant per function's role, xray:PutTraceSegments only.
  const policies = Object.values(template.findResources('AWS::IAM::Policy'));
  assert.equal(policies.length, 4);
  for (const policy of policies) {
    assert.deepEqual(policy.Properties.PolicyDocument.Statement, [{ Action: 'xray:PutTraceSegments', Effect: 'Allow', Resource: '*' }]);
  }

  // The provided.al2023 function's code: the wrapper in front of the shell runtime, both in the asset cdk synth staged.
  const shell = Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'provided.al2023' } }))[0]?.[1];
  const assetPath = shell?.Metadata?.['aws:asset:path'] as string;
  assert.deepEqual(readdirSync(path.join(out, assetPath)).sort(), ['bootstrap', 'bootstrap.untraced']);
  assert.match(readFileSync(path.join(out, assetPath, 'bootstrap'), 'utf8'), /^exec \/opt\/wrapper-script\.sh "\$LAMBDA_TASK_ROOT\/bootstrap\.untraced" "\$@"$/m);
  // The Java function's code: the class compiled at synth time.
  const java = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'java21' } }))[0];
  assert.deepEqual(readdirSync(path.join(out, java?.Metadata?.['aws:asset:path'] as string, 'example')), ['Handler.class']);

  await t.test('and cfn-lint finds nothing to say about the template', { skip: skipWithoutPythonTools }, () => cfnLint(file, ['W3005']));
});

test('cdk synth of an app with a Go function whose bootstrap is the program itself fails, printing the function and the recipe', (t) => {
  const dir = packageTempDir(t, 'go-app');
  writeFileSync(path.join(dir, 'app.ts'), `
import { App, Stack } from 'aws-cdk-lib';
import { Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LambdaTraceProxy, TraceProxyLayers } from 'lambda-trace-proxy-cdk';
const app = new App();
const stack = new Stack(app, 'Payments');
new Function(stack, 'Charge', { runtime: Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: Code.fromAsset(${JSON.stringify(binaryBootstrapDirectory(t))}) });
new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromBuild(process.env.LAYERS ?? 'dist') }).traceAll(app);
app.synth();
`);
  const { run } = runCdkSynth(t, `node ${path.join(dir, 'app.ts')}`);
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /Payments\/Charge \(provided\.al2023\) would not be traced: .*its bootstrap does not run \/opt\/wrapper-script\.sh\. Fix: build its code with TracedBootstrap\.fromDirectory/);
});
