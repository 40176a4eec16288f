import 'reflect-metadata';
import { LockConfigError } from '../core/index.js';
import { electionNameFor, type ElectionMethodDecorator } from './election-decorator.js';
import { decoratedMethod, methodName } from '../method-binding.js';
import { ZZLOCK_ON_LEADERSHIP_METADATA } from '../zzlock.constants.js';

/**
 * What `@OnLeadership` records on its method, under `ZZLOCK_ON_LEADERSHIP_METADATA`.
 *
 * @example
 * const { election } = Reflect.getMetadata(ZZLOCK_ON_LEADERSHIP_METADATA, Ingest.prototype.lead);
 */
export interface OnLeadershipMetadata {
  /** The election whose leadership starts the method. */
  readonly election: string;
  /** The method, as `Class.method`. */
  readonly method: string;
}

/**
 * Calls the method each time this replica becomes the leader of `election`, with the
 * `Leadership`: its `term` (a fencing token), its `value`, `proclaim()`, and a `signal` that
 * aborts when the leadership ends: lost (a `LockLostError` reason), or given up at shutdown
 * (`LockClientClosedError`). Stop leading when it aborts; the method may run as long as the
 * leadership lasts (a consumer loop) or return at once (start something and watch the signal).
 *
 * The leadership is the module's, shared by every `@OnLeadership` and `@LeaderOnly` method of the
 * election: the method returning (or throwing, which is logged) does not end it. Its `resign()`
 * does: the signal of every method aborts, the module resigns and, after a short wait, campaigns
 * again. Shutdown aborts the signal, waits for the method to end (within `shutdownGraceMs`), then
 * resigns before anything else is released, so the next replica takes over at once. After a
 * loss, the module waits for the method to end before it campaigns again: one call at a time.
 *
 * The module campaigns for the election once the application has bootstrapped, with its
 * `elections.value` and `elections.ttl`. The decorator only records metadata (it can go anywhere
 * among the method's decorators); the module finds the method at init.
 *
 * @param election The election's name (the rules of lock names).
 * @throws LockConfigError at class definition for a bad name, a static member or a non-method
 *
 * @example
 * @OnLeadership('ingest')
 * async ingest(leadership: Leadership): Promise<void> {
 *   while (!leadership.signal.aborted) {
 *     await this.stream.consumeBatch({ fence: leadership.term, signal: leadership.signal });
 *   }
 * }
 */
export function OnLeadership(election: string): ElectionMethodDecorator {
  electionNameFor('@OnLeadership', election);
  return <M extends (...args: never[]) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M> => {
    const method = methodName(target, propertyKey);
    const original = decoratedMethod('@OnLeadership', target, propertyKey, descriptor.value);
    const previous = Reflect.getOwnMetadata(ZZLOCK_ON_LEADERSHIP_METADATA, original) as
      OnLeadershipMetadata | undefined;
    if (previous !== undefined) {
      throw new LockConfigError(
        '@OnLeadership',
        `${method}() already has @OnLeadership('${previous.election}'): one election per method`,
        election,
      );
    }
    const metadata: OnLeadershipMetadata = { election, method };
    Reflect.defineMetadata(ZZLOCK_ON_LEADERSHIP_METADATA, metadata, original);
    return descriptor;
  };
}
