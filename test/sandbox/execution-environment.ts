import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { now } from './clock.ts';
import { buildEnvironments } from './environment.ts';
import type { FunctionIdentity, ProcessEnvironments } from './environment.ts';
import { SandboxInitError, SandboxStateError } from './errors.ts';
import type { EventLog } from './event-log.ts';
import type { ExtensionEventType, ExtensionsApiHost, ExtensionView, FunctionMetadata } from './extensions-api.ts';
import type { FaultPlan } from './faults.ts';
import { Invocation } from './invocations.ts';
import type { InvokeOptions, InvokeResult, RuntimePost } from './invocations.ts';
import { listExtensions, MAX_EXTENSIONS } from './layer.ts';
import type { ManagedProcess, OutputStore, ProcessExit, ProcessRegistry, StdioMode } from './processes.ts';
import { errorReply, send } from './replies.ts';
import type { Reply } from './replies.ts';
import type { RuntimeApiHost } from './runtime-api.ts';
import { readFileSync } from 'node:fs';
import { parseSubscription, subscriptionReply, TelemetryHub } from './telemetry-api.ts';
import type { Status } from './telemetry-api.ts';

/** The runtime process, or 'external': the test plays the runtime itself. */
export type RuntimeSpec = { readonly command: readonly string[]; readonly cwd?: string } | 'external';

export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

export interface EnvironmentSettings {
  readonly layerDir: string;
  readonly runtime: RuntimeSpec;
  readonly wrapper: string | null;
  readonly functionEnv: Readonly<Record<string, string>>;
  readonly identity: FunctionIdentity;
  readonly executionEnv: string | null;
  readonly taskRoot: string;
  readonly timeoutMs: number;
  readonly initTimeoutMs: number;
  readonly shutdownDeadlineMs: number;
  readonly concurrency: number;
  readonly stdio: StdioMode;
  /**
   * The memory size is enforced: a runtime whose resident memory passes it is
   * SIGKILLed (as the kernel's OOM killer does in Lambda) and the invocation
   * ends with this `errorType` in platform.runtimeDone; null: not enforced.
   */
  readonly outOfMemoryErrorType: string | null;
}

export interface ProcessExitReport {
  readonly name: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** From the start of the Shutdown phase (when `deadlineMs` was set) to the exit; null if no exit was seen. */
  readonly exitedAfterMs: number | null;
  /** The sandbox had to SIGKILL it. */
  readonly killed: boolean;
}

export interface ShutdownReport {
  readonly reason: ShutdownReason;
  /** `deadlineMs` of the SHUTDOWN event (epoch ms). */
  readonly deadlineMs: number;
  readonly extensions: readonly ProcessExitReport[];
  readonly runtime: ProcessExitReport | null;
}

export interface Collaborators {
  readonly log: EventLog;
  readonly faults: FaultPlan;
  readonly processes: ProcessRegistry;
  readonly output: OutputStore;
}

/**
 * Shutdown phase: the runtime gets SIGTERM and up to 300 ms before SIGKILL;
 * external extensions get the rest of the deadline (README §2, "Shutdown").
 */
const RUNTIME_SIGTERM_GRACE_MS = 300;
/** After a SIGKILL, how long to wait for the exit to be reported (safety net only). */
const KILL_SETTLE_MS = 2_000;
/** How often a running runtime's memory is checked when the memory size is enforced. */
const MEMORY_CHECK_MS = 10;
const MIB = 1024 * 1024;

interface ExtensionRecord {
  readonly name: string;
  readonly process: ManagedProcess;
  id: string | null;
  events: ReadonlySet<ExtensionEventType>;
  /** Its pending `/event/next`, if it is waiting. */
  waiting: ServerResponse | null;
  /** Events due while it was not waiting. */
  readonly queue: Buffer[];
  reportedError: string | null;
}

type Phase = 'created' | 'initializing' | 'ready' | 'resetting' | 'uninitialized' | 'shutting-down' | 'stopped';

interface PendingInit {
  readonly resolve: () => void;
  readonly reject: (err: SandboxInitError) => void;
}

/**
 * One Lambda execution environment and its lifecycle (Init → Invoke… →
 * Shutdown, with resets), as the Extensions API guide describes it. The HTTP
 * APIs call in through `RuntimeApiHost` / `ExtensionsApiHost`; this class
 * decides when events are handed out, when the environment would freeze, and
 * what a timeout or crash does.
 */
export class ExecutionEnvironment implements RuntimeApiHost, ExtensionsApiHost {
  readonly #settings: EnvironmentSettings;
  readonly #log: EventLog;
  readonly #faults: FaultPlan;
  readonly #processes: ProcessRegistry;
  readonly #output: OutputStore;
  readonly #functionArn: string;
  #runtimeApi = '';
  #phase: Phase = 'created';
  #stopping = false;
  #envs: ProcessEnvironments | null = null;
  #extensions: ExtensionRecord[] = [];
  #byId = new Map<string, ExtensionRecord>();
  #registrationOpen = false;
  #runtime: ManagedProcess | null = null;
  #runtimeWaiters: ServerResponse[] = [];
  #queue: Invocation[] = [];
  /** Invocations handed out whose invoke phase has not ended (running or posted). */
  #active = new Map<string, Invocation>();
  #finished = new Set<string>();
  /** On-demand: the invocation whose invoke phase is open (one at a time). */
  #invokePhase: Invocation | null = null;
  #lastRequestId: string | null = null;
  #frozen = false;
  #pendingInit: PendingInit | null = null;
  #initPromise: Promise<void> | null = null;
  #resetPromise: Promise<void> | null = null;
  #shutdownPromise: Promise<ShutdownReport> | null = null;
  readonly #telemetry: TelemetryHub;
  #initStartedAt = 0;
  /** Init duration, reported once with the first invocation's platform.report. */
  #initDurationMs: number | null = null;
  /** How the runtime last exited, for the platform's own log line after a crash. */
  #lastRuntimeExit: ProcessExit | null = null;
  #memoryKilled = false;
  #memoryTimer: NodeJS.Timeout | null = null;
  #peakRssMb = 0;
  #reported = new Set<string>();

  constructor(settings: EnvironmentSettings, collaborators: Collaborators) {
    this.#settings = settings;
    this.#log = collaborators.log;
    this.#faults = collaborators.faults;
    this.#processes = collaborators.processes;
    this.#output = collaborators.output;
    const { region, accountId, functionName } = settings.identity;
    this.#functionArn = `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
    this.#telemetry = new TelemetryHub(collaborators.log, settings.concurrency > 1);
  }

  /** `PUT /2022-07-01/telemetry` from a registered extension. */
  subscribeTelemetry(id: string, body: Buffer): Reply {
    const extension = this.#byId.get(id);
    if (extension === undefined) return errorReply(403, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${id}`);
    const result = parseSubscription(body, this.managedInstances);
    if (!Array.isArray(result)) this.#telemetry.subscribe(extension.name, result);
    else this.#log.record('telemetry-refused', { extension: extension.name, problems: result });
    return subscriptionReply(result);
  }

  get functionArn(): string {
    return this.#functionArn;
  }

  get managedInstances(): boolean {
    return this.#settings.concurrency > 1;
  }

  /** `host:port` the processes get as AWS_LAMBDA_RUNTIME_API. */
  setRuntimeApi(address: string): void {
    this.#runtimeApi = address;
  }

  /** Runs Init; rejects with `SandboxInitError` (everything started is stopped first). */
  initialize(): Promise<void> {
    if (this.#stopping) return Promise.reject(new SandboxStateError('the sandbox is shut down'));
    this.#initPromise ??= this.#runInit().finally(() => {
      this.#initPromise = null;
    });
    return this.#initPromise;
  }

  invoke(payload: Buffer | string, options: InvokeOptions): Promise<InvokeResult> {
    if (this.#phase === 'created') throw new SandboxStateError('call start() before invoke()');
    if (this.#stopping) throw new SandboxStateError('the sandbox is shut down: invoke() is no longer possible');
    const invocation = new Invocation(payload, this.#settings.timeoutMs, options);
    this.#queue.push(invocation);
    this.#pump();
    return invocation.done;
  }

  /** The Shutdown phase with reason `spindown`; idempotent. */
  shutdown(): Promise<ShutdownReport> {
    this.#shutdownPromise ??= this.#runShutdown();
    return this.#shutdownPromise;
  }

  /** Called when a fault is planned or a hold released. */
  faultsChanged(): void {
    this.#progress();
  }

  // ── RuntimeApiHost ────────────────────────────────────────────────────────

  waitForInvocation(res: ServerResponse): void {
    this.#runtimeWaiters.push(res);
    res.once('close', () => {
      this.#runtimeWaiters = this.#runtimeWaiters.filter((r) => r !== res);
    });
    this.#progress();
  }

  invocationState(requestId: string): 'running' | 'finished' | 'unknown' {
    const active = this.#active.get(requestId);
    if (active?.state === 'running') return 'running';
    if (active !== undefined || this.#finished.has(requestId)) return 'finished';
    return 'unknown';
  }

  completeInvocation(requestId: string, outcome: 'response' | 'error', post: RuntimePost): void {
    const invocation = this.#active.get(requestId);
    if (invocation === undefined || invocation.state !== 'running') return;
    invocation.state = 'posted';
    // The caller gets the result as soon as the runtime posts it (README §2, "Invoke").
    this.#settle(invocation, outcome, post);
    if (this.managedInstances) this.#endInvokePhase(invocation);
    this.#progress();
  }

  reportRuntimeInitError(errorType: string, errorMessage: string): boolean {
    this.#log.record('runtime-init-error', { errorType, errorMessage });
    if (this.#pendingInit === null) return false;
    // The runtime exits after reporting (Runtime API, /runtime/init/error).
    if (this.#runtime !== null) this.#runtime.exitExpected = true;
    this.#failInit(
      new SandboxInitError('runtime-init-error', errorType, `the runtime reported an Init error: ${errorType}: ${errorMessage}`),
    );
    return true;
  }

  restored(): void {
    this.#log.record('restore');
  }

  reportRestoreError(errorType: string, errorMessage: string): void {
    this.#log.record('restore-error', { errorType, errorMessage });
  }

  // ── ExtensionsApiHost ─────────────────────────────────────────────────────

  get registrationOpen(): boolean {
    return this.#registrationOpen;
  }

  get metadata(): FunctionMetadata {
    const { functionName, functionVersion, handler, accountId } = this.#settings.identity;
    return { functionName, functionVersion, handler, accountId };
  }

  expectedNames(): readonly string[] {
    return this.#extensions.map((e) => e.name);
  }

  isRegistered(name: string): boolean {
    return this.#extensions.some((e) => e.name === name && e.id !== null);
  }

  register(name: string, events: ReadonlySet<ExtensionEventType>): string {
    const extension = this.#extensions.find((e) => e.name === name);
    if (extension === undefined) throw new Error(`register: ${name} was not started`);
    const id = randomUUID();
    extension.id = id;
    extension.events = events;
    this.#byId.set(id, extension);
    this.#log.record('extension-registered', { name, id, events: [...events] });
    this.#telemetry.report({ kind: 'extension', name, events: [...events] });
    queueMicrotask(() => this.#progress());
    return id;
  }

  noteRefusedRegistration(name: string, errorType: string, errorMessage: string): void {
    this.#log.record('extension-register-refused', { name, errorType, errorMessage });
  }

  extension(id: string): ExtensionView | undefined {
    const record = this.#byId.get(id);
    if (record === undefined) return undefined;
    return { name: record.name, reportedError: record.reportedError, inNext: record.waiting !== null };
  }

  waitForEvent(id: string, res: ServerResponse): void {
    const extension = this.#byId.get(id);
    if (extension === undefined) return;
    const due = extension.queue.shift();
    if (due !== undefined) {
      sendEvent(res, due);
      return;
    }
    extension.waiting = res;
    res.once('close', () => {
      if (extension.waiting === res) extension.waiting = null;
    });
    this.#progress();
  }

  reportExitError(id: string, errorType: string, errorMessage: string): void {
    const extension = this.#byId.get(id);
    if (extension === undefined) return;
    extension.reportedError = errorType;
    this.#log.record('extension-exit-error', { name: extension.name, errorType, errorMessage });
  }

  // ── Init ──────────────────────────────────────────────────────────────────

  async #runInit(): Promise<void> {
    this.#phase = 'initializing';
    this.#frozen = false;
    this.#envs = buildEnvironments({
      identity: this.#settings.identity,
      functionEnv: this.#settings.functionEnv,
      runtimeApi: this.#runtimeApi,
      layerDir: this.#settings.layerDir,
      taskRoot: this.#settings.taskRoot,
      executionEnv: this.#settings.executionEnv,
      concurrency: this.#settings.concurrency,
      wrapper: this.#settings.wrapper,
    });
    this.#log.record('init-start');
    // A new environment: extensions subscribe again; Init's events are kept for them.
    this.#telemetry.reset();
    this.#reported.clear();
    this.#memoryKilled = false;
    this.#peakRssMb = 0;
    this.#initStartedAt = now();
    this.#telemetry.report({ kind: 'initStart', initializationType: this.#initializationType(), phase: 'init' }, this.#initStartedAt);
    const done = new Promise<void>((resolve, reject) => {
      this.#pendingInit = { resolve, reject };
    });
    const timer = setTimeout(() => {
      this.#failInit(
        new SandboxInitError(
          'timeout',
          'Sandbox.Timedout',
          `Init did not finish within ${this.#settings.initTimeoutMs} ms (initTimeoutMs): ${this.#initWaitingFor()}`,
        ),
      );
    }, this.#settings.initTimeoutMs);
    try {
      const executables = listExtensions(this.#settings.layerDir);
      if (executables.length > MAX_EXTENSIONS) {
        throw new SandboxInitError(
          'too-many-extensions',
          'Extension.TooManyExtensions',
          `${executables.length} extensions in ${this.#settings.layerDir}/extensions; Lambda starts at most ${MAX_EXTENSIONS}`,
        );
      }
      this.#registrationOpen = true;
      // "Extensions start in parallel" (Extensions API guide, Init phase).
      for (const executable of executables) this.#startExtension(executable.name, executable.path);
      this.#progress();
      await done;
    } catch (err) {
      this.#pendingInit = null;
      const failure =
        err instanceof SandboxInitError ? err : new SandboxInitError('aborted', 'Sandbox.Failure', String(err));
      this.#log.record('init-failed', { reason: failure.reason, errorType: failure.errorType, message: failure.message });
      this.#phase = 'resetting';
      // A failed Init resets the environment (README §2, "Failure").
      await this.#teardown('failure', 'SIGKILL');
      this.#phase = 'uninitialized';
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  #startExtension(name: string, path: string): void {
    const process = this.#processes.start({
      name,
      command: [path],
      env: this.#requireEnvs().extensions,
      cwd: this.#settings.taskRoot,
      stdio: this.#settings.stdio,
      output: this.#output,
    });
    const record: ExtensionRecord = {
      name,
      process,
      id: null,
      events: new Set(),
      waiting: null,
      queue: [],
      reportedError: null,
    };
    this.#extensions.push(record);
    this.#log.record('extension-started', { name, pid: process.pid });
    void process.exited.then((exit) => this.#onExtensionExit(record, exit));
  }

  #startRuntime(): void {
    const spec = this.#settings.runtime;
    if (spec === 'external') return;
    // Lambda runs `$AWS_LAMBDA_EXEC_WRAPPER <runtime command…>` (runtimes-modify.html).
    const command = this.#settings.wrapper === null ? [...spec.command] : [this.#settings.wrapper, ...spec.command];
    const process = this.#processes.start({
      name: 'runtime',
      command,
      env: this.#requireEnvs().runtime,
      cwd: spec.cwd ?? this.#settings.taskRoot,
      stdio: this.#settings.stdio,
      output: this.#output,
      // The runtime's output is the function's log (`function` telemetry).
      onOutput: (bytes) => {
        for (const line of bytes.toString('utf8').split('\n')) if (line !== '') this.#telemetry.functionLog(line);
      },
    });
    this.#runtime = process;
    this.#log.record('runtime-started', { pid: process.pid, command });
    void process.exited.then((exit) => this.#onRuntimeExit(process, exit));
  }

  /** Init: registration → runtime start → everyone in next. */
  #advanceInit(): void {
    if (this.#registrationOpen) {
      // "All extensions must register before the runtime starts."
      if (!this.#extensions.every((e) => e.id !== null)) return;
      this.#registrationOpen = false;
      this.#log.record('extensions-registered', { names: this.#extensions.map((e) => e.name) });
      this.#startRuntime();
    }
    const runtimeReady = this.#settings.runtime === 'external' || this.#liveRuntimeWaiters() > 0;
    // "Init ends when the runtime and every extension have called next."
    if (!runtimeReady || !this.#extensions.every((e) => e.waiting !== null)) return;
    const pending = this.#pendingInit;
    if (pending === null) return;
    this.#pendingInit = null;
    this.#phase = 'ready';
    this.#log.record('init-done');
    this.#reportInit('success', undefined);
    pending.resolve();
  }

  #failInit(err: SandboxInitError): void {
    const pending = this.#pendingInit;
    if (pending === null) return;
    this.#pendingInit = null;
    this.#reportInit('error', err.errorType);
    this.#phase = 'resetting';
    pending.reject(err);
  }

  #initWaitingFor(): string {
    const unregistered = this.#extensions.filter((e) => e.id === null).map((e) => e.name);
    if (unregistered.length > 0) return `extensions not registered: ${unregistered.join(', ')}`;
    const parts: string[] = [];
    const notInNext = this.#extensions.filter((e) => e.waiting === null).map((e) => e.name);
    if (notInNext.length > 0) parts.push(`extensions not in /event/next: ${notInNext.join(', ')}`);
    if (this.#settings.runtime !== 'external' && this.#liveRuntimeWaiters() === 0) parts.push('runtime not in /next');
    return parts.join('; ');
  }

  reportExtensionInitError(id: string, errorType: string, errorMessage: string): boolean {
    const extension = this.#byId.get(id);
    if (extension === undefined) return false;
    this.#log.record('extension-init-error', { name: extension.name, errorType, errorMessage });
    if (this.#pendingInit === null) return false;
    extension.reportedError = errorType;
    // "an extension that reports init/error … exits": its exit is part of the failure, not a new crash.
    extension.process.exitExpected = true;
    this.#failInit(
      new SandboxInitError(
        'extension-init-error',
        errorType,
        `extension ${extension.name} reported an Init error: ${errorType}: ${errorMessage}`,
      ),
    );
    return true;
  }

  // ── Invoke ────────────────────────────────────────────────────────────────

  /** Starts a lazy re-Init when invocations wait on a reset environment. */
  #pump(): void {
    if (this.#stopping) return;
    if (this.#phase === 'uninitialized' && this.#queue.length > 0) {
      // After a reset, Lambda initialises a new environment for the next invocation.
      this.initialize().catch((err: unknown) => {
        const failure = err instanceof Error ? err : new Error(String(err));
        for (const invocation of this.#queue.splice(0)) invocation.fail(failure);
      });
      return;
    }
    this.#progress();
  }

  /** Re-evaluates the state after anything changed; the single place that moves the lifecycle on. */
  #progress(): void {
    if (this.#phase === 'initializing' && this.#pendingInit !== null) this.#advanceInit();
    if (this.#phase !== 'ready') return;
    this.#applyNextFault();
    if (this.managedInstances) {
      this.#dispatchConcurrent();
      return;
    }
    const open = this.#invokePhase;
    if (open !== null) {
      // The invoke phase ends when the runtime and every extension have called next.
      if (open.state !== 'posted' || !this.#everyoneInNext()) return;
      this.#endInvokePhase(open);
    }
    if (!this.#frozen && this.#everyoneInNext()) {
      // Lambda would freeze the environment here (no CPU until the next event).
      this.#frozen = true;
      this.#log.record('freeze', { after: this.#lastRequestId });
    }
    if (this.#frozen) this.#dispatchOne();
  }

  /** On-demand: one invocation at a time, only from the frozen state. */
  #dispatchOne(): void {
    if (this.#faults.nextHeld || this.#queue.length === 0) return;
    const res = this.#takeRuntimeWaiter();
    if (res === null) return;
    const invocation = this.#queue.shift();
    if (invocation === undefined) return;
    this.#frozen = false;
    this.#log.record('thaw', { requestId: invocation.requestId });
    this.#invokePhase = invocation;
    this.#begin(invocation, res);
  }

  /**
   * Lambda Managed Instances: every waiting `/next` may get an invocation, up to
   * AWS_LAMBDA_MAX_CONCURRENCY at once; never frozen (README §2b).
   */
  #dispatchConcurrent(): void {
    while (!this.#faults.nextHeld && this.#queue.length > 0 && this.#runningCount() < this.#settings.concurrency) {
      const res = this.#takeRuntimeWaiter();
      if (res === null) return;
      const invocation = this.#queue.shift();
      if (invocation === undefined) return;
      this.#begin(invocation, res);
    }
  }

  #begin(invocation: Invocation, res: ServerResponse): void {
    const deadlineMs = invocation.start();
    this.#active.set(invocation.requestId, invocation);
    this.#lastRequestId = invocation.requestId;
    send(res, { status: 200, body: invocation.payload, headers: invocation.nextHeaders(this.#functionArn) });
    // INVOKE goes to every subscribed extension as the runtime gets the event.
    const event = invocation.invokeEvent(this.#functionArn);
    for (const extension of this.#extensions) {
      if (extension.events.has('INVOKE')) this.#deliver(extension, event);
    }
    this.#log.record('invoke', { requestId: invocation.requestId, deadlineMs, traceId: invocation.traceId });
    this.#telemetry.report({
      kind: 'start', requestId: invocation.requestId, version: this.#settings.identity.functionVersion, tracing: this.#tracing(invocation),
    }, invocation.startedAt);
    this.#watchMemory();
    invocation.deadlineTimer = setTimeout(() => this.#onDeadline(invocation), Math.max(0, deadlineMs - Date.now()));
  }

  #onDeadline(invocation: Invocation): void {
    invocation.deadlineTimer = null;
    if (invocation.state === 'running') {
      this.#log.record('timeout', { requestId: invocation.requestId, phase: 'runtime' });
      this.#settle(invocation, 'timeout', null);
      this.#endInvokePhase(invocation);
      // Lambda Managed Instances do not end a timed-out invocation: its code keeps running (README §2b).
      if (this.managedInstances) this.#progress();
      else this.#reset('timeout');
      return;
    }
    if (invocation.state === 'posted' && this.#invokePhase === invocation) {
      // The function timeout bounds runtime + extensions (README §2, "Invoke").
      const late = this.#extensions.filter((e) => e.waiting === null).map((e) => e.name);
      if (late.length === 0) return;
      this.#log.record('timeout', { requestId: invocation.requestId, phase: 'extensions', extensions: late });
      this.#reset('timeout');
    }
  }

  #settle(invocation: Invocation, outcome: InvokeResult['outcome'], post: RuntimePost | null): void {
    if (invocation.result !== null) return;
    const result = invocation.settle(outcome, post);
    this.#reportRuntimeDone(invocation, result, post);
    this.#log.record('invoke-done', {
      requestId: invocation.requestId,
      outcome: result.outcome,
      status: result.status,
      errorType: result.errorType,
    });
  }

  #endInvokePhase(invocation: Invocation): void {
    if (invocation.deadlineTimer !== null) clearTimeout(invocation.deadlineTimer);
    invocation.deadlineTimer = null;
    invocation.state = 'ended';
    this.#reportInvocation(invocation);
    this.#active.delete(invocation.requestId);
    this.#finished.add(invocation.requestId);
    if (this.#invokePhase === invocation) this.#invokePhase = null;
  }

  #applyNextFault(): void {
    if (!this.#faults.has('runtime.next')) return;
    const res = this.#takeRuntimeWaiter();
    if (res === null) return;
    const reply = this.#faults.take('runtime.next');
    if (reply === undefined) return;
    this.#log.record('fault-applied', { route: 'runtime.next', status: reply.status });
    send(res, reply);
  }

  // ── Failures ──────────────────────────────────────────────────────────────

  #onRuntimeExit(process: ManagedProcess, exit: ProcessExit): void {
    this.#log.record('process-exit', exitDetail('runtime', process, exit));
    if (process === this.#runtime) this.#lastRuntimeExit = exit;
    if (process.exitExpected || process !== this.#runtime) return;
    if (this.#pendingInit !== null) {
      this.#failInit(
        new SandboxInitError('process-exited', 'Runtime.ExitError', `the runtime ${describeExit(exit)} during Init`),
      );
      return;
    }
    if (this.#phase === 'ready') this.#crash('runtime', exit);
  }

  #onExtensionExit(extension: ExtensionRecord, exit: ProcessExit): void {
    this.#log.record('process-exit', exitDetail(extension.name, extension.process, exit));
    if (extension.process.exitExpected || !this.#extensions.includes(extension)) return;
    if (extension.waiting !== null) extension.waiting = null;
    if (this.#pendingInit !== null) {
      const reported = extension.reportedError === null ? '' : ` after reporting ${extension.reportedError}`;
      this.#failInit(
        new SandboxInitError(
          'process-exited',
          extension.reportedError ?? 'Extension.Crash',
          `extension ${extension.name} ${describeExit(exit)}${reported} during Init${extension.id === null ? ' (before registering)' : ''}`,
        ),
      );
      return;
    }
    // "Extension crash → environment restarted" (README §2, "Failure").
    if (this.#phase === 'ready') this.#crash(extension.name, exit);
  }

  /** A process died during Invoke: running invocations end as 'crash', then reset with reason `failure`. */
  #crash(name: string, exit: ProcessExit): void {
    this.#log.record('crash', { process: name, code: exit.code, signal: exit.signal });
    this.#reset('failure');
  }

  /**
   * Reset after a timeout or crash: invocations still running end as 'crash',
   * the runtime is killed, extensions get SHUTDOWN with the reason, and the next
   * invocation initialises a new environment (README §2, "Failure").
   */
  #reset(reason: 'timeout' | 'failure'): void {
    if (this.#phase !== 'ready') return;
    this.#phase = 'resetting';
    this.#log.record('reset', { reason });
    for (const invocation of [...this.#active.values()]) {
      if (invocation.state === 'running') this.#settle(invocation, 'crash', null);
      this.#endInvokePhase(invocation);
    }
    this.#invokePhase = null;
    this.#frozen = false;
    this.#resetPromise = this.#teardown(reason, 'SIGKILL')
      .then(() => {
        this.#phase = 'uninitialized';
      })
      .finally(() => {
        this.#resetPromise = null;
        this.#pump();
      });
  }

  // ── Shutdown ──────────────────────────────────────────────────────────────

  async #runShutdown(): Promise<ShutdownReport> {
    this.#stopping = true;
    const gone = new SandboxStateError('the sandbox was shut down before this invocation ran');
    for (const invocation of this.#queue.splice(0)) invocation.fail(gone);
    this.#failInit(new SandboxInitError('aborted', 'Sandbox.ShutDown', 'shutdown() was called during Init'));
    await this.#initPromise?.catch(() => undefined);
    await this.#resetPromise;
    const wasStarted = this.#phase !== 'created';
    this.#phase = 'shutting-down';
    // Shutting down under a running invocation stops its runtime: the caller sees a crash.
    for (const invocation of [...this.#active.values()]) {
      if (invocation.state === 'running') this.#settle(invocation, 'crash', null);
      this.#endInvokePhase(invocation);
    }
    const report = wasStarted
      ? await this.#teardown('spindown', 'SIGTERM')
      : { reason: 'spindown' as const, deadlineMs: Date.now(), extensions: [], runtime: null };
    this.#phase = 'stopped';
    this.#log.record('shutdown-done');
    this.#processes.killAll();
    this.#processes.unhook();
    this.#telemetry.reset();
    return report;
  }

  /**
   * The Shutdown phase, for spindown and for resets: runtime first (SIGTERM then
   * SIGKILL after 300 ms, or SIGKILL at once when no extension is there, as RIE
   * does), then SHUTDOWN to subscribed extensions, SIGKILL for the others, and
   * SIGKILL for whatever still runs at `deadlineMs`.
   */
  async #teardown(reason: ShutdownReason, runtimeSignal: 'SIGTERM' | 'SIGKILL'): Promise<ShutdownReport> {
    const startedAt = now();
    const deadlineMs = Date.now() + this.#settings.shutdownDeadlineMs;
    this.#registrationOpen = false;
    this.#log.record('shutdown', { reason, deadlineMs });
    this.#stopWatchingMemory();
    // What the platform reported so far reaches subscribers before they are told to shut down.
    this.#telemetry.flush();

    let runtimeReport: ProcessExitReport | null = null;
    const runtime = this.#runtime;
    this.#runtime = null;
    if (runtime !== null) {
      if (runtimeSignal === 'SIGTERM' && this.#extensions.length > 0) {
        runtime.signal('SIGTERM');
        if ((await runtime.exitWithin(RUNTIME_SIGTERM_GRACE_MS)) === null) runtime.signal('SIGKILL');
      } else {
        runtime.signal('SIGKILL');
      }
      runtimeReport = exitReport('runtime', runtime, await runtime.exitWithin(KILL_SETTLE_MS), startedAt);
      this.#processes.release(runtime);
    }
    // The runtime's long polls end with it (a test playing the runtime sees its socket close).
    for (const res of this.#runtimeWaiters.splice(0)) res.destroy();

    const extensions = this.#extensions;
    const event = Buffer.from(JSON.stringify({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs }));
    for (const extension of extensions) {
      if (!extension.process.alive) continue;
      extension.process.exitExpected = true;
      if (extension.id !== null && extension.events.has('SHUTDOWN')) this.#deliver(extension, event);
      // Not subscribed to SHUTDOWN: killed at once (RIE shutdownAgents).
      else extension.process.signal('SIGKILL');
    }
    await Promise.all(extensions.map((e) => e.process.exitWithin(deadlineMs - Date.now())));
    for (const extension of extensions) if (extension.process.alive) extension.process.signal('SIGKILL');
    const exits = await Promise.all(extensions.map((e) => e.process.exitWithin(KILL_SETTLE_MS)));
    const reports = extensions.map((e, i) => exitReport(e.name, e.process, exits[i] ?? null, startedAt));
    for (const extension of extensions) {
      extension.waiting?.destroy();
      this.#processes.release(extension.process);
    }
    this.#extensions = [];
    this.#byId.clear();
    return { reason, deadlineMs, extensions: reports, runtime: runtimeReport };
  }

  // ── Telemetry API facts ─────────────────────────────────────────────────

  #initializationType(): string {
    return this.managedInstances ? 'lambda-managed-instances' : 'on-demand';
  }

  #reportInit(status: Status, errorType: string | undefined): void {
    const durationMs = now() - this.#initStartedAt;
    this.#initDurationMs = status === 'success' ? durationMs : null;
    const base = { initializationType: this.#initializationType(), phase: 'init' as const, status, ...(errorType === undefined ? {} : { errorType }) };
    this.#telemetry.report({ kind: 'initRuntimeDone', ...base });
    this.#telemetry.report({ kind: 'initReport', ...base, durationMs });
  }

  #tracing(invocation: Invocation): { spanId: string; value: string } {
    return { spanId: invocation.platformSpanId, value: invocation.traceId };
  }

  /** platform.runtimeDone: the runtime posted, timed out, or died. */
  #reportRuntimeDone(invocation: Invocation, result: InvokeResult, post: RuntimePost | null): void {
    let status: Status = 'success';
    let errorType: string | undefined;
    if (result.outcome === 'error') {
      status = 'error';
      errorType = result.errorType ?? 'Unhandled';
    } else if (result.outcome === 'timeout') {
      status = 'timeout';
      errorType = 'Sandbox.Timedout';
    } else if (result.outcome === 'crash') {
      status = 'error';
      errorType = this.#memoryKilled && this.#settings.outOfMemoryErrorType !== null ? this.#settings.outOfMemoryErrorType : 'Runtime.ExitError';
      // Lambda's own line in the function's log after a runtime died.
      const exit = this.#lastRuntimeExit;
      const how = exit?.signal ? `signal: ${exit.signal === 'SIGKILL' ? 'killed' : exit.signal === 'SIGABRT' ? 'aborted' : exit.signal}` : `exit status ${exit?.code ?? 'unknown'}`;
      this.#telemetry.functionLog(`RequestId: ${invocation.requestId} Error: Runtime exited with error: ${how}`);
      this.#telemetry.functionLog(errorType);
    }
    const request = post?.request;
    const responseStart = request?.at ?? result.endedAt;
    const lastChunk = request?.chunks[request.chunks.length - 1]?.at ?? responseStart;
    invocation.platform = {
      status,
      ...(errorType === undefined ? {} : { errorType }),
      responseStart,
      responseLatencyMs: Math.max(0, responseStart - result.startedAt),
      responseDurationMs: Math.max(0, lastChunk - responseStart),
    };
    this.#telemetry.report({
      kind: 'runtimeDone',
      requestId: invocation.requestId,
      ...invocation.platform,
      durationMs: result.endedAt - result.startedAt,
      producedBytes: result.body.length,
      tracing: this.#tracing(invocation),
    }, result.endedAt);
  }

  /** platform.report, once per invocation, when its invoke phase ends. */
  #reportInvocation(invocation: Invocation): void {
    if (this.#reported.has(invocation.requestId) || invocation.result === null) return;
    this.#reported.add(invocation.requestId);
    const result = invocation.result;
    const platform = invocation.platform ?? {
      status: 'error' as const, errorType: 'Runtime.ExitError', responseStart: result.endedAt, responseLatencyMs: 0, responseDurationMs: 0,
    };
    // durationMs is the runtime's; the bill runs until the extensions are done too (PostRuntimeExtensionsDuration).
    const durationMs = result.endedAt - result.startedAt;
    const phaseMs = now() - invocation.startedAt;
    const memorySizeMB = this.#settings.identity.memoryMb;
    this.#samplePeakMemory();
    const maxMemoryUsedMB = this.#memoryKilled ? memorySizeMB : Math.min(memorySizeMB, Math.max(1, Math.ceil(this.#peakRssMb)));
    const initDurationMs = this.#initDurationMs ?? undefined;
    this.#initDurationMs = null;
    this.#telemetry.report({
      kind: 'report',
      requestId: invocation.requestId,
      ...platform,
      durationMs,
      // Lambda bills by the millisecond, rounded up.
      billedDurationMs: Math.ceil(Math.max(durationMs, phaseMs)),
      memorySizeMB,
      maxMemoryUsedMB,
      ...(initDurationMs === undefined ? {} : { initDurationMs }),
      tracing: this.#tracing(invocation),
    });
  }

  /** Peak resident memory of the runtime and the extensions (VmHWM), in MiB. */
  #samplePeakMemory(): void {
    let total = 0;
    for (const pid of [this.#runtime?.pid, ...this.#extensions.map((e) => e.process.pid)]) {
      if (pid === null || pid === undefined) continue;
      total += readStatusKb(pid, 'VmHWM') / 1024;
    }
    this.#peakRssMb = Math.max(this.#peakRssMb, total);
  }

  /** Enforces the memory size on the runtime while invocations run (the sandbox's OOM killer). */
  #watchMemory(): void {
    if (this.#settings.outOfMemoryErrorType === null || this.#memoryTimer !== null) return;
    const limitKb = this.#settings.identity.memoryMb * (MIB / 1024);
    this.#memoryTimer = setInterval(() => {
      const runtime = this.#runtime;
      if (runtime === null || runtime.pid === null || this.#runningCount() === 0) {
        this.#stopWatchingMemory();
        return;
      }
      if (readStatusKb(runtime.pid, 'VmRSS') <= limitKb) return;
      this.#memoryKilled = true;
      this.#log.record('out-of-memory', { pid: runtime.pid, memoryMb: this.#settings.identity.memoryMb });
      this.#stopWatchingMemory();
      // SIGKILL to the group, as the kernel does; the exit is the runtime's crash.
      try {
        process.kill(-runtime.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }, MEMORY_CHECK_MS);
  }

  #stopWatchingMemory(): void {
    if (this.#memoryTimer !== null) clearInterval(this.#memoryTimer);
    this.#memoryTimer = null;
  }

  // ── Helpers ───────────────────────────────────────────────────────────────

  #deliver(extension: ExtensionRecord, event: Buffer): void {
    const res = extension.waiting;
    extension.waiting = null;
    if (res !== null && sendEvent(res, event)) return;
    extension.queue.push(event);
  }

  #everyoneInNext(): boolean {
    return this.#liveRuntimeWaiters() > 0 && this.#extensions.every((e) => e.waiting !== null);
  }

  #liveRuntimeWaiters(): number {
    return this.#runtimeWaiters.filter(isOpen).length;
  }

  #takeRuntimeWaiter(): ServerResponse | null {
    while (this.#runtimeWaiters.length > 0) {
      const res = this.#runtimeWaiters.shift();
      if (res !== undefined && isOpen(res)) return res;
    }
    return null;
  }

  #runningCount(): number {
    let count = 0;
    for (const invocation of this.#active.values()) if (invocation.state === 'running') count++;
    return count;
  }

  #requireEnvs(): ProcessEnvironments {
    if (this.#envs === null) throw new Error('environments are built at Init');
    return this.#envs;
  }
}

/** A `kB` field of /proc/<pid>/status, 0 when the process is gone. */
function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function isOpen(res: ServerResponse): boolean {
  return !res.writableEnded && !res.destroyed;
}

/** An Extensions API event; RIE adds `Lambda-Extension-Event-Identifier`. */
function sendEvent(res: ServerResponse, event: Buffer): boolean {
  return send(res, {
    status: 200,
    body: event,
    headers: ['Lambda-Extension-Event-Identifier', randomUUID(), 'Content-Type', 'application/json'],
  });
}

function exitReport(name: string, process: ManagedProcess, exit: ProcessExit | null, startedAt: number): ProcessExitReport {
  return {
    name,
    exitCode: exit?.code ?? null,
    signal: exit?.signal ?? null,
    exitedAfterMs: exit === null ? null : Math.max(0, exit.at - startedAt),
    killed: process.killed,
  };
}

function exitDetail(name: string, process: ManagedProcess, exit: ProcessExit): Record<string, string | number | boolean | null> {
  return {
    name,
    pid: process.pid,
    code: exit.code,
    signal: exit.signal,
    expected: process.exitExpected,
    spawnError: exit.spawnError,
  };
}

function describeExit(exit: ProcessExit): string {
  if (exit.spawnError !== null) return `could not be started (${exit.spawnError})`;
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}
