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
import { readEtcdSettings } from './sample-config.js';
import { SettlementController } from './settlement/settlement.controller.js';
import { SettlementService } from './settlement/settlement.service.js';

/**
 * The sample app: red packets grabbed under a per-packet lock, a settlement cron that runs on one
 * replica per tick, /health and /metrics. Every setting comes from the environment (see
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
        return { endpoints, namespace, auth, tls };
      },
    }),
  ],
  controllers: [PacketsController, SettlementController, HealthController, MetricsController],
  providers: [EtcdDataStore, PacketsService, SettlementService, RedPacketMetrics],
})
export class AppModule {}
