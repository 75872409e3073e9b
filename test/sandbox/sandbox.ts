import { isAbsolute, resolve } from 'node:path';
import { SandboxConfigError, SandboxStateError } from './errors.ts';
import { RESERVED_KEYS } from './environment.ts';
import { EventLog } from './event-log.ts';
import type { SandboxEvent, SandboxEventKind, WaitOptions } from './event-log.ts';
import { ExecutionEnvironment } from './execution-environment.ts';
import type { EnvironmentSettings, RuntimeSpec, ShutdownReport } from './execution-environment.ts';
import { handleExtensionsApi } from './extensions-api.ts';
import { FaultPlan } from './faults.ts';
import type { InvokeOptions, InvokeResult } from './invocations.ts';
import { OutputStore, ProcessRegistry } from './processes.ts';
import type { ProcessOutput, StdioMode } from './processes.ts';
import { RequestRecorder } from './recorder.ts';
import type { RecordedRequest } from './recorder.ts';
import { handleRuntimeApi } from './runtime-api.ts';
import { SandboxServer } from './server.ts';

export { SandboxConfigError, SandboxError, SandboxInitError, SandboxStateError } from './errors.ts';
export { HIDDEN_FROM_EXTENSIONS } from './environment.ts';
export { MAX_BUFFERED_RESPONSE_BYTES } from './runtime-api.ts';
export { newXRayTraceHeader } from './invocations.ts';
export { BUFFERING_LIMITS, SCHEMA_VERSIONS, sandboxLookup } from './telemetry-api.ts';
export type { SchemaVersion, TelemetryEvent } from './telemetry-api.ts';
export { rawHeader } from './raw-headers.ts';
export type { SandboxEvent, SandboxEventKind, WaitOptions } from './event-log.ts';
export type { ProcessExitReport, RuntimeSpec, ShutdownReason, ShutdownReport } from './execution-environment.ts';
export type { FaultPlan } from './faults.ts';
export type { InvokeOptions, InvokeOutcome, InvokeResult } from './invocations.ts';
export type { ProcessOutput, StdioMode } from './processes.ts';
export type { BodyChunk, RecordedRequest } from './recorder.ts';
export type { RouteName } from './routes.ts';

export interface LambdaSandboxOptions {
  /** Like /opt: every executable file in `${layerDir}/extensions/` is started as an external extension. */
  readonly layerDir: string;
  /** The runtime process, or 'external': the test plays the runtime and calls the Runtime API itself. */
  readonly runtime: RuntimeSpec;
  /** AWS_LAMBDA_EXEC_WRAPPER: the runtime is started as `wrapper <runtime command…>`. */
  readonly wrapper?: string;
  /** The function's own variables, given to runtime and extensions. Lambda's reserved keys are refused. */
  readonly env?: Readonly<Record<string, string>>;
  readonly functionName?: string;
  readonly functionVersion?: string;
  readonly memoryMb?: number;
  readonly timeoutMs?: number;
  readonly handler?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly initTimeoutMs?: number;
  readonly shutdownDeadlineMs?: number;
  /** > 1: Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY). */
  readonly concurrency?: number;
  /** 'pipe' (default) keeps each child's output for `output(name)`; 'inherit' shows it. */
  readonly stdio?: StdioMode;
  /** AWS_EXECUTION_ENV for the runtime; null for an OS-only runtime. Default `AWS_Lambda_nodejs24.x`. */
  readonly executionEnv?: string | null;
  /** LAMBDA_TASK_ROOT and the working directory of extensions. Default: the runtime's cwd, else process.cwd(). */
  readonly taskRoot?: string;
  /**
   * Enforce `memoryMb` on the runtime: past it the runtime is SIGKILLed and
   * platform.runtimeDone says `errorType` (Lambda: `Runtime.OutOfMemory` on
   * Python and Ruby, `Runtime.ExitError` on Node.js, Go and others). Default: not enforced.
   */
  readonly outOfMemory?: { readonly errorType: string };
  /**
   * What the processes are told AWS_LAMBDA_RUNTIME_API is, given the sandbox's
   * own address: e.g. a fault-injecting relay in front of it. Default: the address itself.
   */
  readonly apiAddress?: (address: string) => string;
}

/**
 * A local Lambda execution environment on loopback: Runtime API and
 * Extensions API on one port, real extension and runtime processes, and the
 * documented lifecycle (Init, Invoke, freeze points, timeouts, resets,
 * Shutdown). See README.md in this folder.
 */
export class LambdaSandbox {
  /** Per-route test overrides: `faults.failOnce(route, status, body, headers)`, `faults.holdNext()`. */
  readonly faults: FaultPlan;
  readonly #log = new EventLog();
  readonly #recorder = new RequestRecorder();
  readonly #output = new OutputStore();
  readonly #processes = new ProcessRegistry();
  readonly #environment: ExecutionEnvironment;
  readonly #server: SandboxServer;
  #address: string | null = null;
  #started = false;
  readonly #apiAddress: (address: string) => string;

  constructor(options: LambdaSandboxOptions) {
    const settings = checkOptions(options);
    this.#apiAddress = options.apiAddress ?? ((address) => address);
    this.faults = new FaultPlan(() => this.#environment.faultsChanged());
    this.#environment = new ExecutionEnvironment(settings, {
      log: this.#log,
      faults: this.faults,
      processes: this.#processes,
      output: this.#output,
    });
    const environment = this.#environment;
    this.#server = new SandboxServer(this.#recorder, this.#log, this.faults, (match, request, res) =>
      match.route.startsWith('runtime.')
        ? handleRuntimeApi(environment, match, request, res)
        : handleExtensionsApi(environment, match, request, res),
    );
  }

  /** `127.0.0.1:<port>`, the AWS_LAMBDA_RUNTIME_API value. Available once `start()` was called. */
  get address(): string {
    if (this.#address === null) throw new SandboxStateError('the sandbox has no address before start()');
    return this.#address;
  }

  /** `arn:aws:lambda:<region>:<account>:function:<name>`, sent as Lambda-Runtime-Invoked-Function-Arn. */
  get functionArn(): string {
    return this.#environment.functionArn;
  }

  /** Every HTTP request received, raw, in arrival order. */
  get requests(): readonly RecordedRequest[] {
    return this.#recorder.entries;
  }

  /** The lifecycle log. */
  get events(): readonly SandboxEvent[] {
    return this.#log.entries;
  }

  /**
   * Listens, starts the extensions, waits for them to register, starts the
   * runtime, and resolves when Init is done (runtime in /next and every
   * extension in /event/next; for runtime 'external', once the extensions wait).
   * Rejects with `SandboxInitError` when Init fails or times out.
   */
  async start(): Promise<void> {
    if (this.#started) throw new SandboxStateError('start() was already called');
    this.#started = true;
    this.#address = await this.#server.listen();
    this.#environment.setRuntimeApi(this.#apiAddress(this.#address));
    await this.#environment.initialize();
  }

  /**
   * Queues one invocation (one at a time unless concurrency > 1) and resolves
   * when the runtime posted its answer, or with outcome 'timeout'/'crash'.
   * After a reset the environment is initialised again first.
   */
  async invoke(payload: Buffer | string, options: InvokeOptions = {}): Promise<InvokeResult> {
    if (options.timeoutMs !== undefined) positiveInteger('invoke timeoutMs', options.timeoutMs);
    return this.#environment.invoke(payload, options);
  }

  /**
   * The Shutdown phase (reason `spindown`), then closes the server. Resolves
   * with each process's exit; idempotent.
   */
  async shutdown(): Promise<ShutdownReport> {
    const report = await this.#environment.shutdown();
    await this.#server.close();
    return report;
  }

  /** Answers the next runtime `/next` (one already waiting, else the next to arrive) with this instead. */
  failNextOnce(status: number, body: Buffer | string = '', headers: readonly string[] = []): void {
    this.faults.failOnce('runtime.next', status, body, headers);
  }

  /** Keeps runtime `/next` calls pending until the returned function is called. */
  holdNext(): () => void {
    return this.faults.holdNext();
  }

  /** stdout/stderr of a child so far: an extension's file name, or 'runtime'. Empty with stdio 'inherit'. */
  output(name: string): ProcessOutput {
    return this.#output.get(name);
  }

  /** The first event of `kind` (matching `match`) from `fromIndex` on, recorded already or to come. */
  waitForEvent(
    kind: SandboxEventKind,
    options: WaitOptions & { match?: (event: SandboxEvent) => boolean } = {},
  ): Promise<SandboxEvent> {
    const match = options.match ?? (() => true);
    return this.#log.waitFor((e) => e.kind === kind && match(e), options);
  }

  /** The first request matching `match`, re-checked as bodies complete and answers are sent. */
  waitForRequest(match: (request: RecordedRequest) => boolean, options: WaitOptions = {}): Promise<RecordedRequest> {
    return this.#recorder.waitFor(match, options);
  }
}

const DEFAULTS = {
  functionName: 'sandbox-fn',
  functionVersion: '$LATEST',
  memoryMb: 128,
  timeoutMs: 3_000,
  handler: 'index.handler',
  region: 'us-east-1',
  accountId: '123456789012',
  // On-demand Init is limited to 10 s (README §2, "Init").
  initTimeoutMs: 10_000,
  // External extensions get 2,000 ms to shut down (README §2, "Shutdown").
  shutdownDeadlineMs: 2_000,
  concurrency: 1,
  executionEnv: 'AWS_Lambda_nodejs24.x',
} as const;

function checkOptions(options: LambdaSandboxOptions): EnvironmentSettings {
  if (typeof options.layerDir !== 'string' || options.layerDir === '') {
    throw new SandboxConfigError('layerDir: expected a directory path (like /opt)');
  }
  const runtime = options.runtime;
  if (runtime !== 'external') {
    if (
      typeof runtime !== 'object' ||
      !Array.isArray(runtime.command) ||
      runtime.command.length === 0 ||
      !runtime.command.every((part) => typeof part === 'string')
    ) {
      throw new SandboxConfigError("runtime: expected { command: string[] (non-empty), cwd?: string } or 'external'");
    }
  }
  const functionEnv = options.env ?? {};
  for (const [key, value] of Object.entries(functionEnv)) {
    if (typeof value !== 'string') throw new SandboxConfigError(`env.${key}: expected a string, got ${typeof value}`);
    // Lambda refuses a configuration that sets a reserved key (configuration-envvars.html).
    if (RESERVED_KEYS.includes(key)) throw new SandboxConfigError(`env.${key}: reserved by Lambda, set by the sandbox`);
  }
  const memoryMb = options.memoryMb ?? DEFAULTS.memoryMb;
  if (!Number.isInteger(memoryMb) || memoryMb < 128 || memoryMb > 10_240) {
    throw new SandboxConfigError(`memoryMb=${memoryMb}: expected an integer 128-10240`);
  }
  const concurrency = options.concurrency ?? DEFAULTS.concurrency;
  positiveInteger('concurrency', concurrency);
  const stdio = options.stdio ?? 'pipe';
  if (stdio !== 'pipe' && stdio !== 'inherit') throw new SandboxConfigError(`stdio=${String(stdio)}: expected 'pipe' or 'inherit'`);
  const runtimeCwd = runtime === 'external' ? undefined : runtime.cwd;
  return {
    layerDir: resolve(options.layerDir),
    runtime,
    wrapper: options.wrapper === undefined ? null : isAbsolute(options.wrapper) ? options.wrapper : resolve(options.wrapper),
    functionEnv,
    identity: {
      functionName: options.functionName ?? DEFAULTS.functionName,
      functionVersion: options.functionVersion ?? DEFAULTS.functionVersion,
      memoryMb,
      handler: options.handler ?? DEFAULTS.handler,
      region: options.region ?? DEFAULTS.region,
      accountId: options.accountId ?? DEFAULTS.accountId,
    },
    executionEnv: options.executionEnv === undefined ? DEFAULTS.executionEnv : options.executionEnv,
    taskRoot: resolve(options.taskRoot ?? runtimeCwd ?? process.cwd()),
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs ?? DEFAULTS.timeoutMs),
    initTimeoutMs: positiveInteger('initTimeoutMs', options.initTimeoutMs ?? DEFAULTS.initTimeoutMs),
    shutdownDeadlineMs: positiveInteger('shutdownDeadlineMs', options.shutdownDeadlineMs ?? DEFAULTS.shutdownDeadlineMs),
    concurrency,
    stdio,
    outOfMemoryErrorType: options.outOfMemory?.errorType ?? null,
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new SandboxConfigError(`${name}=${value}: expected a positive integer`);
  return value;
}
