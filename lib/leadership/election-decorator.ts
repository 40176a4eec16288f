import { LockConfigError, validateLockName } from '../core/index.js';

/**
 * What `@LeaderOnly` and `@OnLeadership` return: a method decorator that keeps the method's type.
 * @internal
 */
export type ElectionMethodDecorator = <M extends (...args: never[]) => unknown>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => TypedPropertyDescriptor<M>;

/**
 * The election name a decorator was given, checked when the class is defined (before any etcd
 * call): a string that is a valid lock name, or a `LockConfigError` naming the decorator.
 * @internal
 */
export function electionNameFor(decorator: string, election: unknown): string {
  if (typeof election !== 'string') {
    throw new LockConfigError('election', `${decorator} takes the name of an election`, election);
  }
  validateLockName(election);
  return election;
}
