import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { LockService } from './lock.service.js';
import { LockedRunner } from './locked-runner.js';
import { ZZLOCK_INSTANCE_BINDING, ZZLOCK_LOCKED_METADATA } from './zzlock.constants.js';

/** A controller or provider as DiscoveryService lists it. */
type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];
/** A Nest module as the container holds it (its host's type). */
type NestModule = NonNullable<InstanceWrapper['host']>;

/**
 * Finds every controller and provider with `@Locked` methods when the module initialises and
 * binds the instance to the `@Locked` runner of a `ZZLockModule` (a hidden Symbol property), so
 * the decorator needs no global singleton and several applications can live in one process.
 *
 * Each instance is bound to the runner beside the `LockService` its own module would be injected
 * with (Nest's lookup: the module's providers, then its imports and what they re-export, global
 * modules last), so two `ZZLockModule.forRoot({ isGlobal: false })` in two feature modules each
 * lock their own module's methods. An instance whose module sees no `LockService` is bound to the
 * first `ZZLockModule` that initialises; if another one finds it bound already, it keeps the
 * first binding and warns. Request-scoped instances cannot be bound and are reported with a
 * warning.
 *
 * @example
 * // Provided by ZZLockModule; nothing to do. A @Locked method called before binding throws a
 * // LockConfigError that says so.
 * @internal
 */
@Injectable()
export class LockedExplorer implements OnModuleInit {
  readonly #logger = new Logger('ZZLock');

  /**
   * @param discovery Lists the application's controllers and providers.
   * @param scanner Lists their methods.
   * @param lockService This module's LockService: the instances whose module sees it are bound.
   * @param runner This module's `@Locked` runner, which bound instances run through.
   */
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly lockService: LockService,
    private readonly runner: LockedRunner,
  ) {}

  /** Binds every instance with `@Locked` methods whose module sees this explorer's LockService. */
  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (instance === null || typeof instance !== 'object') continue;
      const prototype: unknown = Object.getPrototypeOf(instance);
      if (prototype === null || typeof prototype !== 'object') continue;
      const locked = this.scanner
        .getAllMethodNames(prototype)
        .filter((name) => isLockedAnywhere(prototype, name));
      if (locked.length === 0) continue;
      const seen = wrapper.host === undefined ? undefined : lockServiceSeenBy(wrapper.host);
      if (seen !== undefined && seen !== this.lockService) continue; // its module's explorer binds it
      if (!wrapper.isDependencyTreeStatic()) {
        this.#logger.warn(
          `Cannot bind @Locked methods of ${wrapper.name} (${locked.join(', ')}): it is not a ` +
            'singleton (request-scoped or transient). Lock inside it with LockService instead.',
        );
        continue;
      }
      const bound = (instance as { [ZZLOCK_INSTANCE_BINDING]?: LockedRunner })[
        ZZLOCK_INSTANCE_BINDING
      ];
      if (bound === this.runner) continue;
      if (bound !== undefined) {
        this.#logger.warn(
          `@Locked methods of ${wrapper.name} (${locked.join(', ')}) stay bound to the LockService ` +
            'of the ZZLockModule that found them first: its module imports no ZZLockModule and the ' +
            'application has several. Use one ZZLockModule per application, or import the one ' +
            `it should use into the module of ${wrapper.name}.`,
        );
        continue;
      }
      Object.defineProperty(instance, ZZLOCK_INSTANCE_BINDING, {
        value: this.runner,
        configurable: true,
        enumerable: false,
        writable: false,
      });
      this.#logger.debug(`Bound @Locked methods of ${wrapper.name}: ${locked.join(', ')}.`);
    }
  }
}

/**
 * The LockService instance that injecting `LockService` in `module` resolves to, following
 * Nest's own lookup (the module's providers, then each import that exports it, through the
 * modules those imports re-export), or `undefined` when the module sees none.
 */
function lockServiceSeenBy(module: NestModule): unknown {
  const own = module.providers.get(LockService);
  if (own !== undefined) return own.instance;
  return lookUpImports(module, new Set([module.id]), false);
}

function lookUpImports(module: NestModule, visited: Set<string>, traversing: boolean): unknown {
  for (const imported of module.imports) {
    if (!imported) continue;
    if (traversing && !module.exports.has(imported.metatype)) continue;
    if (visited.has(imported.id)) continue;
    visited.add(imported.id);
    const provided = imported.providers.get(LockService);
    if (provided !== undefined && imported.exports.has(LockService)) return provided.instance;
    const found = lookUpImports(imported, visited, true);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** True when `name` is a `@Locked` method at any level of the prototype chain (overrides too). */
function isLockedAnywhere(prototype: object, name: string): boolean {
  for (
    let level: object | null = prototype;
    level !== null && level !== Object.prototype;
    level = Object.getPrototypeOf(level) as object | null
  ) {
    const value: unknown = Object.getOwnPropertyDescriptor(level, name)?.value;
    if (typeof value === 'function' && Reflect.hasOwnMetadata(ZZLOCK_LOCKED_METADATA, value)) {
      return true;
    }
  }
  return false;
}
