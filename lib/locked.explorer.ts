import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { Leadership } from './core/index.js';
import type { LeaderOnlyMetadata } from './leadership/leader-only.decorator.js';
import { LeadershipRunner } from './leadership/leadership-runner.js';
import type { OnLeadershipMetadata } from './leadership/on-leadership.decorator.js';
import { LockService } from './lock.service.js';
import { LockedRunner } from './locked-runner.js';
import type { DecoratorRunners } from './method-binding.js';
import {
  ZZLOCK_INSTANCE_BINDING,
  ZZLOCK_LEADER_ONLY_METADATA,
  ZZLOCK_LOCKED_METADATA,
  ZZLOCK_ON_LEADERSHIP_METADATA,
} from './zzlock.constants.js';

/** A controller or provider as DiscoveryService lists it. */
type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];
/** A Nest module as the container holds it (its host's type). */
type NestModule = NonNullable<InstanceWrapper['host']>;

/** A method with zzlock decorators, and what they record. */
interface DecoratedMethod {
  readonly name: string;
  readonly leaderOnly?: LeaderOnlyMetadata;
  readonly onLeadership?: OnLeadershipMetadata;
}

/**
 * The one explorer of zzlock's decorators: when the module initialises, it finds every controller
 * and provider with `@Locked`, `@LeaderOnly` or `@OnLeadership` methods and binds the instance to
 * the runners of a `ZZLockModule` (a hidden Symbol property), so the decorators need no global
 * singleton and several applications can live in one process; it declares the elections of
 * `@LeaderOnly` methods and hands the `@OnLeadership` methods to the module's leadership runner.
 *
 * Each instance is bound to the runners beside the `LockService` its own module would be injected
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
  readonly #runners: DecoratorRunners;

  /**
   * @param discovery Lists the application's controllers and providers.
   * @param scanner Lists their methods.
   * @param lockService This module's LockService: the instances whose module sees it are bound.
   * @param runner This module's `@Locked` runner, which bound instances run through.
   * @param leadership This module's `@LeaderOnly` and `@OnLeadership` runner.
   */
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly lockService: LockService,
    runner: LockedRunner,
    private readonly leadership: LeadershipRunner,
  ) {
    this.#runners = Object.freeze({ locked: runner, leadership });
  }

  /** Binds every instance with zzlock decorators whose module sees this explorer's LockService. */
  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (instance === null || typeof instance !== 'object') continue;
      const prototype: unknown = Object.getPrototypeOf(instance);
      if (prototype === null || typeof prototype !== 'object') continue;
      const decorated = this.scanner.getAllMethodNames(prototype).flatMap((name) => {
        const found = decoratedAnywhere(prototype, name);
        return found === undefined ? [] : [found];
      });
      if (decorated.length === 0) continue;
      const names = decorated.map(({ name }) => name).join(', ');
      const seen = wrapper.host === undefined ? undefined : lockServiceSeenBy(wrapper.host);
      if (seen !== undefined && seen !== this.lockService) continue; // its module's explorer binds it
      if (!wrapper.isDependencyTreeStatic()) {
        this.#logger.warn(
          `Cannot bind @Locked, @LeaderOnly or @OnLeadership methods of ${wrapper.name} (${names}): ` +
            'it is not a singleton (request-scoped or transient). Lock or campaign inside it with ' +
            'LockService instead.',
        );
        continue;
      }
      const bound = (instance as { [ZZLOCK_INSTANCE_BINDING]?: DecoratorRunners })[
        ZZLOCK_INSTANCE_BINDING
      ];
      if (bound === this.#runners) continue;
      if (bound !== undefined) {
        this.#logger.warn(
          `@Locked, @LeaderOnly or @OnLeadership methods of ${wrapper.name} (${names}) stay bound ` +
            'to the LockService of the ZZLockModule that found them first: its module imports no ' +
            'ZZLockModule and the application has several. Use one ZZLockModule per application, ' +
            `or import the one it should use into the module of ${wrapper.name}.`,
        );
        continue;
      }
      Object.defineProperty(instance, ZZLOCK_INSTANCE_BINDING, {
        value: this.#runners,
        configurable: true,
        enumerable: false,
        writable: false,
      });
      for (const { name, leaderOnly, onLeadership } of decorated) {
        if (leaderOnly !== undefined) this.leadership.declare(leaderOnly.election);
        if (onLeadership === undefined) continue;
        const target = instance as Record<string, (leadership: Leadership) => unknown>;
        this.leadership.addHandler(onLeadership.election, {
          method: onLeadership.method,
          call: (leadership) => target[name]!(leadership),
        });
      }
      this.#logger.debug(`Bound zzlock decorated methods of ${wrapper.name}: ${names}.`);
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

/**
 * What zzlock's decorators recorded on method `name`, at the first level of the prototype chain
 * that has it (so an override without the decorators is found too), or `undefined`.
 */
function decoratedAnywhere(prototype: object, name: string): DecoratedMethod | undefined {
  const found = (key: string): unknown => {
    for (
      let level: object | null = prototype;
      level !== null && level !== Object.prototype;
      level = Object.getPrototypeOf(level) as object | null
    ) {
      const value: unknown = Object.getOwnPropertyDescriptor(level, name)?.value;
      if (typeof value === 'function' && Reflect.hasOwnMetadata(key, value)) {
        return Reflect.getOwnMetadata(key, value);
      }
    }
    return undefined;
  };
  const locked = found(ZZLOCK_LOCKED_METADATA);
  const leaderOnly = found(ZZLOCK_LEADER_ONLY_METADATA) as LeaderOnlyMetadata | undefined;
  const onLeadership = found(ZZLOCK_ON_LEADERSHIP_METADATA) as OnLeadershipMetadata | undefined;
  if (locked === undefined && leaderOnly === undefined && onLeadership === undefined) {
    return undefined;
  }
  return { name, leaderOnly, onLeadership };
}
