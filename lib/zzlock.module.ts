import { Module, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AcquisitionOutageLog } from './acquisition-outage-log.js';
import { ZZLockHealthIndicator } from './health/zzlock.health-indicator.js';
import { LeadershipRunner } from './leadership/leadership-runner.js';
import { createLockManager } from './lock-manager.factory.js';
import { LockService } from './lock.service.js';
import { LockedExplorer } from './locked.explorer.js';
import { LockedRunner } from './locked-runner.js';
import { ZZLockMetrics } from './metrics/zzlock-metrics.js';
import { ZZLOCK_MANAGER, ZZLOCK_MODULE_OPTIONS, ZZLOCK_OPTIONS } from './zzlock.constants.js';
import { ZZLockConfigurableModule } from './zzlock.module-definition.js';
import { resolveModuleOptions } from './zzlock-module-options.js';

/**
 * Distributed locks on etcd for a Nest application: provides `LockService`, binds every
 * `@Locked`, `@LeaderOnly` and `@OnLeadership` method, campaigns (once the application has
 * bootstrapped) for every election those declare, maps busy routes to 423 (`LockInterceptor`),
 * registers Prometheus metrics when prom-client is installed, provides `ZZLockHealthIndicator` for
 * terminus, and shuts down in two steps (with `app.enableShutdownHooks()` or `app.close()`): in
 * `beforeApplicationShutdown`, before Nest closes the HTTP server, it stops new acquisitions and
 * ends waiting ones (a route waiting for its lock answers 503) and starts stepping down from its
 * elections; in `onApplicationShutdown` it resigns them once their methods have ended, then lets
 * running holders finish (`shutdownGraceMs`), deletes its keys, revokes its leases and closes the
 * etcd client. Global unless `isGlobal: false`.
 *
 * Exports `LockService`, `ZZLockHealthIndicator` and the tokens `ZZLOCK_OPTIONS`,
 * `ZZLOCK_MODULE_OPTIONS` and `ZZLOCK_MANAGER`.
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
    LockedRunner,
    LeadershipRunner,
    LockService,
    LockedExplorer,
    AcquisitionOutageLog,
    ZZLockMetrics,
    ZZLockHealthIndicator,
  ],
  exports: [
    LockService,
    ZZLOCK_MANAGER,
    ZZLOCK_OPTIONS,
    ZZLOCK_MODULE_OPTIONS,
    ZZLockHealthIndicator,
  ],
})
export class ZZLockModule
  extends ZZLockConfigurableModule
  implements BeforeApplicationShutdown, OnApplicationShutdown
{
  /** @param lockService The application's lock service, closed on shutdown. */
  constructor(private readonly lockService: LockService) {
    super();
  }

  /**
   * Runs before Nest closes the HTTP server: refuses new acquisitions and ends the waiting ones
   * with `LockClientClosedError` (503 on a route), so queued requests end and the server can
   * close; starts stepping down from the elections. Locks already held stay held.
   */
  beforeApplicationShutdown(): void {
    this.lockService.stopAcquiring();
  }

  /**
   * Runs after the HTTP server has closed: resigns the elections once their methods have ended
   * (within `shutdownGraceMs`), releases `minHoldMs` locks, lets running holders finish within
   * `shutdownGraceMs`, deletes keys, revokes leases, closes the client.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.lockService.shutdown();
  }
}
