import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCoreConfig as parseWithProblems, parseExtensionsApi, parseHostPort, parseLogLevelSetting } from '../../src/settings/core-config.ts';
import { SettingProblems } from '../../src/settings/env-values.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' };

function parseCoreConfig(env: Record<string, string>, name: string) {
  return parseWithProblems(env, name, parseExtensionsApi(env), new SettingProblems('LRAP_TRACING_CONFIG_INVALID'));
}

test('defaults: port 9009, upstream is AWS_LAMBDA_RUNTIME_API, log level warn, tracing on', () => {
  const c = parseCoreConfig(base, 'lambda-trace-proxy');
  assert.equal(c.listenerPort, 9009);
  assert.deepEqual(c.upstream, { host: '127.0.0.1', port: 9001, text: '127.0.0.1:9001' });
  assert.deepEqual(c.extensionsApi, c.upstream);
  assert.equal(parseLogLevelSetting(base).level, 'warn');
  assert.equal(c.managedInstances, false);
  assert.equal(c.tracingEnabled, true);
});

test('LRAP_RUNTIME_API_ENDPOINT chains to another proxy while the Extensions API stays Lambda\'s', () => {
  const c = parseCoreConfig({ ...base, LRAP_RUNTIME_API_ENDPOINT: 'localhost:9010', LRAP_LISTENER_PORT: '9011' }, 'x');
  assert.equal(c.upstream.text, 'localhost:9010');
  assert.equal(c.extensionsApi.text, '127.0.0.1:9001');
  assert.equal(c.listenerPort, 9011);
});

test('a listener port that is not a number is a ConfigError naming the variable', () => {
  for (const bad of ['abc', '0', '65536', '90 09', '-1', '9009x']) {
    assert.throws(() => parseCoreConfig({ ...base, LRAP_LISTENER_PORT: bad }, 'x'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'LRAP_CONFIG_INVALID');
      assert.equal(err.lambdaErrorType, 'Extension.InvalidListenerPort');
      assert.match(err.message, /LRAP_LISTENER_PORT/);
      return true;
    });
  }
});

test('an endpoint that is not host:port is refused with an example of the right form', () => {
  for (const bad of ['http://127.0.0.1:9001', '127.0.0.1', '127.0.0.1:9001/path', ':9001', 'host:99999']) {
    assert.throws(() => parseCoreConfig({ ...base, LRAP_RUNTIME_API_ENDPOINT: bad }, 'x'),
      (err: unknown) => err instanceof ConfigError && err.lambdaErrorType === 'Extension.InvalidRuntimeApiEndpoint' && /host:port/.test(err.message));
  }
});

test('a listener on the upstream port is refused: the proxy would forward to itself', () => {
  assert.throws(() => parseCoreConfig({ AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9009' }, 'x'), /forward to itself/);
});

test('IPv6 hosts are accepted in brackets', () => {
  assert.deepEqual(parseHostPort('[::1]:9001', 'X'), { host: '::1', port: 9001, text: '[::1]:9001' });
});

test('LRAP_LOG_LEVEL wins over OTEL_LOG_LEVEL, and Managed Instances are recognised', () => {
  const env = { ...base, LRAP_LOG_LEVEL: 'debug', OTEL_LOG_LEVEL: 'error', AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' };
  assert.equal(parseLogLevelSetting(env).level, 'debug');
  assert.equal(parseCoreConfig(env, 'x').managedInstances, true);
  assert.equal(parseLogLevelSetting({ ...base, OTEL_LOG_LEVEL: 'ERROR' }).level, 'error');
});
