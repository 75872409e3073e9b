// Apps for the tests: each in a temporary cloud assembly directory, removed
// when the test ends; functions of every kind the construct meets.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { App, Stack, type Environment } from 'aws-cdk-lib';
import { Architecture, Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

export const PACKAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(PACKAGE, '../..');

export const ARNS = {
  x86_64: 'arn:aws:lambda:eu-west-1:123456789012:layer:lambda-trace-proxy-x86_64:7',
  arm64: 'arn:aws:lambda:eu-west-1:123456789012:layer:lambda-trace-proxy-arm64:7',
  node: 'arn:aws:lambda:eu-west-1:123456789012:layer:lambda-trace-proxy-node:7',
} as const;

export const EU_WEST_1: Environment = { account: '123456789012', region: 'eu-west-1' };

export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ltp-cdk-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A temporary directory inside the package, for app files that import 'lambda-trace-proxy-cdk' (package self-reference). */
export function packageTempDir(t: TestContext, prefix: string): string {
  mkdirSync(path.join(PACKAGE, '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(PACKAGE, '.tmp', `${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function newApp(t: TestContext): App {
  return new App({ outdir: tempDir(t, 'out') });
}

export function newStack(t: TestContext, env: Environment = EU_WEST_1): Stack {
  return new Stack(newApp(t), 'Orders', { env });
}

/** A function of a managed runtime: inline code where Lambda takes it, else a directory (Java's source stands for its classes). */
export function inlineFunction(scope: Construct, id: string, runtime: Runtime, architecture: Architecture = Architecture.X86_64): Function {
  const code = !runtime.supportsInlineCode ? Code.fromAsset(path.join(PACKAGE, 'example/functions/java'))
    : Code.fromInline(runtime.family === Runtime.PYTHON_3_13.family ? 'def handler(event, context):\n    return event\n' : 'exports.handler = async (e) => e;');
  return new Function(scope, id, { runtime, architecture, handler: 'index.handler', code });
}

/** A directory whose bootstrap is a compiled program (an ELF header stands for one). */
export function binaryBootstrapDirectory(t: TestContext): string {
  const dir = tempDir(t, 'go');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bootstrap'), Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]), { mode: 0o755 });
  return dir;
}

/** The CloudFormation template of a stack, as JSON. */
export function templateOf(app: App, stack: Stack, options: { skipValidation?: boolean } = {}): Record<string, unknown> {
  const assembly = app.synth({ force: true, skipValidation: options.skipValidation ?? false });
  return assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
}
