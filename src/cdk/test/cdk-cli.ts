// The tools a user runs on an app: the aws-cdk CLI (this package's pinned
// one) and cfn-lint (the project's, from test/layer/python-tools.ts).

import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { VENV_BIN } from '../../../test/layer/python-tools.ts';
import { PACKAGE, ROOT, tempDir } from './app-fixture.ts';

export const CDK_CLI = path.join(PACKAGE, 'node_modules/aws-cdk/bin/cdk');

/** Runs `cdk synth` in `cwd` (the package) with this app command; returns the cloud assembly directory. */
export function cdkSynth(t: Parameters<typeof tempDir>[0], app: string, cwd: string = PACKAGE): string {
  const { out, run } = runCdkSynth(t, app, cwd);
  assert.equal(run.status, 0, `cdk synth failed:\n${run.stdout}\n${run.stderr}`);
  return out;
}

/** `cdk synth`, whatever its outcome. */
export function runCdkSynth(t: Parameters<typeof tempDir>[0], app: string, cwd: string = PACKAGE): { out: string; run: SpawnSyncReturns<string> } {
  const out = tempDir(t, 'synth');
  const run = spawnSync(process.execPath, [CDK_CLI, 'synth', '--app', app, '--output', out, '--quiet', '--no-notices', '--no-version-reporting'], {
    cwd, encoding: 'utf8', timeout: 120_000,
    // The app runs on the Node that runs this test (the pinned one: it strips TypeScript types).
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, CDK_DISABLE_CLI_TELEMETRY: 'true', LAYERS: path.join(ROOT, 'dist') },
  });
  return { out, run };
}

/**
 * cfn-lint, failing on warnings too. `ignore`: checks that flag what
 * aws-cdk-lib itself writes, not what the construct does (W3005: CDK makes
 * every function DependsOn its role, which a GetAtt already orders).
 */
export function cfnLint(file: string, ignore: readonly string[] = []): void {
  const ignoring = ignore.length === 0 ? [] : ['--ignore-checks', ...ignore];
  const r = spawnSync(path.join(VENV_BIN, 'cfn-lint'), ['--non-zero-exit-code', 'warning', '--format', 'parseable', ...ignoring, '--', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}
