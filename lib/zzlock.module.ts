import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ZZLockHealthIndicator } from './health/zzlock.health-indicator.js';
import { createLockManager } from './lock-manager.factory.js';
import { LockService } from './lock.service.js';
import { LockedExplorer } from './locked.explorer.js';
import { ZZLockMetrics } from './metrics/zzlock-metrics.js';
import { ZZLOCK_MANAGER, ZZLOCK_MODULE_OPTIONS, ZZLOCK_OPTIONS } from './zzlock.constants.js';
import { ZZLockConfigurableModule } from './zzlock.module-definition.js';
import { resolveModuleOptions } from './zzlock-module-options.js';

/**
 * Distributed locks on etcd for a Nest application: provides `LockService`, binds every
 * `@Locked` method, maps busy routes to 423 (`LockInterceptor`), registers Prometheus metrics
 * when prom-client is installed, provides `ZZLockHealthIndicator` for terminus, and on shutdown
 * stops new acquisitions, lets running holders finish (`shutdownGraceMs`), deletes its keys,
 * revokes its leases and closes the etcd client. Global unless `isGlobal: false`.
 *
 * Options are validated at boot: a wrong one fails the boot with a `LockConfigError` naming it.
 *
 * @example
 * @Module({
 *   imports: [ZZLockModule.forRoot({ endpoints: ['http://etcd-0:2379', 'http://etcd-1:2379'], namespace: 'shop/' })],
 * })
 * export class AppModule {}
 *
 * @example
 * ZZLockModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ endpoints: config.getOrThrow<string>('ETCD_ENDPOINTS').split(',') }),
 * });
 *
 * @example
 * ZZLockModule.forRoot({ store: 'memory' }); // unit tests, no etcd
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: ZZLOCK_OPTIONS, useFactory: resolveModuleOptions, inject: [ZZLOCK_MODULE_OPTIONS] },
    { provide: ZZLOCK_MANAGER, useFactory: createLockManager, inject: [ZZLOCK_OPTIONS] },
    LockService,
    LockedExplorer,
    ZZLockMetrics,
    ZZLockHealthIndicator,
  ],
  exports: [LockService, ZZLOCK_MANAGER, ZZLOCK_OPTIONS, ZZLockHealthIndicator],
})
export class ZZLockModule extends ZZLockConfigurableModule implements OnApplicationShutdown {
  /** @param lockService The application's lock service, closed on shutdown. */
  constructor(private readonly lockService: LockService) {
    super();
  }

  /**
   * Runs after the HTTP server stopped taking requests: releases `minHoldMs` locks, lets running
   * holders finish within `shutdownGraceMs`, deletes keys, revokes leases, closes the client.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.lockService.shutdown();
  }
}
