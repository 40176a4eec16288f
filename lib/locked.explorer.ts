import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { LockService } from './lock.service.js';
import { ZZLOCK_INSTANCE_BINDING, ZZLOCK_LOCKED_METADATA } from './zzlock.constants.js';

/**
 * Finds every controller and provider with `@Locked` methods when the module initialises and
 * binds the instance to this application's `LockService` (a hidden Symbol property), so the
 * decorator needs no global singleton and several applications can live in one process.
 * Request-scoped instances cannot be bound and are reported with a warning.
 *
 * @example
 * // Provided by ZZLockModule; nothing to do. A @Locked method called before binding throws a
 * // LockConfigError that says so.
 */
@Injectable()
export class LockedExplorer implements OnModuleInit {
  readonly #logger = new Logger('ZZLock');

  /**
   * @param discovery Lists the application's controllers and providers.
   * @param scanner Lists their methods.
   * @param lockService What `@Locked` methods of bound instances lock through.
   */
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly lockService: LockService,
  ) {}

  /** Binds every instance that has `@Locked` methods. */
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
      if (!wrapper.isDependencyTreeStatic()) {
        this.#logger.warn(
          `Cannot bind @Locked methods of ${wrapper.name} (${locked.join(', ')}): it is not a ` +
            'singleton (request-scoped or transient). Lock inside it with LockService instead.',
        );
        continue;
      }
      Object.defineProperty(instance, ZZLOCK_INSTANCE_BINDING, {
        value: this.lockService,
        configurable: true,
        enumerable: false,
        writable: false,
      });
      this.#logger.debug(`Bound @Locked methods of ${wrapper.name}: ${locked.join(', ')}.`);
    }
  }
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
