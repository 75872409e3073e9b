// What the construct does to the functions it traces: layer, wrapper, OTLP
// settings, IAM; asserted on the synthesized template.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture, Runtime, Function } from 'aws-cdk-lib/aws-lambda';
import { LambdaTraceProxy, OtlpEndpoint, TracedBootstrap, TraceProxyLayers, XRAY_OTLP_ACTION } from '../lib/index.ts';
import { xrayEndpointRegion } from '../../settings/sigv4-settings.ts';
import { isXrayEndpoint } from '../lib/otlp-settings.ts';
import { ARNS, PACKAGE, ROOT, inlineFunction, newApp, newStack } from './app-fixture.ts';

const SHELL_RUNTIME = path.join(PACKAGE, 'example/functions/shell-runtime');

function functionNamed(template: Template, id: string): { Properties: Record<string, unknown> } {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).find(([logicalId]) => logicalId.startsWith(id));
  assert.ok(found, `no function ${id} in ${Object.keys(template.findResources('AWS::Lambda::Function')).join(', ')}`);
  return found[1] as { Properties: Record<string, unknown> };
}

function layerArnsOf(template: Template, id: string): unknown {
  return functionNamed(template, id).Properties.Layers;
}

function variablesOf(template: Template, id: string): Record<string, unknown> {
  const environment = functionNamed(template, id).Properties.Environment as { Variables?: Record<string, unknown> } | undefined;
  return environment?.Variables ?? {};
}

test('each function gets the layer of its runtime and architecture from the ARNs given', (t) => {
  const stack = newStack(t);
  const functions = [
    inlineFunction(stack, 'Node24', Runtime.NODEJS_24_X, Architecture.ARM_64),
    inlineFunction(stack, 'Node22', Runtime.NODEJS_22_X),
    inlineFunction(stack, 'Node20', Runtime.NODEJS_20_X),
    inlineFunction(stack, 'Python', Runtime.PYTHON_3_13, Architecture.ARM_64),
    inlineFunction(stack, 'Java', Runtime.JAVA_21),
    new Function(stack, 'Shell', { runtime: Runtime.PROVIDED_AL2023, handler: 'x', code: TracedBootstrap.fromDirectory(SHELL_RUNTIME), architecture: Architecture.ARM_64 }),
  ];
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(...functions);
  const template = Template.fromStack(stack);
  assert.deepEqual(layerArnsOf(template, 'Node24'), [ARNS.node]);
  assert.deepEqual(layerArnsOf(template, 'Node22'), [ARNS.node]);
  assert.deepEqual(layerArnsOf(template, 'Node20'), [ARNS.x86_64]);
  assert.deepEqual(layerArnsOf(template, 'Python'), [ARNS.arm64]);
  assert.deepEqual(layerArnsOf(template, 'Java'), [ARNS.x86_64]);
  assert.deepEqual(layerArnsOf(template, 'Shell'), [ARNS.arm64]);
});

test('Amazon Linux 2 functions get the standalone layer of their architecture and the wrapper variable; provided.al2 the layer and a bootstrap that runs the wrapper', (t) => {
  const stack = newStack(t);
  const functions = [
    inlineFunction(stack, 'Java8', Runtime.JAVA_8_CORRETTO),
    inlineFunction(stack, 'Java11', Runtime.JAVA_11, Architecture.ARM_64),
    inlineFunction(stack, 'Java17', Runtime.JAVA_17),
    inlineFunction(stack, 'Python310', Runtime.PYTHON_3_10, Architecture.ARM_64),
    inlineFunction(stack, 'Python311', Runtime.PYTHON_3_11),
    inlineFunction(stack, 'Node18', Runtime.NODEJS_18_X, Architecture.ARM_64),
    new Function(stack, 'ShellAl2', { runtime: Runtime.PROVIDED_AL2, handler: 'x', code: TracedBootstrap.fromDirectory(SHELL_RUNTIME), architecture: Architecture.ARM_64 }),
  ];
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), endpoint: 'http://collector.internal:4318' }).addFunctions(...functions);
  const template = Template.fromStack(stack);
  const expected: [string, string, boolean][] = [
    ['Java8', ARNS.x86_64, true], ['Java11', ARNS.arm64, true], ['Java17', ARNS.x86_64, true], ['Python310', ARNS.arm64, true],
    ['Python311', ARNS.x86_64, true], ['Node18', ARNS.arm64, true], ['ShellAl2', ARNS.arm64, false],
  ];
  for (const [id, arn, wrapperVariable] of expected) {
    assert.deepEqual(layerArnsOf(template, id), [arn], id);
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318' };
    assert.deepEqual(variablesOf(template, id), wrapperVariable ? { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper-script.sh', ...endpoint } : endpoint, id);
  }
});

test('without the slim layer\'s ARN, Node.js functions take the standalone layer of their architecture', (t) => {
  const stack = newStack(t);
  const fn = inlineFunction(stack, 'Node24', Runtime.NODEJS_24_X, Architecture.ARM_64);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns({ arm64: ARNS.arm64 }) }).addFunctions(fn);
  assert.deepEqual(layerArnsOf(Template.fromStack(stack), 'Node24'), [ARNS.arm64]);
});

test('managed runtimes get the wrapper variable and the settings; provided.al2023 the settings only (it ignores the variable)', (t) => {
  const stack = newStack(t);
  const python = inlineFunction(stack, 'Python', Runtime.PYTHON_3_13);
  const shell = new Function(stack, 'Shell', { runtime: Runtime.PROVIDED_AL2023, handler: 'x', code: TracedBootstrap.fromDirectory(SHELL_RUNTIME) });
  new LambdaTraceProxy(stack, 'Tracing', {
    layers: TraceProxyLayers.fromArns(ARNS),
    endpoint: 'http://collector.internal:4318',
    protocol: 'http/json',
    headers: { 'x-api-key': 'k,e=y;1', tenant: 'orders' },
    compression: 'gzip',
    serviceName: 'orders',
    resourceAttributes: { 'deployment.environment.name': 'prod' },
    sampler: 'parentbased_traceidratio',
    samplerRatio: 0.25,
    logLevel: 'info',
  }).addFunctions(python, shell);
  const template = Template.fromStack(stack);
  const settings = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.internal:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%2Ce%3Dy%3B1,tenant=orders',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_SERVICE_NAME: 'orders',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    LRAP_LOG_LEVEL: 'info',
  };
  assert.deepEqual(variablesOf(template, 'Python'), { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper-script.sh', ...settings });
  assert.deepEqual(variablesOf(template, 'Shell'), settings);
});

test('the extension reads back the headers exactly as given, commas, equals signs and semicolons included', () => {
  const headers = { 'x-api-key': 'k,e=y;1 %', authorization: 'Bearer abc==' };
  const stack = new Stack();
  const fn = inlineFunction(stack, 'F', Runtime.NODEJS_24_X);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), headers }).addFunctions(fn);
  const value = variablesOf(Template.fromStack(stack), 'F').OTEL_EXPORTER_OTLP_HEADERS;
  assert.equal(typeof value, 'string');
  assert.deepEqual(parseKeyPairsIntoRecord(value as string), headers);
});

test('exports signed for X-Ray grant the function\'s role xray:PutTraceSegments on "*", and only that', (t) => {
  const stack = newStack(t);
  const fn = inlineFunction(stack, 'F', Runtime.NODEJS_24_X);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), endpoint: OtlpEndpoint.xray() }).addFunctions(fn);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::IAM::Policy', 1);
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: [{ Action: XRAY_OTLP_ACTION, Effect: 'Allow', Resource: '*' }] },
    Roles: [{ Ref: Match.stringLikeRegexp('^FServiceRole') }],
  });
  assert.equal(XRAY_OTLP_ACTION, 'xray:PutTraceSegments');
  assert.deepEqual(variablesOf(template, 'F').OTEL_EXPORTER_OTLP_ENDPOINT, {
    'Fn::Join': ['', ['https://xray.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
  });
});

test('an X-Ray endpoint given as a string grants the same; a collector or an API key (xraySigV4: false) grants nothing', (t) => {
  const cases = [
    { props: { endpoint: 'https://xray.eu-west-1.amazonaws.com' }, grants: true },
    { props: { endpoint: 'https://xray.cn-north-1.amazonaws.com.cn/v1/traces' }, grants: true },
    { props: { endpoint: 'http://collector.internal:4318' }, grants: false },
    { props: {}, grants: false },
    { props: { endpoint: OtlpEndpoint.xray(), xraySigV4: false, headers: { authorization: 'Bearer key' } }, grants: false },
    { props: { endpoint: 'https://otel-proxy.internal', xraySigV4: true }, grants: true },
  ];
  for (const { props, grants } of cases) {
    const stack = newStack(t);
    new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), ...props }).addFunctions(inlineFunction(stack, 'F', Runtime.PYTHON_3_13));
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Policy', grants ? 1 : 0);
  }
});

test('the construct recognises X-Ray\'s endpoints exactly as the extension does when it decides to sign', () => {
  const endpoints = [
    'https://xray.us-east-1.amazonaws.com', 'https://xray.us-east-1.amazonaws.com/v1/traces', 'https://XRAY.eu-west-1.amazonaws.com',
    'https://xray-fips.us-gov-west-1.amazonaws.com', 'https://xray.cn-north-1.amazonaws.com.cn', 'https://vpce-0abc-1de2.xray.eu-west-1.vpce.amazonaws.com',
    'http://xray.us-east-1.amazonaws.com', 'https://xray.amazonaws.com', 'https://logs.us-east-1.amazonaws.com', 'https://xray.us-east-1.amazonaws.com.evil.example',
    'https://collector:4318', 'not a url',
  ];
  for (const endpoint of endpoints) {
    assert.equal(isXrayEndpoint(endpoint), xrayEndpointRegion(endpoint) !== undefined, endpoint);
  }
});

test('traceAll reaches every function of the scope, those defined after it too, and each stack gets its own layer', (t) => {
  const app = newApp(t);
  const first = new Stack(app, 'First', { env: { region: 'eu-west-1' } });
  const second = new Stack(app, 'Second', { env: { region: 'eu-west-1' } });
  const tracing = new LambdaTraceProxy(first, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) });
  tracing.traceAll(app);
  inlineFunction(first, 'A', Runtime.NODEJS_24_X);
  inlineFunction(second, 'B', Runtime.PYTHON_3_13);
  inlineFunction(second, 'C', Runtime.JAVA_21);
  const firstTemplate = Template.fromStack(first);
  const secondTemplate = Template.fromStack(second);
  assert.deepEqual(layerArnsOf(firstTemplate, 'A'), [ARNS.node]);
  assert.deepEqual(layerArnsOf(secondTemplate, 'B'), [ARNS.x86_64]);
  assert.deepEqual(layerArnsOf(secondTemplate, 'C'), [ARNS.x86_64]);
  assert.deepEqual(Object.keys(firstTemplate.toJSON().Outputs ?? {}), [], 'no cross-stack export');
});

test('a function reached twice, by addFunctions and by the aspect, gets the layer and the grant once', (t) => {
  const stack = newStack(t);
  const fn = inlineFunction(stack, 'F', Runtime.NODEJS_24_X);
  const tracing = new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS), endpoint: OtlpEndpoint.xray() });
  tracing.addFunctions(fn, fn);
  tracing.traceAll(stack);
  const template = Template.fromStack(stack);
  assert.deepEqual(layerArnsOf(template, 'F'), [ARNS.node]);
  template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: XRAY_OTLP_ACTION, Effect: 'Allow', Resource: '*' }] } });
});

test('fromBuild deploys the zips of make layer as layer versions, one per stack and zip, with their architectures', (t) => {
  const dist = path.join(ROOT, 'dist');
  assert.ok(existsSync(path.join(dist, 'lambda-trace-proxy-node.zip')), 'run make layer first (make cdk-test does)');
  const stack = newStack(t);
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromBuild(dist) }).addFunctions(
    inlineFunction(stack, 'A', Runtime.NODEJS_24_X),
    inlineFunction(stack, 'B', Runtime.NODEJS_22_X, Architecture.ARM_64),
    inlineFunction(stack, 'C', Runtime.PYTHON_3_13, Architecture.ARM_64),
  );
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
  template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64', 'arm64'], LicenseInfo: 'Apache-2.0' });
  template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'], LicenseInfo: 'Apache-2.0' });
  const [nodeLayer] = Object.keys(template.findResources('AWS::Lambda::LayerVersion', { Properties: { CompatibleArchitectures: ['x86_64', 'arm64'] } }));
  const [armLayer] = Object.keys(template.findResources('AWS::Lambda::LayerVersion', { Properties: { CompatibleArchitectures: ['arm64'] } }));
  assert.deepEqual(layerArnsOf(template, 'A'), [{ Ref: nodeLayer }]);
  assert.deepEqual(layerArnsOf(template, 'B'), [{ Ref: nodeLayer }]);
  assert.deepEqual(layerArnsOf(template, 'C'), [{ Ref: armLayer }]);
});

test('two constructs with different layer ARNs in one stack each give their functions their own layer', (t) => {
  const stack = newStack(t);
  const older = { node: ARNS.node.replace(/:7$/, ':6') };
  new LambdaTraceProxy(stack, 'Tracing', { layers: TraceProxyLayers.fromArns(ARNS) }).addFunctions(inlineFunction(stack, 'A', Runtime.NODEJS_24_X));
  new LambdaTraceProxy(stack, 'Pinned', { layers: TraceProxyLayers.fromArns(older) }).addFunctions(inlineFunction(stack, 'B', Runtime.NODEJS_24_X));
  const template = Template.fromStack(stack);
  assert.deepEqual(layerArnsOf(template, 'A'), [ARNS.node]);
  assert.deepEqual(layerArnsOf(template, 'B'), [older.node]);
});
