// Validates every collector-config/*.yaml with the real OpenTelemetry Collector
// (`otelcol validate --config`), built by test/e2e/install-tools.sh otelcol.
//
// - Missing binary: skipped locally, a failure on CI (CI=true).
// - Components the project's collector cannot include (the Go module proxy does not serve
//   them, see test/e2e/README.md): a config using `decouple` is validated with `decouple`
//   taken out (everything else in it is still checked); a config using the `awsxray` exporter
//   is skipped with the reason. If a later collector build has them, the file is validated as is.
// - No network: validate builds every component, and sigv4auth looks for AWS credentials
//   (an EC2 instance-metadata request when none are set). The collector runs with fake static
//   credentials, AWS_EC2_METADATA_DISABLED=true and, as root, in an empty network namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from './tools.ts';
import {
  CONFIG_DIR, OPTIONAL, SAFE_AWS_ENV, SAMPLE_ENV, collectorConfigFiles, listComponents, stripDecouple, usesComponent, withoutComments, type Optional,
} from './collector-configs.ts';

const configFiles = collectorConfigFiles();

function canUseEmptyNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}
const EMPTY_NETNS = canUseEmptyNetns();

interface Validation { code: number | null; output: string }

function validate(otelcol: string, configPath: string, env: Record<string, string>): Promise<Validation> {
  const [cmd, args] = EMPTY_NETNS
    ? ['unshare', ['--net', otelcol, 'validate', `--config=file:${configPath}`]]
    : [otelcol, ['validate', `--config=file:${configPath}`]];
  const childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), ...SAFE_AWS_ENV, ...env };
  return new Promise((resolve) => {
    execFile(cmd, args, { env: childEnv, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

test('collector-config holds the documented configurations', () => {
  for (const f of ['jaeger.yaml', 'xray.yaml', 'xray-otlp-sigv4.yaml', 'lambda-decouple.yaml']) {
    assert.ok(configFiles.includes(f), `collector-config/${f} missing`);
  }
});

test('every ${env:VAR} without a default has a sample value here', () => {
  for (const f of configFiles) {
    const yaml = withoutComments(readFileSync(join(CONFIG_DIR, f), 'utf8'));
    for (const m of yaml.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)) {
      const name = m[1] ?? '';
      if (m[2] === undefined) assert.ok(name in SAMPLE_ENV, `${f}: \${env:${name}} has no default and no sample value in this test`);
    }
  }
});

test('otelcol validate', async (t) => {
  const tool = findTool('otelcol');
  if ('skip' in tool) {
    t.skip(tool.skip);
    return;
  }
  const otelcol = tool.path;
  const components = listComponents(otelcol);
  const has = (name: Optional) => components.has(`${OPTIONAL[name].kind}/${name}`);
  const scratch = mkdtempSync(join(tmpdir(), 'collector-configs-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const file of configFiles) {
    await t.test(file, async (st) => {
      const original = readFileSync(join(CONFIG_DIR, file), 'utf8');
      let path = join(CONFIG_DIR, file);
      if (usesComponent(original, 'awsxray') && !has('awsxray')) {
        st.skip(`uses the awsxray exporter, which this collector lacks: ${OPTIONAL.awsxray.why}`);
        return;
      }
      if (usesComponent(original, 'decouple') && !has('decouple')) {
        st.diagnostic(`validated without the decouple processor: ${OPTIONAL.decouple.why}`);
        path = join(scratch, file);
        writeFileSync(path, stripDecouple(original));
      }
      const r = await validate(otelcol, path, SAMPLE_ENV);
      assert.equal(r.code, 0, `otelcol validate --config ${file} failed:\n${r.output}`);
    });
  }

  await t.test('validate really checks: jaeger.yaml without JAEGER_ENDPOINT fails', async () => {
    const env = { ...SAMPLE_ENV };
    delete env.JAEGER_ENDPOINT;
    const r = await validate(otelcol, join(CONFIG_DIR, 'jaeger.yaml'), env);
    assert.notEqual(r.code, 0, 'validate accepted an exporter without an endpoint');
    assert.match(r.output, /otlp\/jaeger.*endpoint/);
  });

  await t.test('validate really checks: a wrong type is refused', async () => {
    const r = await validate(otelcol, join(CONFIG_DIR, 'jaeger.yaml'), { ...SAMPLE_ENV, JAEGER_TLS_INSECURE: 'maybe' });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /tls\.insecure/);
  });
});
