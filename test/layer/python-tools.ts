// cfn-lint and the AWS CLI, from PyPI, in a virtual environment of this
// folder's own (test/layer/.venv), installed on first use under a lock. Tests
// that need them skip, with the reason, when they cannot be installed, except
// in CI, where that is a failure.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './layer-fixture.ts';

export const VENV = path.join(ROOT, 'test/layer/.venv');
export const VENV_BIN = path.join(VENV, 'bin');
const REQUIREMENTS = ['cfn-lint==1.58.0', 'awscli==1.46.3'];
const STAMP = path.join(VENV, '.requirements');

/** Undefined once the tools are installed; else why they cannot be. */
function install(): string | undefined {
  const wanted = REQUIREMENTS.join('\n');
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === wanted) return undefined;
  mkdirSync(path.join(ROOT, '.cache'), { recursive: true });
  // One installer at a time; the others wait, then find the stamp.
  const script = `test -f "$1/.requirements" && [ "$(cat "$1/.requirements")" = "$2" ] && exit 0
    rm -rf "$1" && python3 -m venv "$1" && "$1/bin/pip" install --quiet --disable-pip-version-check $3 && printf '%s' "$2" > "$1/.requirements"`;
  const r = spawnSync('flock', [path.join(ROOT, '.cache/python-tools.lock'), 'sh', '-c', script, 'sh', VENV, wanted, REQUIREMENTS.join(' ')],
    { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.error) return `cannot run the installer: ${r.error.message}`;
  if (r.status !== 0) return `pip install ${REQUIREMENTS.join(' ')} into ${VENV} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`;
  return undefined;
}

const unavailable = install();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(`Python test tools are required in CI: ${unavailable}`);

/** For `test(name, { skip }, ...)`: false when the tools are there. */
export const skipWithoutPythonTools: false | string = unavailable === undefined ? false : `cfn-lint and the AWS CLI are not available: ${unavailable}`;

