// Child processes of the benchmark: each in its own process group, so a relay
// that forks (socat) or a launcher that execs (sh → node) is ended whole. Every
// group is killed when the benchmark exits, however it exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Last lines of stderr, for an error message when it dies early. */
  stderrTail(): string;
}

const live = new Set<Child>();

export function spawnChild(name: string, command: string, args: readonly string[], env: Record<string, string>): Child {
  const proc = spawn(command, args, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let tail = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (text: string) => { tail = (tail + text).slice(-2000); });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    proc.once('error', (err) => resolve(err.message));
  });
  const child: Child = { name, process: proc, pid: proc.pid, exited, stderrTail: () => tail.trim() };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** SIGKILL to the whole group: the launcher's node, socat's forked relays. */
export function killGroup(child: Child): void {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Waits up to `ms` for a clean exit, then kills the group; resolves once it has ended. */
export async function stopChild(child: Child, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
  await Promise.race([child.exited, late]);
  clearTimeout(timer);
  killGroup(child); // Also reaps anything the child left behind in its group.
  return child.exited;
}

export function killAllChildren(): void {
  for (const child of live) killGroup(child);
}

process.on('exit', killAllChildren);

export { freePort } from '../support/free-port.ts';

export interface MemoryFigures {
  /** Resident set size now, bytes. */
  readonly rss: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  readonly hwm: number;
}

/** From /proc/<pid>/status; undefined once the process is gone. */
export function readMemory(pid: number): MemoryFigures | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resident memory split as the kernel counts it (/proc/<pid>/smaps_rollup, /proc/<pid>/status), bytes. */
export interface FootprintFigures {
  readonly rss: number;
  /** Anonymous pages: the heap, V8's spaces, buffers; what the process itself allocated. */
  readonly anon: number;
  /** File-backed pages: mostly the Node binary's text, shared with any other node on the box. */
  readonly file: number;
  /** VmHWM. */
  readonly hwm: number;
}

export function readFootprint(pid: number): FootprintFigures | undefined {
  let rollup: string;
  let status: string;
  try {
    rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (text: string, field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  const rss = kb(rollup, 'Rss');
  const anon = kb(rollup, 'Anonymous');
  return { rss, anon, file: rss - anon, hwm: kb(status, 'VmHWM') };
}

/** Anonymous RSS alone (smaps_rollup), for sampling. */
export function readAnonymous(pid: number): number | undefined {
  try {
    const m = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The node process behind a launcher. The shipped launcher is `sh` that `exec`s
 * node (same pid), but a launcher that forks would leave node as its child:
 * follow children until a process named node turns up.
 */
/** CPU time a process has used so far (user and system), ms; undefined when it is gone. */
export function readCpuMs(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 1000 / CLOCK_TICKS_PER_SECOND;
    return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
  } catch {
    return undefined;
  }
}

/**
 * CPU time of all the process's threads in ms, to the nanosecond (the scheduler's
 * /proc/<pid>/task/<tid>/schedstat): /proc/<pid>/stat counts in 10 ms ticks, too coarse
 * for one start-up or a few cycles. Threads that have ended are not counted.
 */
export function readThreadsCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux Lambda runs on (and on this machine). */
const CLOCK_TICKS_PER_SECOND = 100;

export function findNodePid(pid: number): number | undefined {
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    // Not /proc/<pid>/comm: node names its main thread "MainThread".
    if (executableName(current) === 'node') return current;
    const children = readProcText(`/proc/${current}/task/${current}/children`);
    if (children) queue.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return undefined;
}

function executableName(pid: number): string | undefined {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
}

function readProcText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Rejects with `what` when `promise` has not settled within `ms`: a hung proxy must not hang the benchmark. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
