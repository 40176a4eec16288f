import { observerErrorMessage } from './errors/messages.js';

/**
 * The event a hook of type `F` is called with.
 * @internal
 */
export type EventOf<F> = F extends ((event: infer E) => void) | undefined ? E : never;

/**
 * Type and code of the Node warning by which {@link reportObserverErrorAsWarning} reports a
 * throwing observer (`process.on('warning', …)` sees them).
 * @internal
 */
export const OBSERVER_WARNING = { type: 'ZZLockWarning', code: 'ZZLOCK_OBSERVER_ERROR' } as const;

/**
 * Reports a throwing observer as one Node warning (`ZZLockWarning`, code
 * `ZZLOCK_OBSERVER_ERROR`), printed once on stderr as a single line: the core has no logger.
 * @internal
 */
export function reportObserverErrorAsWarning(hook: string, error: unknown): void {
  process.emitWarning(observerErrorMessage(hook, error), OBSERVER_WARNING);
}

/**
 * Observers of lock events and the calls of their hooks. Every event is frozen before the first
 * observer sees it, so no observer changes what the next one gets. A hook that throws breaks
 * neither the caller nor the other observers: its first error is handed to `onError`, later
 * errors of the same observer and hook are dropped, and the observer keeps being called.
 * @internal
 *
 * @example
 * const observers = new ObserverSet<LockObserver>((hook, error) => log(hook, error));
 * observers.emit('lost', { name: 'order:7', label: 'order' });
 */
export class ObserverSet<O extends object> {
  readonly #observers: O[] = [];
  /** The hooks of each observer whose error was reported already. */
  readonly #reported = new WeakMap<O, Set<string>>();

  /** @param onError Told of the first error of each observer and hook. */
  constructor(private readonly onError: (hook: keyof O & string, error: unknown) => void) {}

  /** Adds an observer; it is called after those added before it. */
  add(observer: O): void {
    this.#observers.push(observer);
  }

  /** Calls `hook` of every observer that has it with `event`, frozen. */
  emit<K extends keyof O & string>(hook: K, event: EventOf<O[K]>): void {
    Object.freeze(event);
    for (const observer of this.#observers) {
      const call: unknown = observer[hook];
      if (typeof call !== 'function') continue;
      try {
        call.call(observer, event);
      } catch (error) {
        this.#failed(observer, hook, error);
      }
    }
  }

  #failed(observer: O, hook: keyof O & string, error: unknown): void {
    let hooks = this.#reported.get(observer);
    if (hooks === undefined) {
      hooks = new Set();
      this.#reported.set(observer, hooks);
    }
    if (hooks.has(hook)) return;
    hooks.add(hook);
    try {
      this.onError(hook, error);
    } catch {
      // Reporting must not break locking either.
    }
  }
}
