import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { now } from './clock.ts';

export type StdioMode = 'inherit' | 'pipe';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Epoch ms. */
  readonly at: number;
  /** Set when the process could not be started at all (ENOENT, EACCES…). */
  readonly spawnError: string | null;
}

export interface ProcessOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** stdout/stderr of every child by name, across re-inits (a name's output is appended). */
export class OutputStore {
  #streams = new Map<string, { stdout: Buffer[]; stderr: Buffer[] }>();

  append(name: string, stream: 'stdout' | 'stderr', bytes: Buffer): void {
    let entry = this.#streams.get(name);
    if (entry === undefined) {
      entry = { stdout: [], stderr: [] };
      this.#streams.set(name, entry);
    }
    entry[stream].push(bytes);
  }

  get(name: string): ProcessOutput {
    const entry = this.#streams.get(name);
    return {
      stdout: Buffer.concat(entry?.stdout ?? []).toString('utf8'),
      stderr: Buffer.concat(entry?.stderr ?? []).toString('utf8'),
    };
  }
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly stdio: StdioMode;
  readonly output: OutputStore;
  /** Every chunk of stdout/stderr as it arrives (the runtime's become `function` telemetry). */
  readonly onOutput?: (bytes: Buffer) => void;
}

/**
 * One child of the sandbox (an extension or the runtime). It leads its own
 * process group so that a wrapper script's children are signalled with it, the
 * way Lambda's supervisor kills a whole process group.
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number | null;
  readonly startedAt: number;
  readonly exited: Promise<ProcessExit>;
  /** The sandbox ended it on purpose (SHUTDOWN sent, SIGTERM, SIGKILL): its exit is no crash. */
  exitExpected = false;
  /** The sandbox sent SIGKILL. */
  killed = false;
  #exit: ProcessExit | null = null;
  readonly #child: ChildProcess;

  constructor(spec: SpawnSpec) {
    const [file, ...args] = spec.command;
    this.name = spec.name;
    this.startedAt = now();
    this.#child = spawn(file ?? '', args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', spec.stdio, spec.stdio],
    });
    this.pid = this.#child.pid ?? null;
    this.#child.stdout?.on('data', (bytes: Buffer) => {
      spec.output.append(spec.name, 'stdout', bytes);
      spec.onOutput?.(bytes);
    });
    this.#child.stderr?.on('data', (bytes: Buffer) => {
      spec.output.append(spec.name, 'stderr', bytes);
      spec.onOutput?.(bytes);
    });
    this.exited = new Promise<ProcessExit>((resolve) => {
      const settle = (exit: ProcessExit): void => {
        if (this.#exit !== null) return;
        this.#exit = exit;
        resolve(exit);
      };
      // 'exit', not 'close': a grandchild holding the pipes open must not hide the exit.
      this.#child.once('exit', (code, signal) => settle({ code, signal, at: now(), spawnError: null }));
      this.#child.once('error', (err) => {
        if (this.pid === null) settle({ code: null, signal: null, at: now(), spawnError: err.message });
      });
    });
  }

  get exit(): ProcessExit | null {
    return this.#exit;
  }

  get alive(): boolean {
    return this.#exit === null && this.pid !== null;
  }

  /** Signals the whole process group; marks the exit as expected. */
  signal(signal: NodeJS.Signals): void {
    this.exitExpected = true;
    if (signal === 'SIGKILL') this.killed = this.killed || this.alive;
    this.#signalGroup(signal);
  }

  /**
   * SIGKILLs what is left of the process group (grandchildren included) even
   * after the leader exited. Safe to call at any time, synchronous.
   */
  killGroup(): void {
    this.exitExpected = true;
    if (this.alive) this.killed = true;
    this.#signalGroup('SIGKILL');
  }

  /** Resolves with the exit, or null if it has not exited within `ms`. */
  async exitWithin(ms: number): Promise<ProcessExit | null> {
    if (this.#exit !== null) return this.#exit;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), Math.max(0, ms));
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.pid === null) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}

/**
 * Every child the sandbox started, so that none outlives the test process:
 * on `exit` (and on SIGINT/SIGTERM, which skip `exit`) each group is SIGKILLed.
 */
export class ProcessRegistry {
  #live = new Set<ManagedProcess>();
  #hooked = false;

  readonly #killAll = (): void => {
    for (const proc of this.#live) proc.killGroup();
    this.#live.clear();
  };

  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.#killAll();
    this.unhook();
    // Restore the default action (terminate) unless someone else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  start(spec: SpawnSpec): ManagedProcess {
    this.#hook();
    const proc = new ManagedProcess(spec);
    this.#live.add(proc);
    return proc;
  }

  /** SIGKILLs what is left of `proc`'s group and stops tracking it (its pid may be reused later). */
  release(proc: ManagedProcess): void {
    proc.killGroup();
    this.#live.delete(proc);
  }

  /** SIGKILLs every process group still known. */
  killAll(): void {
    this.#killAll();
  }

  unhook(): void {
    if (!this.#hooked) return;
    this.#hooked = false;
    process.off('exit', this.#killAll);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }

  #hook(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    process.on('exit', this.#killAll);
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }
}
