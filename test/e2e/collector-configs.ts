// What the tests know about collector-config/*.yaml: sample values for their variables, the
// components the project's collector may lack (see README.md), and how to run a config without
// them. Used by collector-configs.test.ts (otelcol validate) and e2e.ts (the configs run for real).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './tools.ts';

export const CONFIG_DIR = join(REPO_ROOT, 'collector-config');

// Values a user would plug in, one for every variable the configs need without a default.
export const SAMPLE_ENV: Record<string, string> = {
  JAEGER_ENDPOINT: 'jaeger.example.internal:4317',
  AWS_REGION: 'eu-west-1',
  OTLP_BACKEND_ENDPOINT: 'https://otlp.example.com',
  OTLP_BACKEND_AUTHORIZATION: 'Bearer e2e-test-token',
};

// Never the developer's own AWS identity or files, never an instance-metadata lookup.
export const SAFE_AWS_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};

// Components that the configs may use but the project's collector may lack.
export const OPTIONAL = {
  decouple: { kind: 'processors', why: 'the decouple processor (opentelemetry-lambda) is not served by the Go module proxy here' },
  awsxray: { kind: 'exporters', why: 'the awsxray exporter\'s dependencies (contrib internal/aws/xray, aws-sdk-go-v2/service/xray) are not served by the Go module proxy here' },
} as const;
export type Optional = keyof typeof OPTIONAL;

/** The file names of collector-config/*.yaml, sorted. */
export function collectorConfigFiles(): string[] {
  return readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

export function withoutComments(yaml: string): string {
  return yaml.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).join('\n');
}

export function usesComponent(yaml: string, name: Optional): boolean {
  return new RegExp(`(^|[\\s\\[,])${name}(/[\\w-]+)?($|[\\s\\],:])`, 'm').test(withoutComments(yaml));
}

/** The config with the `decouple` processor removed: its definition block and its pipeline entries. */
export function stripDecouple(yaml: string): string {
  const out: string[] = [];
  let dropIndent = -1;
  for (const line of yaml.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (dropIndent >= 0) {
      if (line.trim() === '' || line.trimStart().startsWith('#') || indent > dropIndent) continue;
      dropIndent = -1;
    }
    if (/^\s+decouple(\/[\w-]+)?:\s*(#.*)?$/.test(line)) {
      dropIndent = indent;
      continue;
    }
    out.push(line.replace(/,\s*decouple(\/[\w-]+)?\s*\]/, ']').replace(/\[\s*decouple(\/[\w-]+)?\s*,\s*/, '[').replace(/\[\s*decouple(\/[\w-]+)?\s*\]/, '[]'));
  }
  const stripped = out.join('\n');
  assert.ok(!usesComponent(stripped, 'decouple'), 'stripDecouple left a decouple reference');
  return stripped;
}


export function listComponents(otelcol: string): Set<string> {
  const r = spawnSync(otelcol, ['components'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `otelcol components failed: ${r.stderr}`);
  const found = new Set<string>();
  let kind = '';
  for (const line of r.stdout.split('\n')) {
    const section = /^(\w+):/.exec(line);
    if (section?.[1] !== undefined) kind = section[1];
    const item = /^\s*- name: (\S+)/.exec(line);
    if (item?.[1] !== undefined) found.add(`${kind}/${item[1]}`);
  }
  return found;
}
