// The OpenTelemetry libraries' own messages (diag) come out as our JSON lines,
// at their level, with the message only: never the objects passed along.

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { createLogger, diagnosticLogger, type LogLevel } from '../../src/log.ts';

afterEach(() => diag.disable());

function install(level: LogLevel, diagLevel: DiagLogLevel): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  diag.setLogger(diagnosticLogger(log), { logLevel: diagLevel, suppressOverrideMessage: true });
  return lines;
}

test('a library warning or error becomes one line at its level, code LRAP_OTEL_DIAGNOSTIC, without its arguments', () => {
  const lines = install('warn', DiagLogLevel.WARN);
  diag.warn('export failed', { headers: { authorization: 'Bearer t0ken' } });
  diag.error('exporter broke', new Error('body: {"secret":1}'));
  diag.info('not at warn');
  assert.deepEqual(lines, [
    { level: 'warn', msg: 'export failed', ext: 'lambda-trace-proxy', code: 'LRAP_OTEL_DIAGNOSTIC' },
    { level: 'error', msg: 'exporter broke', ext: 'lambda-trace-proxy', code: 'LRAP_OTEL_DIAGNOSTIC' },
  ]);
});

test('verbose is debug, and nothing is written below our level', () => {
  const lines = install('debug', DiagLogLevel.ALL);
  diag.verbose('fine detail');
  diag.debug('detail');
  // The API announces its own registration at debug first.
  assert.deepEqual(lines.filter((l) => !String(l.msg).startsWith('@opentelemetry/api:')).map((l) => [l.level, l.msg]), [['debug', 'fine detail'], ['debug', 'detail']]);
  const quiet = install('error', DiagLogLevel.ALL);
  diag.warn('hidden');
  assert.deepEqual(quiet, []);
});

test('a very long library message is cut short', () => {
  const lines = install('warn', DiagLogLevel.WARN);
  diag.warn('x'.repeat(5000));
  assert.equal(String(lines[0]!.msg).length, 501);
});
