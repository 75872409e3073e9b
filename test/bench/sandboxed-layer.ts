// A built layer in a fresh local Lambda sandbox, as the tools that need a Telemetry API run it
// (make bench's upstream has none): the layer's wrapper in front of the runtime, the proxy on a
// free port, spans to the given OTLP endpoint, and the extension's node process found behind its
// launcher.

import path from 'node:path';
import { LambdaSandbox, type RuntimeSpec } from '../sandbox/sandbox.ts';
import { findNodePid, freePort } from './processes.ts';

export interface SandboxedLayerOptions {
  /** A staged layer directory (staged-layer.ts), as Lambda runs it from /opt. */
  readonly layer: string;
  /** 'external': the caller plays the runtime through the proxy at `port`. */
  readonly runtime: RuntimeSpec;
  readonly otlpEndpoint: string;
  /** The function's variables, beside the proxy's port and the OTLP endpoint. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SandboxedLayer {
  readonly sandbox: LambdaSandbox;
  /** The extension's node process. */
  readonly pid: number;
  /** The proxy's port (LRAP_LISTENER_PORT). */
  readonly port: number;
}

/** Starts the sandbox (Init done), runs `use`, and shuts the sandbox down whatever happens. */
export async function withSandboxedLayer<T>(options: SandboxedLayerOptions, use: (layer: SandboxedLayer) => Promise<T>): Promise<T> {
  const port = await freePort();
  const sandbox = new LambdaSandbox({
    layerDir: options.layer,
    runtime: options.runtime,
    wrapper: path.join(options.layer, 'wrapper-script.sh'),
    env: { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint, ...options.env },
  });
  try {
    await sandbox.start();
    const started = sandbox.events.find((e) => e.kind === 'extension-started')!;
    const pid = findNodePid(Number(started.detail['pid']));
    if (pid === undefined) throw new Error('the extension\'s node process was not found');
    return await use({ sandbox, pid, port });
  } finally {
    await sandbox.shutdown();
  }
}
