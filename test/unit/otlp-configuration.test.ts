// The exporter gets its configuration from our settings, field by field.
// (That nothing else reads the environment is checked in reference-tables.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { otlpHttpConfiguration } from '../../src/export/span-export.ts';
import { parseTracingSettings } from '../../src/settings/tracing-settings.ts';

test('url, headers, timeout, compression and TLS files reach the exporter configuration as parsed', async () => {
  const files: Record<string, string> = { '/ca.pem': 'CA', '/cert.pem': 'CERT', '/key.pem': 'KEY' };
  const settings = parseTracingSettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=a%2Cb,content-type=text/plain',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON',
    OTEL_EXPORTER_OTLP_TIMEOUT: '1234',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'GZIP',
    OTEL_EXPORTER_OTLP_CERTIFICATE: '/ca.pem',
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/cert.pem',
    OTEL_EXPORTER_OTLP_CLIENT_KEY: '/key.pem',
  }, { readFile: (p) => Buffer.from(files[p]!) });
  assert.equal(settings.exporter.kind, 'otlp');
  if (settings.exporter.kind !== 'otlp') return;
  const config = otlpHttpConfiguration(settings.exporter.otlp);
  assert.equal(config.url, 'https://collector.example:4318/v1/traces');
  assert.equal(config.timeoutMillis, 1234);
  assert.equal(config.compression, 'gzip');
  // Ours wins over a configured Content-Type: the body is what the protocol says.
  assert.deepEqual(await config.headers(), { 'x-api-key': 'a,b', 'Content-Type': 'application/json' });
  const agent = await config.agentFactory('https:') as https.Agent;
  assert.ok(agent instanceof https.Agent);
  assert.deepEqual([String(agent.options.ca), String(agent.options.cert), String(agent.options.key)], ['CA', 'CERT', 'KEY']);
  assert.equal(agent.options.keepAlive, true);
});
