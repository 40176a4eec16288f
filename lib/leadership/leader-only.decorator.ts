import 'reflect-metadata';
import { LockConfigError } from '../core/index.js';
import { electionNameFor, type ElectionMethodDecorator } from './election-decorator.js';
import type { LeadershipRunner } from './leadership-runner.js';
import { boundRunners, methodName, wrapMethod } from '../method-binding.js';
import { ZZLOCK_LEADER_ONLY_METADATA } from '../zzlock.constants.js';

/**
 * What `@LeaderOnly` records on the method it wraps, under `ZZLOCK_LEADER_ONLY_METADATA`.
 *
 * @example
 * const { election } = Reflect.getMetadata(ZZLOCK_LEADER_ONLY_METADATA, Ingest.prototype.poll);
 */
export interface LeaderOnlyMetadata {
  /** The election whose leader alone runs the method. */
  readonly election: string;
  /** The wrapped method, as `Class.method`. */
  readonly method: string;
}

/**
 * Runs the method only on the replica that currently leads the election `election`: `@Cron` and
 * `@Interval` jobs, plain provider methods, message handlers. Everywhere else a call does not run
 * the method: it resolves `undefined`, is logged at debug and counted in
 * `zzlock_leader_only_skipped_total`, like `@Locked`'s `onBusy: 'skip'`. The method always
 * returns a Promise.
 *
 * Declaring the election is enough: `ZZLockModule` campaigns for it once the application has
 * bootstrapped (with the module's `elections.value` and `elections.ttl`), campaigns again after a
 * loss, and resigns at shutdown before anything else is released, so the next replica takes over
 * at once. Shutdown waits (within `shutdownGraceMs`) for the calls still running before it
 * resigns, so two replicas never run the method at once by handing over.
 *
 * It wraps the method itself and keeps its metadata and name, so it can be written above or below
 * `@Cron`, `@Interval`, `@Locked` and the like. A leader can lose its leadership while a call runs
 * (its lease could not be renewed in time): inside the method, `lockService.leadership(election)`
 * gives the term, a fencing token for what the method writes, and a `signal` that tells.
 *
 * @param election The election's name (the rules of lock names).
 * @throws LockConfigError at class definition for a bad name, a static member or a non-method
 *
 * @example
 * @Cron(CronExpression.EVERY_MINUTE)
 * @LeaderOnly('settlement')
 * async settle(): Promise<void> { … } // once a minute, on the leader only
 */
export function LeaderOnly(election: string): ElectionMethodDecorator {
  electionNameFor('@LeaderOnly', election);
  return <M extends (...args: never[]) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M> => {
    const method = methodName(target, propertyKey);
    const previous: unknown =
      typeof descriptor.value === 'function'
        ? Reflect.getOwnMetadata(ZZLOCK_LEADER_ONLY_METADATA, descriptor.value)
        : undefined;
    if (previous !== undefined) {
      throw new LockConfigError(
        '@LeaderOnly',
        `${method}() already has @LeaderOnly('${(previous as LeaderOnlyMetadata).election}'): ` +
          'one election per method',
        election,
      );
    }
    const metadata: LeaderOnlyMetadata = { election, method };
    const wrapper = wrapMethod(
      '@LeaderOnly',
      target,
      propertyKey,
      descriptor.value,
      ZZLOCK_LEADER_ONLY_METADATA,
      metadata,
      (wrapped) =>
        function (this: unknown, ...args: unknown[]): Promise<unknown> {
          let runner: LeadershipRunner;
          try {
            runner = boundRunners(this, '@LeaderOnly', method).leadership;
          } catch (error) {
            return Promise.reject(error);
          }
          return runner.runIfLeading(metadata, () => wrapped.apply(this, args));
        },
    );
    descriptor.value = wrapper as unknown as M;
    return descriptor;
  };
}
