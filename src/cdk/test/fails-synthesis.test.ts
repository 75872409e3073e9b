// What cannot be traced fails synthesis, naming the function, what is wrong
// and what to do, and is left untouched; a bad setting fails at once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture, Code, DockerImageCode, DockerImageFunction, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Repository } from 'aws-cdk-lib/aws-ecr';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { LambdaTraceProxy, TraceProxyConfigError, TraceProxyLayers, type LambdaTraceProxyProps } from '../lib/index.ts';
import { ARNS, PACKAGE, binaryBootstrapDirectory, inlineFunction, newApp, newStack, templateOf } from './app-fixture.ts';

function functionsOf(template: Record<string, unknown>): Record<string, { Properties: Record<string, unknown> }> {
  const resources = template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  return Object.fromEntries(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function'));
}

test('a refused runtime fails synthesis with the function\'s path, why, and a runtime to move to, and is left untouched', (t) => {
  const cases: [Runtime, RegExp][] = [
    // Lambda blocks every update to it: adding the layer could not be deployed.
    [Runtime.NODEJS_12_X, /Orders\/Legacy cannot be traced: its runtime nodejs12\.x is deprecated and Lambda no longer lets you create or update functions on it, .*move the function to a supported runtime such as nodejs24\.x\./],
    // Amazon Linux 1: the runtime never runs the wrapper.
    [Runtime.PYTHON_3_7, /Orders\/Legacy cannot be traced: its runtime python3\.7 runs on Amazon Linux 1, whose runtimes do not run AWS_LAMBDA_EXEC_WRAPPER, .*such as python3\.13\./],
  ];
  for (const [runtime, message] of cases) {
    const app = newApp(t);
    const stack = new Stack(app, 'Orders');
    new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(inlineFunction(stack, 'Legacy', runtime));
    assert.throws(() => app.synth({ force: true }), message);
    const [legacy] = Object.values(functionsOf(templateOf(app, stack, { skipValidation: true })));
    assert.equal(legacy?.Properties.Layers, undefined, runtime.name);
    assert.equal(legacy?.Properties.Environment, undefined, runtime.name);
  }
});

test('a provided.al2 function whose bootstrap is a program fails synthesis with the recipe, as on provided.al2023', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders');
  const go = new Function(stack, 'GoOrders', { runtime: Runtime.PROVIDED_AL2, handler: 'bootstrap', code: Code.fromAsset(binaryBootstrapDirectory(t)) });
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(go);
  assert.throws(() => app.synth({ force: true }),
    /Orders\/GoOrders \(provided\.al2\) would not be traced: OS-only runtimes ignore AWS_LAMBDA_EXEC_WRAPPER, .*its bootstrap does not run \/opt\/wrapper-script\.sh\. Fix: build its code with TracedBootstrap\.fromDirectory/);
});

test('a provided.al2023 function whose bootstrap is a program fails synthesis with the recipe', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders');
  const go = new Function(stack, 'GoOrders', { runtime: Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: Code.fromAsset(binaryBootstrapDirectory(t)) });
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(go);
  assert.throws(() => app.synth({ force: true }), (error: Error) => {
    assert.match(error.message, /Orders\/GoOrders \(provided\.al2023\) would not be traced: OS-only runtimes ignore AWS_LAMBDA_EXEC_WRAPPER/);
    assert.match(error.message, /its bootstrap does not run \/opt\/wrapper-script\.sh/);
    assert.match(error.message, /TracedBootstrap\.fromDirectory\(/);
    assert.match(error.message, /commandHooks: TracedBootstrap\.commandHooks\(\)/);
    assert.match(error.message, /exec \/opt\/wrapper-script\.sh "\$LAMBDA_TASK_ROOT\/<your executable>" "\$@"/);
    return true;
  });
  const [fn] = Object.values(functionsOf(templateOf(app, stack, { skipValidation: true })));
  assert.equal(fn?.Properties.Layers, undefined);
});

test('a provided.al2023 script bootstrap that does not run the wrapper fails too', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders');
  const shell = new Function(stack, 'Shell', { runtime: Runtime.PROVIDED_AL2023, handler: 'x', code: Code.fromAsset(`${PACKAGE}/example/functions/shell-runtime`) });
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(shell);
  assert.throws(() => app.synth({ force: true }), /Orders\/Shell .*its bootstrap does not run \/opt\/wrapper-script\.sh/);
});

test('a provided.al2023 function with code from S3 fails unless checkProvidedBootstrap is false, then it gets the layer', (t) => {
  for (const checkProvidedBootstrap of [true, false]) {
    const app = newApp(t);
    const stack = new Stack(app, 'Orders', { env: { region: 'eu-west-1' } });
    const fn = new Function(stack, 'Rust', {
      runtime: Runtime.PROVIDED_AL2023, architecture: Architecture.ARM_64, handler: 'x',
      code: Code.fromBucket(Bucket.fromBucketName(stack, 'Artifacts', 'artifacts'), 'rust/bootstrap.zip'),
    });
    new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), checkProvidedBootstrap }).addFunctions(fn);
    if (checkProvidedBootstrap) {
      assert.throws(() => app.synth({ force: true }), /Orders\/Rust .*its code is not a local directory .*checkProvidedBootstrap: false/);
    } else {
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Layers: [ARNS.arm64], Environment: Match.absent() });
    }
  }
});

test('every function that cannot be traced is reported in the one failure, each by its path', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders');
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).traceAll(stack);
  inlineFunction(stack, 'OldNode', Runtime.NODEJS_12_X);
  inlineFunction(stack, 'OldRuby', Runtime.RUBY_2_5);
  new Function(stack, 'OldGo', { runtime: Runtime.GO_1_X, handler: 'main', code: Code.fromAsset(binaryBootstrapDirectory(t)) });
  inlineFunction(stack, 'Fine', Runtime.NODEJS_24_X);
  inlineFunction(stack, 'FineOnAl2', Runtime.RUBY_3_2);
  assert.throws(() => app.synth({ force: true }), (error: Error) => {
    assert.match(error.message, /Orders\/OldNode cannot be traced: its runtime nodejs12\.x/);
    assert.match(error.message, /Orders\/OldRuby cannot be traced: its runtime ruby2\.5/);
    assert.match(error.message, /Orders\/OldGo cannot be traced: its runtime go1\.x/);
    assert.doesNotMatch(error.message, /Orders\/Fine/);
    return true;
  });
});

test('a function whose layer was not given as an ARN fails synthesis saying which ARN to pass', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders', { env: { region: 'eu-west-1' } });
  const fn = inlineFunction(stack, 'Python', Runtime.PYTHON_3_13, Architecture.ARM_64);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns({ x86_64: ARNS.x86_64, node: ARNS.node }) }).addFunctions(fn);
  assert.throws(() => app.synth({ force: true }),
    /Orders\/Python \(arm64\) needs the standalone arm64 layer, and fromArns\(\) got no arm64 ARN: pass arm64: '<LayerVersionArn of lambda-trace-proxy-arm64>'/);
});

test('a layer of another region fails synthesis: Lambda takes layers of the function\'s region only', (t) => {
  const app = newApp(t);
  const stack = new Stack(app, 'Orders', { env: { region: 'us-east-1' } });
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(inlineFunction(stack, 'F', Runtime.NODEJS_24_X));
  assert.throws(() => app.synth({ force: true }), /Orders\/F is in us-east-1 but layer node .* is in eu-west-1: .*publish the layer there/);
});

test('a container image function is left untouched, with a warning that says how to trace it', (t) => {
  const stack = newStack(t);
  new DockerImageFunction(stack, 'Image', { code: DockerImageCode.fromEcr(Repository.fromRepositoryName(stack, 'Repo', 'orders')) });
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).traceAll(stack);
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', { PackageType: 'Image', Layers: Match.absent(), Environment: Match.absent() });
  Annotations.fromStack(stack).hasWarning('/Orders/Image', Match.stringLikeRegexp(
    'Orders/Image is not traced: it is a container image, and Lambda takes no layers for images\\. .*AWS_LAMBDA_EXEC_WRAPPER=/opt/wrapper-script\\.sh'));
});

test('bad settings fail at construction with the property, the value and what is allowed', () => {
  const bad: [Partial<LambdaTraceProxyProps>, RegExp][] = [
    [{ endpoint: 'grpc://collector:4317' }, /endpoint "grpc:\/\/collector:4317" uses grpc; the extension exports over OTLP\/HTTP only/],
    [{ endpoint: 'collector:4318' }, /endpoint "collector:4318" uses collector; .*http:\/\/ or https:\/\//],
    [{ endpoint: 'not a url' }, /endpoint "not a url" is not a URL/],
    [{ protocol: 'grpc' as never }, /protocol "grpc" is not supported; use one of http\/protobuf, http\/json/],
    [{ compression: 'zstd' as never }, /compression "zstd" is not supported; use one of gzip, none/],
    [{ sampler: 'sometimes' as never }, /sampler "sometimes" is not supported/],
    [{ samplerRatio: 0.5 }, /samplerRatio is read only by the traceidratio samplers; set sampler to 'parentbased_traceidratio'/],
    [{ sampler: 'traceidratio', samplerRatio: 2 }, /samplerRatio 2 is not a ratio: give a number from 0 to 1/],
    [{ headers: { 'x api key': 'v' } }, /headers key "x api key" is not a valid name/],
    [{ headers: { 'x-api-key': '' } }, /headers "x-api-key" is empty/],
    [{ resourceAttributes: { 'a=b': 'c' } }, /resourceAttributes key "a=b" is not a valid name/],
    [{ serviceName: '' }, /serviceName is empty/],
    [{ logLevel: 'verbose' as never }, /logLevel "verbose" is not supported; use one of debug, info, warn, error, none/],
  ];
  for (const [props, message] of bad) {
    assert.throws(() => new LambdaTraceProxy(new Stack(), 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), ...props }),
      (error: unknown) => error instanceof TraceProxyConfigError && error.code === 'LRAP_CDK_CONFIG_INVALID' && message.test(error.message),
      JSON.stringify(props));
  }
});

test('bad layer sources fail at once, saying what was expected', () => {
  assert.throws(() => TraceProxyLayers.fromArns({}), /fromArns\(\) got no layer ARN: give x86_64, arm64 and\/or node/);
  assert.throws(() => TraceProxyLayers.fromArns({ arm64: 'arn:aws:lambda:eu-west-1:123456789012:layer:lambda-trace-proxy-arm64' }),
    /layer ARN arm64 ".*" is not a layer version ARN: expected arn:aws:lambda:<region>:<account>:layer:<name>:<version>/);
  const stack = new Stack(undefined, 'Orders');
  const fn = inlineFunction(stack, 'F', Runtime.NODEJS_24_X);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromBuild('/nowhere') }).addFunctions(fn);
  assert.throws(() => Template.fromStack(stack), /\/nowhere\/lambda-trace-proxy-node\.zip does not exist \(wanted for Orders\/F\): run `make layer`/);
});
