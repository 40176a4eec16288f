import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { ZZLockModule, type ZZLockModuleOptions } from '../lib/index.js';
import { EtcdDataStore } from './etcd-data.store.js';
import { HealthController } from './health/health.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { RedPacketMetrics } from './metrics/red-packet.metrics.js';
import { PacketsController } from './packets/packets.controller.js';
import { PacketsService } from './packets/packets.service.js';
import { LOCK_SETTINGS, readEtcdSettings, readServerSettings } from './sample-config.js';
import { SettlementController } from './settlement/settlement.controller.js';
import { SettlementService } from './settlement/settlement.service.js';
import { PacketSweeper } from './sweeper/packet-sweeper.service.js';
import { SweeperController } from './sweeper/sweeper.controller.js';

/**
 * The sample app: red packets grabbed under a per-packet lock, a settlement cron that runs on one
 * replica per tick, a sweeper of expired packets that runs on the elected leader only, /health and
 * /metrics. Every setting comes from the environment (see
 * `sample-config.ts`); zzlock is configured through `forRootAsync` and `ConfigService`.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true }),
    ScheduleModule.forRoot(),
    TerminusModule,
    ZZLockModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService): ZZLockModuleOptions => {
        const { endpoints, namespace, auth, tls } = readEtcdSettings(config);
        // Each replica proclaims its name in the sweeper election (health and the demo show it).
        const elections = {
          value: readServerSettings(config).replicaId,
          ttl: LOCK_SETTINGS.electionTtlSeconds,
        };
        return { endpoints, namespace, auth, tls, elections };
      },
    }),
  ],
  controllers: [
    PacketsController,
    SettlementController,
    SweeperController,
    HealthController,
    MetricsController,
  ],
  providers: [EtcdDataStore, PacketsService, SettlementService, PacketSweeper, RedPacketMetrics],
})
export class AppModule {}
