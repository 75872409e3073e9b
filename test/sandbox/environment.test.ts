import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { act, data, fields, sandbox } from './fixtures/harness.ts';
import { fakeRuntime } from './fixtures/temp-layer.ts';
import { HIDDEN_FROM_EXTENSIONS, LambdaSandbox } from './sandbox.ts';

const SHARED = [
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_RUNTIME_API',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'PATH',
  'TZ',
  'LANG',
  'OTEL_SERVICE_NAME',
];

describe('Environment variables', () => {
  before(() => {
    process.env['SANDBOX_TEST_PROCESS_ONLY'] = 'must not leak';
  });
  after(() => {
    delete process.env['SANDBOX_TEST_PROCESS_ONLY'];
  });

  test('extensions get the function env and AWS_* variables but not the runtime-only ones, which the runtime gets', async (t) => {
    const { sb, control } = await sandbox(t, {
      extensions: { 'env-ext': { reportEnv: true } },
      options: { env: { OTEL_SERVICE_NAME: 'checkout' }, functionName: 'checkout-fn', memoryMb: 512, region: 'eu-west-1' },
    });
    const extensionEnv = data(await control.waitForReport('env-ext', 'env'));
    const runtimeEnv = fields(JSON.parse((await act(sb, { action: 'env' })).body.toString()));

    for (const key of HIDDEN_FROM_EXTENSIONS) {
      assert.equal(key in extensionEnv, false, `${key} hidden from extensions`);
      assert.equal(typeof runtimeEnv[key], 'string', `${key} given to the runtime`);
    }
    for (const key of SHARED) {
      assert.equal(typeof extensionEnv[key], 'string', `${key} given to extensions`);
      assert.equal(extensionEnv[key], runtimeEnv[key], `${key} is the same for both`);
    }
    assert.equal(extensionEnv['AWS_LAMBDA_FUNCTION_NAME'], 'checkout-fn');
    assert.equal(extensionEnv['AWS_LAMBDA_FUNCTION_VERSION'], '$LATEST');
    assert.equal(extensionEnv['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'], '512');
    assert.equal(extensionEnv['AWS_REGION'], 'eu-west-1');
    assert.equal(extensionEnv['AWS_DEFAULT_REGION'], 'eu-west-1');
    assert.equal(extensionEnv['AWS_LAMBDA_INITIALIZATION_TYPE'], 'on-demand');
    assert.equal(extensionEnv['AWS_LAMBDA_RUNTIME_API'], sb.address);
    assert.equal(extensionEnv['OTEL_SERVICE_NAME'], 'checkout');
    assert.equal(runtimeEnv['_HANDLER'], 'index.handler');
    assert.equal(runtimeEnv['AWS_LAMBDA_LOG_GROUP_NAME'], '/aws/lambda/checkout-fn');
    assert.match(String(runtimeEnv['AWS_LAMBDA_LOG_STREAM_NAME']), /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    // Managed runtimes set _X_AMZN_TRACE_ID themselves, per invoke.
    assert.equal('_X_AMZN_TRACE_ID' in runtimeEnv, false);
    assert.equal('_X_AMZN_TRACE_ID' in extensionEnv, false);
    assert.equal('SANDBOX_TEST_PROCESS_ONLY' in runtimeEnv, false);
    assert.equal('SANDBOX_TEST_PROCESS_ONLY' in extensionEnv, false);
  });

  test('with a wrapper the runtime is started as wrapper + runtime command with AWS_LAMBDA_EXEC_WRAPPER set', async (t) => {
    const { sb, layer } = await sandbox(t, { wrapper: true });
    const started = sb.events.find((e) => e.kind === 'runtime-started');
    assert.deepEqual(started?.detail['command'], [layer.wrapper, ...fakeRuntime({})]);
    const runtimeEnv = fields(JSON.parse((await act(sb, { action: 'env' })).body.toString()));
    assert.equal(runtimeEnv['AWS_LAMBDA_EXEC_WRAPPER'], layer.wrapper);
    assert.equal(runtimeEnv['WRAPPER_ARGS'], fakeRuntime({}).join(' '));
  });

  test("a reserved key in the function's env is refused, as Lambda refuses the configuration", () => {
    assert.throws(
      () => new LambdaSandbox({ layerDir: '/nonexistent', runtime: 'external', env: { AWS_REGION: 'eu-west-1' } }),
      { code: 'SANDBOX_CONFIG_INVALID', message: /env\.AWS_REGION/ },
    );
    assert.throws(() => new LambdaSandbox({ layerDir: '/nonexistent', runtime: { command: [] } }), {
      code: 'SANDBOX_CONFIG_INVALID',
    });
  });
});
