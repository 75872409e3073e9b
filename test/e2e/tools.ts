// Where test/e2e/install-tools.sh puts the end-to-end tools, and how a test asks for one.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(E2E_DIR, '..', '..');
export const TOOLS_BIN = join(E2E_DIR, '.tools', 'bin');

export type ToolName = 'otelcol' | 'jaeger' | 'aws-lambda-rie';

const INSTALL_NAME: Record<ToolName, string> = {
  otelcol: 'otelcol',
  jaeger: 'jaeger',
  'aws-lambda-rie': 'rie',
};

export function toolPath(name: ToolName): string {
  return join(TOOLS_BIN, name);
}

/** True on CI (`CI=true`, as .ci/run is started), where a missing tool is a failure, not a skip. */
export function onCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * The tool's path, or a reason to skip when it is not built. On CI a missing tool throws:
 * the CI run must build it (test/e2e/install-tools.sh) before the tests.
 */
export function findTool(name: ToolName): { path: string } | { skip: string } {
  const path = toolPath(name);
  if (existsSync(path)) return { path };
  const how = `run test/e2e/install-tools.sh ${INSTALL_NAME[name]}`;
  if (onCI()) throw new Error(`${path} is missing on CI (CI=true): ${how} before the tests`);
  return { skip: `${name} not built (${how})` };
}
