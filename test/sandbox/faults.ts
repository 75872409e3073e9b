import type { Reply } from './replies.ts';
import type { RouteName } from './routes.ts';

/**
 * Test-only deviations from normal behaviour. Not something Lambda does on its
 * own, but things a proxy must survive: a failing `/next`, a long poll that
 * stays open.
 */
export class FaultPlan {
  #once = new Map<RouteName, Reply[]>();
  #resets = new Map<RouteName, number>();
  #holds = 0;
  readonly #changed: () => void;

  constructor(changed: () => void) {
    this.#changed = changed;
  }

  /**
   * Answers the next call of `route` with `status`/`body`/`headers` instead of
   * handling it. For `runtime.next`, a `/next` already waiting is answered at once.
   */
  failOnce(route: RouteName, status: number, body: Buffer | string = '', headers: readonly string[] = []): void {
    const reply: Reply = { status, body: Buffer.isBuffer(body) ? body : Buffer.from(body), headers };
    const queue = this.#once.get(route) ?? [];
    queue.push(reply);
    this.#once.set(route, queue);
    this.#changed();
  }

  /**
   * Resets (TCP RST) the connection of the next call of `route` instead of
   * answering it: a connection that broke, as one may across a freeze.
   */
  resetOnce(route: RouteName): void {
    this.#resets.set(route, (this.#resets.get(route) ?? 0) + 1);
    this.#changed();
  }

  /** Whether the next call of `route` is to be reset (and uses up that plan). */
  takeReset(route: RouteName): boolean {
    const left = this.#resets.get(route) ?? 0;
    if (left === 0) return false;
    if (left === 1) this.#resets.delete(route);
    else this.#resets.set(route, left - 1);
    return true;
  }

  /** Takes the planned reply for `route`, if any. */
  take(route: RouteName): Reply | undefined {
    const queue = this.#once.get(route);
    const reply = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#once.delete(route);
    return reply;
  }

  has(route: RouteName): boolean {
    return this.#once.has(route);
  }

  /**
   * Keeps every runtime `/next` pending (no invocation is handed out) until the
   * returned function is called. Invocations queue meanwhile.
   */
  holdNext(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#changed();
    };
  }

  get nextHeld(): boolean {
    return this.#holds > 0;
  }
}
