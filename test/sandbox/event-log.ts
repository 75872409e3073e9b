import { now } from './clock.ts';

export type SandboxEventKind =
  | 'init-start'
  | 'extension-started'
  | 'extension-registered'
  | 'extension-register-refused'
  | 'extensions-registered'
  | 'extension-init-error'
  | 'extension-exit-error'
  | 'runtime-started'
  | 'runtime-init-error'
  | 'init-done'
  | 'init-failed'
  | 'invoke'
  | 'invoke-done'
  | 'freeze'
  | 'thaw'
  | 'timeout'
  | 'crash'
  | 'reset'
  | 'process-exit'
  | 'shutdown'
  | 'shutdown-done'
  | 'restore'
  | 'restore-error'
  | 'fault-applied'
  | 'client-error'
  | 'internal-error'
  | 'telemetry-subscribed'
  | 'telemetry-refused'
  | 'telemetry-delivered'
  | 'out-of-memory';

export type EventDetailValue = string | number | boolean | null | readonly string[];
export type EventDetail = Readonly<Record<string, EventDetailValue>>;

export interface SandboxEvent {
  /** Epoch ms (sub-ms precision). */
  readonly at: number;
  readonly kind: SandboxEventKind;
  readonly detail: EventDetail;
}

export interface WaitOptions {
  /** Only consider entries from this index on (e.g. `sb.events.length` taken earlier). Default 0. */
  fromIndex?: number;
  /** Safety net only; rejects after this long. Default 10 000 ms. */
  timeoutMs?: number;
}

interface Waiter<T> {
  readonly match: (entry: T) => boolean;
  readonly fromIndex: number;
  readonly resolve: (entry: T) => void;
}

/**
 * An append-only list that tests can await: `waitFor` resolves with the first
 * matching entry, already there or still to come, so tests never sleep.
 */
export class AwaitableLog<T> {
  readonly entries: T[] = [];
  readonly #what: string;
  #waiters: Waiter<T>[] = [];

  constructor(what: string) {
    this.#what = what;
  }

  push(entry: T): void {
    this.entries.push(entry);
    this.notify();
  }

  /** Re-checks waiters; call after an entry already in the log changed. */
  notify(): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter<T>[] = [];
    for (const waiter of this.#waiters) {
      const found = this.#find(waiter.match, waiter.fromIndex);
      if (found === undefined) still.push(waiter);
      else waiter.resolve(found);
    }
    this.#waiters = still;
  }

  waitFor(match: (entry: T) => boolean, options: WaitOptions = {}): Promise<T> {
    const fromIndex = options.fromIndex ?? 0;
    const found = this.#find(match, fromIndex);
    if (found !== undefined) return Promise.resolve(found);
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching ${this.#what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter<T> = {
        match,
        fromIndex,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(entry);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #find(match: (entry: T) => boolean, fromIndex: number): T | undefined {
    for (let i = fromIndex; i < this.entries.length; i++) {
      const entry = this.entries[i];
      if (entry !== undefined && match(entry)) return entry;
    }
    return undefined;
  }
}

/** The lifecycle log: what the environment did and when. */
export class EventLog extends AwaitableLog<SandboxEvent> {
  constructor() {
    super('sandbox event');
  }

  record(kind: SandboxEventKind, detail: EventDetail = {}): SandboxEvent {
    const event: SandboxEvent = { at: now(), kind, detail };
    this.push(event);
    return event;
  }
}
