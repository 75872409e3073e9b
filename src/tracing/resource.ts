// The resource: who produced the spans, fixed for the life of the environment.
// `faas.instance` (the log stream name) only the runtime sees: the wrapper script
// hands it over through a file as the runtime starts, so the resource is made
// once the runtime has started (start-tracing.ts), with the name or, for a runtime
// that never ran the wrapper, without it. Never a promise settling later: the SDK
// warns when one settles to nothing, and every export would wait for it.

import { readFileSync } from 'node:fs';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  ATTR_CLOUD_ACCOUNT_ID, ATTR_CLOUD_PLATFORM, ATTR_CLOUD_PROVIDER, ATTR_CLOUD_REGION,
  ATTR_FAAS_INSTANCE, ATTR_FAAS_MAX_MEMORY, ATTR_FAAS_NAME, ATTR_FAAS_VERSION,
  CLOUD_PLATFORM_VALUE_AWS_LAMBDA, CLOUD_PROVIDER_VALUE_AWS,
} from '@opentelemetry/semantic-conventions/incubating';
import type { FunctionEnvironment } from '../settings/lambda-environment.ts';

export interface FunctionIdentity {
  readonly functionName: string;
  readonly functionVersion: string | undefined;
  readonly region: string | undefined;
  readonly accountId: string | undefined;
  readonly memoryMb: number | undefined;
}

/** The file wrapper-script.sh writes the log stream name to (one per listener port, for chained proxies). */
export function instanceFilePath(listenerPort: number): string {
  return `/tmp/.lambda-trace-proxy-${listenerPort}.instance`;
}

export function readInstanceFile(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

export function buildResource(
  identity: FunctionIdentity, serviceName: string | undefined, userAttributes: Readonly<Record<string, string>>, instance: string | undefined,
): Resource {
  const ours = resourceFromAttributes(withoutUnknown({
    [ATTR_SERVICE_NAME]: identity.functionName,
    [ATTR_CLOUD_PROVIDER]: CLOUD_PROVIDER_VALUE_AWS,
    [ATTR_CLOUD_PLATFORM]: CLOUD_PLATFORM_VALUE_AWS_LAMBDA,
    [ATTR_CLOUD_REGION]: identity.region,
    [ATTR_CLOUD_ACCOUNT_ID]: identity.accountId,
    [ATTR_FAAS_NAME]: identity.functionName,
    [ATTR_FAAS_VERSION]: identity.functionVersion,
    [ATTR_FAAS_MAX_MEMORY]: identity.memoryMb === undefined ? undefined : identity.memoryMb * 1024 * 1024,
    [ATTR_FAAS_INSTANCE]: instance,
  }));
  // OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, come last: the user's word wins (the spec's order).
  const user = resourceFromAttributes(serviceName === undefined ? userAttributes : { ...userAttributes, [ATTR_SERVICE_NAME]: serviceName });
  return defaultResource().merge(ours).merge(user);
}

/**
 * Only the facts this environment gave: the SDK warns about each attribute left undefined, at every
 * Init (the account id, say, which Lambda sends with register but AWS's emulator does not, or the
 * log stream of a runtime that never ran the wrapper).
 */
function withoutUnknown<T extends Record<string, unknown>>(attributes: T): Partial<T> {
  const known: Partial<T> = {};
  for (const key in attributes) if (attributes[key] !== undefined) known[key] = attributes[key];
  return known;
}

export function functionIdentity(fn: FunctionEnvironment, registered: { functionName?: string | undefined; functionVersion?: string | undefined; accountId?: string | undefined }): FunctionIdentity {
  return {
    functionName: fn.functionName ?? registered.functionName ?? 'unknown-function',
    functionVersion: fn.functionVersion ?? registered.functionVersion,
    region: fn.region,
    accountId: registered.accountId,
    memoryMb: fn.memoryMb,
  };
}
