import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LockInterceptor } from './lock.interceptor.js';
import { ZZLOCK_MODULE_OPTIONS, ZZLOCK_NEST_DEFAULTS } from './zzlock.constants.js';
import type { ZZLockModuleOptions } from './zzlock-module-options.js';

/**
 * Settings of `ZZLockModule.forRoot()` / `forRootAsync()` that shape the module itself rather
 * than the locks. Given next to the options (`forRoot({ endpoints, isGlobal: false })`) or next to
 * `useFactory` in `forRootAsync`.
 *
 * @example
 * ZZLockModule.forRoot({ endpoints, isGlobal: false, interceptor: false });
 */
export interface ZZLockModuleExtras {
  /**
   * Registers the module globally, so every module can inject `LockService` and every provider's
   * `@Locked` methods are bound without importing the module again.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Registers `LockInterceptor` as a global interceptor (`APP_INTERCEPTOR`), so HTTP routes answer
   * 423 Locked when their lock is busy. Set `false` to register it yourself.
   * @default true
   */
  interceptor?: boolean;
}

const builder = new ConfigurableModuleBuilder<ZZLockModuleOptions>({
  optionsInjectionToken: ZZLOCK_MODULE_OPTIONS,
  moduleName: 'ZZLock',
})
  .setClassMethodName('forRoot')
  .setExtras<ZZLockModuleExtras>(
    { isGlobal: ZZLOCK_NEST_DEFAULTS.isGlobal, interceptor: ZZLOCK_NEST_DEFAULTS.interceptor },
    (definition, extras) => {
      const interceptor: Provider[] =
        (extras.interceptor ?? ZZLOCK_NEST_DEFAULTS.interceptor)
          ? [{ provide: APP_INTERCEPTOR, useClass: LockInterceptor }]
          : [];
      return {
        ...definition,
        global: extras.isGlobal ?? ZZLOCK_NEST_DEFAULTS.isGlobal,
        providers: [...(definition.providers ?? []), ...interceptor],
      };
    },
  );

const definition = builder.build();

/**
 * Base class of `ZZLockModule`, with the generated `forRoot()` and `forRootAsync()`.
 * @internal
 */
export const ZZLockConfigurableModule = definition.ConfigurableModuleClass;

/**
 * Type of the argument of `ZZLockModule.forRoot()`: the options and the extras.
 *
 * @example
 * const options: ZZLockForRootOptions = { endpoints: ['http://127.0.0.1:2379'], isGlobal: false };
 */
export type ZZLockForRootOptions = typeof definition.OPTIONS_TYPE;

/**
 * Type of the argument of `ZZLockModule.forRootAsync()`: `imports`, `inject`, and `useFactory`,
 * `useClass` or `useExisting`, plus the extras.
 *
 * @example
 * const options: ZZLockForRootAsyncOptions = {
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ endpoints: config.getOrThrow('ETCD_ENDPOINTS') }),
 * };
 */
export type ZZLockForRootAsyncOptions = typeof definition.ASYNC_OPTIONS_TYPE;

/**
 * A class that `forRootAsync({ useClass })` instantiates to build the options.
 *
 * @example
 * @Injectable()
 * class LockConfig implements ZZLockOptionsFactory {
 *   create(): ZZLockModuleOptions {
 *     return { endpoints: process.env.ETCD_ENDPOINTS!.split(',') };
 *   }
 * }
 */
export interface ZZLockOptionsFactory {
  /** Builds the module options. */
  create(): ZZLockModuleOptions | Promise<ZZLockModuleOptions>;
}
