// The processes `make e2e` runs inside e2e.sh's namespaces: Jaeger, the collectors and one RIE
// instance at a time. Each logs to its own file; a process that dies early says so, with the tail
// of its log.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR } from './tools.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last lines of a log file, for failure messages. */
export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}

export class Service {
  readonly name: string;
  readonly log: string;
  readonly #child: ChildProcess;
  #exit: number | string | undefined;
  readonly #exited: Promise<void>;

  private constructor(name: string, log: string, child: ChildProcess) {
    this.name = name;
    this.log = log;
    this.#child = child;
    this.#exited = once(child, 'exit').then(([code, signal]) => {
      this.#exit = (code as number | null) ?? (signal as string);
    });
  }

  /** Starts `command args` with exactly `env` (nothing inherited), output appended to `log`. */
  static start(name: string, log: string, command: string, args: string[], env: Record<string, string>): Service {
    const fd = openSync(log, 'a');
    try {
      const child = spawn(command, args, { env, stdio: ['ignore', fd, fd] });
      return new Service(name, log, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exitStatus(): number | string | undefined {
    return this.#exit;
  }

  /** Resolves once `url` gives any HTTP answer; throws when the process exits first or after `ms`. */
  async waitForHttp(url: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.#exit !== undefined) {
        throw new Error(`${this.name} exited (${this.#exit}) before answering at ${url}; ${this.log}:\n${tail(this.log)}`);
      }
      try {
        await (await fetch(url, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
        return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not answer at ${url} within ${ms} ms; ${this.log}:\n${tail(this.log)}`);
      await sleep(100);
    }
  }

  /** SIGTERM to `pid` (default: the process itself), then waits; SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000, pid = this.#child.pid): Promise<void> {
    if (this.#exit !== undefined || pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  get exited(): Promise<void> {
    return this.#exited;
  }
}

export const RIE_INVOKE_URL = 'http://127.0.0.1:8080/2015-03-31/functions/function/invocations';

export interface InvokeResult {
  readonly status: number;
  readonly body: Buffer;
  /** When the request was sent and when the whole answer was in (epoch ms). */
  readonly sentAt: number;
  readonly doneAt: number;
}

/**
 * One aws-lambda-rie on 127.0.0.1:8080, as PID 1 of its own PID namespace (rie-instance.sh), so
 * that stopping it ends every process the function and the extension started.
 */
export class RieInstance {
  readonly #service: Service;

  private constructor(service: Service) {
    this.#service = service;
  }

  get log(): string {
    return this.#service.log;
  }

  static async start(logDir: string, env: Record<string, string>, command: string[]): Promise<RieInstance> {
    const log = join(logDir, 'rie.log');
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const service = Service.start('aws-lambda-rie', log, 'unshare',
      ['--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private', join(E2E_DIR, 'rie-instance.sh'), log, ...vars, '--', ...command],
      { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const rie = new RieInstance(service);
    try {
      await service.waitForHttp('http://127.0.0.1:8080/', 30_000);
    } catch (e) {
      await rie.stop();
      throw e;
    }
    return rie;
  }

  /** One invocation; RIE takes the invocation id from X-Amzn-RequestId. Never two at once: RIE crashes. */
  async invoke(requestId: string, event: Buffer | string, timeoutMs = 60_000): Promise<InvokeResult> {
    const sentAt = Date.now();
    const r = await fetch(RIE_INVOKE_URL, {
      method: 'POST', body: event, headers: { 'X-Amzn-RequestId': requestId }, signal: AbortSignal.timeout(timeoutMs),
    });
    const body = Buffer.from(await r.arrayBuffer());
    return { status: r.status, body, sentAt, doneAt: Date.now() };
  }

  /** SIGTERM to RIE (through rie-instance.sh, PID 1 of the namespace): the environment shuts down. */
  async stop(): Promise<void> {
    const pid = this.#service.pid;
    let inner: number | undefined;
    if (pid !== undefined) {
      try {
        inner = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
      } catch {
        inner = undefined;
      }
    }
    await this.#service.stop(10_000, inner ?? pid);
  }
}
