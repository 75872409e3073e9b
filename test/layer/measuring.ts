// What the layer's measuring scripts (measure-startup.ts, compare-node-builds.ts)
// share: the environment Lambda gives the extension, samples taken round by
// round in rotating order so that machine noise lands on every candidate alike,
// and child processes awaited to their end.

import type { ChildProcess } from 'node:child_process';

/** `items`, starting at the `by`-th (modulo its length). */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Resolves once the child has exited, at once if it already has. */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** What Lambda sets for an extension, with tracing exporting to `otlpEndpoint`. */
export function extensionEnv(runtimeApi: string, listenerPort: number, otlpEndpoint: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'fn',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    LRAP_LISTENER_PORT: String(listenerPort),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  };
}
