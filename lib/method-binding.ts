import 'reflect-metadata';
import { LockConfigError } from './core/index.js';
import type { LeadershipRunner } from './leadership/leadership-runner.js';
import type { LockedRunner } from './locked-runner.js';
import { ZZLOCK_INSTANCE_BINDING } from './zzlock.constants.js';

/**
 * The runtimes of one `ZZLockModule` that its method-wrapping decorators call: the explorer binds
 * an instance to them (a hidden Symbol property), and `@Locked` and `@LeaderOnly` wrappers look
 * them up on `this`, so no decorator needs a global singleton and several applications can live
 * in one process.
 * @internal not exported from the package
 */
export interface DecoratorRunners {
  /** Runs `@Locked` calls. */
  readonly locked: LockedRunner;
  /** Runs `@LeaderOnly` calls and the module's candidacies. */
  readonly leadership: LeadershipRunner;
}

/**
 * A method as a decorator finds it on a prototype.
 * @internal
 */
export type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The wrapper that takes the place of a decorated method: made by `wrap` from the original,
 * carrying over what the decorators applied before it recorded on the original (`@Cron`, `@Get`,
 * another zzlock decorator) and the original's name, with `metadata` recorded under `key`.
 * Decorators applied after it record on the wrapper itself: so a wrapping decorator works above
 * or below the others.
 * @throws LockConfigError when the target is static or not a method
 * @internal
 * @example
 * descriptor.value = wrapMethod('@LeaderOnly', target, key, descriptor.value, META, metadata,
 *   (original) => function (this: unknown, ...args: unknown[]) { … });
 */
export function wrapMethod(
  decorator: string,
  target: object,
  propertyKey: string | symbol,
  original: unknown,
  key: string,
  metadata: unknown,
  wrap: (original: AnyMethod) => AnyMethod,
): AnyMethod {
  const method = decoratedMethod(decorator, target, propertyKey, original);
  const wrapper = wrap(method);
  for (const metadataKey of Reflect.getOwnMetadataKeys(method)) {
    Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, method), wrapper);
  }
  Object.defineProperty(wrapper, 'name', { value: method.name, configurable: true });
  Reflect.defineMetadata(key, metadata, wrapper);
  return wrapper;
}

/**
 * The method a decorator was put on (`descriptor.value`), checked to be an instance method.
 * @throws LockConfigError naming `decorator` when it is static or not a method
 * @internal
 */
export function decoratedMethod(
  decorator: string,
  target: object,
  propertyKey: string | symbol,
  original: unknown,
): AnyMethod {
  const method = methodName(target, propertyKey);
  if (typeof target === 'function') {
    throw new LockConfigError(decorator, 'decorates instance methods, not static ones', method);
  }
  if (typeof original !== 'function') {
    throw new LockConfigError(decorator, 'decorates methods only', method);
  }
  return original as AnyMethod;
}

/**
 * `Class.method`, as errors, logs and events name a decorated method.
 * @internal
 */
export function methodName(target: object, propertyKey: string | symbol): string {
  const owner =
    typeof target === 'function' ? target.name : (target.constructor?.name ?? 'anonymous');
  return `${owner || 'anonymous'}.${String(propertyKey)}`;
}

/**
 * The runners the explorer bound to `instance` (those of the ZZLockModule whose LockService its
 * module sees), or a LockConfigError that explains.
 * @throws LockConfigError naming `decorator` when the instance is not bound
 * @internal
 */
export function boundRunners(
  instance: unknown,
  decorator: string,
  method: string,
): DecoratorRunners {
  const runners =
    instance !== null && (typeof instance === 'object' || typeof instance === 'function')
      ? (instance as { [ZZLOCK_INSTANCE_BINDING]?: DecoratorRunners })[ZZLOCK_INSTANCE_BINDING]
      : undefined;
  if (runners === undefined) {
    throw new LockConfigError(
      decorator,
      `${method}() ran on an instance that ZZLockModule has not bound to its LockService. ` +
        'Import ZZLockModule.forRoot() in the application, make the class a controller or a ' +
        'singleton provider (not request-scoped, not created with new), call it with its instance ' +
        'as `this`, and not before the application has initialised',
      method,
    );
  }
  return runners;
}
