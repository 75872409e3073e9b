// What the standalone layers' launcher (src/stub, a static Go program that runs
// before Node) hands over in layer-internal variables: the proxy's listening
// socket, bound before it registered, the outcome of that registration, and
// the Telemetry API listener's sockets, bound where sandbox.localdomain
// resolves while the registration was in flight.
// They are removed from the environment at once (takeLauncherHandover). A
// value the launcher would not write counts as not handed over: the extension
// then listens and registers itself, as it does without the launcher (the
// slim layer). The launcher drops these variables from what it inherits, so
// that only its own reach Node.

import { closeSync } from 'node:fs';
import type { Env } from './env-values.ts';

/** The variables: removed from the environment as soon as they are read. */
export const HANDOVER_VARIABLES = [
  '_LRAP_LISTEN_FD', '_LRAP_REGISTER_STATUS', '_LRAP_REGISTER_ID', '_LRAP_REGISTER_BODY', '_LRAP_REGISTER_BROKEN', '_LRAP_TELEMETRY_FDS',
] as const;

export type RegisterHandover =
  /** The launcher did not register (or its variables are unusable): register as usual. */
  | { readonly kind: 'none' }
  /** Lambda answered the launcher's register; a refusal is reported as if it had answered ours. */
  | { readonly kind: 'answered'; readonly status: number; readonly extensionId: string; readonly body: Buffer }
  /**
   * The connection broke after the request may have left, before a whole answer:
   * Lambda may hold a registration whose identifier nobody has. Registering again
   * tells (a refusal then means exactly that).
   */
  | { readonly kind: 'broken'; readonly error: string };

export interface LauncherHandover {
  /** A socket already listening on 127.0.0.1 at the listener port. */
  readonly listenFd: number | undefined;
  readonly register: RegisterHandover;
  /** The Telemetry API listener's sockets; absent: the listener resolves and listens itself. */
  readonly telemetry: TelemetrySockets | undefined;
}

/**
 * Sockets listening on one port, where the Telemetry API listener would have
 * listened (src/telemetry/telemetry-api.ts): on every address sandbox.localdomain
 * resolves to, or on 127.0.0.1 where it does not resolve. The listener takes
 * them; whoever started it closes them if it did not (tracing or platform
 * telemetry off, or failed), so that nothing listens for nobody.
 */
export class TelemetrySockets {
  /** true: on the addresses sandbox.localdomain resolves to; false: it does not resolve, and they are on 127.0.0.1. */
  readonly resolved: boolean;
  #fds: readonly number[] | undefined;

  constructor(resolved: boolean, fds: readonly number[]) {
    this.resolved = resolved;
    this.#fds = fds;
  }

  /** The descriptors, once: they are the taker's to serve on or close. */
  take(): readonly number[] | undefined {
    const fds = this.#fds;
    this.#fds = undefined;
    return fds;
  }

  /** Closes the sockets if nobody took them. */
  closeUntaken(): void {
    for (const fd of this.take() ?? []) {
      try { closeSync(fd); } catch { /* not open: nothing listens there */ }
    }
  }
}

/** Reads the hand-over and removes its variables from `env`, the process environment: nothing after us, nor a child process, is to see them. */
export function takeLauncherHandover(env: Record<string, string | undefined>): LauncherHandover {
  const handover = parseLauncherHandover(env);
  for (const name of HANDOVER_VARIABLES) delete env[name];
  return handover;
}

export function parseLauncherHandover(env: Env): LauncherHandover {
  const fdText = env._LRAP_LISTEN_FD;
  const listenFd = fdText !== undefined && /^\d{1,9}$/.test(fdText) && Number(fdText) > 2 ? Number(fdText) : undefined;
  return { listenFd, register: registerHandover(env), telemetry: telemetrySockets(env._LRAP_TELEMETRY_FDS) };
}

/** `resolved:<fd>,<fd>...` or `loopback:<fd>`, as the launcher writes it; anything else is not handed over. */
function telemetrySockets(text: string | undefined): TelemetrySockets | undefined {
  const match = text === undefined ? null : /^(resolved|loopback):(\d{1,9}(?:,\d{1,9})*)$/.exec(text);
  if (match === null) return undefined;
  const resolved = match[1] === 'resolved';
  const fds = match[2]!.split(',').map(Number);
  if (fds.some((fd) => fd <= 2) || new Set(fds).size !== fds.length || (!resolved && fds.length > 1)) return undefined;
  return new TelemetrySockets(resolved, fds);
}

function registerHandover(env: Env): RegisterHandover {
  const broken = env._LRAP_REGISTER_BROKEN;
  if (broken !== undefined) return { kind: 'broken', error: broken || 'connection broken' };
  const statusText = env._LRAP_REGISTER_STATUS;
  if (statusText === undefined || !/^[1-5]\d\d$/.test(statusText)) return { kind: 'none' };
  return { kind: 'answered', status: Number(statusText), extensionId: env._LRAP_REGISTER_ID ?? '', body: Buffer.from(env._LRAP_REGISTER_BODY ?? '', 'utf8') };
}
