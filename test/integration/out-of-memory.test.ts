// Out-of-memory as each runtime really shows it, with AWS's own runtime
// interface clients behind the proxy in the sandbox, followed by the platform
// events Lambda sends: Node.js over its V8 heap limit (--max-old-space-size)
// aborts with "JavaScript heap out of memory"; Python and Go are killed by the
// enforced memory size, Python reported as Runtime.OutOfMemory, Go as a plain
// Runtime.ExitError that only platform.report's memory figures give away.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { NODE, ROOT, WRAPPER, LAYER, startOnFreePort, shutDownAtEnd } from './harness.ts';
import { LambdaSandbox, type LambdaSandboxOptions } from '../sandbox/sandbox.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const RUNTIMES = path.join(ROOT, 'test/runtimes');
const RUN = path.join(RUNTIMES, 'run.sh');

interface Case {
  readonly installed: string;
  readonly options: Partial<LambdaSandboxOptions>;
  /** What the span's evidence should be; undefined when only the report knows. */
  readonly spanEvidence: string | undefined;
  /** The kernel killed it at the memory size (not V8 at its heap limit). */
  readonly memoryFull: boolean;
}

const cases: Record<string, Case> = {
  node: {
    installed: path.join(RUNTIMES, 'node/node_modules/aws-lambda-ric/index.mjs'),
    options: {
      runtime: { command: [NODE, '--max-old-space-size=48', path.join(RUNTIMES, 'node/node_modules/aws-lambda-ric/index.mjs')], cwd: path.join(RUNTIMES, 'node') },
      wrapper: WRAPPER, handler: 'handler.oom', taskRoot: path.join(RUNTIMES, 'node'),
    },
    spanEvidence: 'function-log',
    memoryFull: false,
  },
  python: {
    installed: path.join(RUNTIMES, 'python/.venv/bin/python'),
    options: { runtime: { command: [RUN, 'python', 'oom'] }, wrapper: WRAPPER, outOfMemory: { errorType: 'Runtime.OutOfMemory' } },
    spanEvidence: 'runtime-done',
    memoryFull: true,
  },
  go: {
    installed: path.join(RUNTIMES, 'go/bootstrap'),
    // OS-only runtime: the bootstrap recipe puts the wrapper in front.
    options: { runtime: { command: [WRAPPER, RUN, 'go', 'oom'] }, outOfMemory: { errorType: 'Runtime.ExitError' } },
    spanEvidence: undefined,
    memoryFull: true,
  },
};

for (const [name, spec] of Object.entries(cases)) {
  const installed = existsSync(spec.installed);
  if (!installed && process.env.CI === 'true') throw new Error(`${name} runtime client missing in CI: make test runs test/runtimes/install.sh`);

  describe(`out of memory on ${name}`, { skip: installed ? false : `run test/runtimes/install.sh ${name}` }, () => {
    let receiver: OtlpReceiver;
    let sandbox: LambdaSandbox;
    before(async () => {
      receiver = await OtlpReceiver.start();
      ({ sandbox } = await startOnFreePort((port) => shutDownAtEnd(new LambdaSandbox({
        layerDir: LAYER,
        runtime: 'external',
        ...spec.options,
        functionName: `oom-${name}`,
        memoryMb: 128,
        timeoutMs: 10_000,
        env: { LRAP_LISTENER_PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      }))));
    });
    after(async () => {
      await sandbox.shutdown().catch(() => undefined);
      await receiver.close();
    });

    test('the invocation dies; its span, or the metric when only the report knows, says Runtime.OutOfMemory, once', async () => {
      const result = await sandbox.invoke('{}');
      assert.equal(result.outcome, 'crash');
      const span = await receiver.waitForSpan((s) => s.attributes['faas.invocation.id'] === result.requestId, { timeoutMs: 10_000 });
      assert.equal(span.status.code, 'ERROR');
      if (spec.spanEvidence !== undefined) {
        assert.equal(span.attributes['error.type'], 'Runtime.OutOfMemory');
        assert.equal(span.attributes['lambda_trace_proxy.out_of_memory.evidence'], spec.spanEvidence);
      }
      // The crash reset the environment: the final flush at SHUTDOWN carries the report's metrics.
      const [errors] = await receiver.waitForMetrics((m) => m.name === 'faas.errors', { timeoutMs: 10_000 });
      const points = errors!.dataPoints;
      assert.deepEqual(points.map((p) => [p.attributes['error.type'], p.value]), [['Runtime.OutOfMemory', 1]]);
      const memory = receiver.metrics.find((m) => m.name === 'faas.mem_usage')!.dataPoints[0]!;
      if (spec.memoryFull) assert.equal(memory.sum, 128 * 1024 * 1024, 'maxMemoryUsedMB == memorySizeMB');
      else assert.ok(memory.sum! < 128 * 1024 * 1024, 'V8 gave up before the memory size');
    });
  });
}
