import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Cron, SchedulerRegistry } from '@nestjs/schedule';
import { LockService, Locked } from '../../lib/index.js';
import { EtcdDataStore } from '../etcd-data.store.js';
import { auditPacket, type RedPacket } from '../packets/red-packet.js';
import { LOCK_SETTINGS, readServerSettings } from '../sample-config.js';

/** What one settlement run recorded in etcd, under `settlement/<tick>/<replica>`. */
export interface SettlementRecord {
  /** The cron tick, as an ISO 8601 time rounded to the second. */
  readonly tick: string;
  /** The replica that ran it. */
  readonly replica: string;
  /** Fencing token of the settlement lock for this run (decimal string). */
  readonly fence: string;
  /** Packets seen. */
  readonly packets: number;
  /** Cents paid out over every packet, by their ledgers. */
  readonly paidOut: number;
  /** Packets whose ledger breaks an invariant (the unlocked twin's doing). */
  readonly unsound: number;
}

/** Prefix of the settlement records under the data prefix. */
const SETTLEMENT_PREFIX = 'settlement/';
/** Name of the cron job in Nest's SchedulerRegistry. */
const SETTLEMENT_JOB = 'settlement';

/**
 * A settlement job every few seconds (`SETTLEMENT_CRON`), on ONE replica per tick: every replica
 * schedules it, `@Locked(…, { onBusy: 'skip' })` lets the first one run and the others skip, and
 * `minHoldMs` keeps the lock past the run so a replica whose cron fires a little late still finds
 * it taken.
 */
@Injectable()
export class SettlementService {
  readonly #logger = new Logger(SettlementService.name);
  readonly #replica: string;

  constructor(
    private readonly store: EtcdDataStore,
    private readonly locks: LockService,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService,
  ) {
    this.#replica = readServerSettings(config).replicaId;
  }

  /** Totals every packet's ledger and records which replica ran this tick. */
  @Cron(LOCK_SETTINGS.settlementCron, { name: SETTLEMENT_JOB })
  @Locked('settlement', {
    ttl: LOCK_SETTINGS.settlementTtlSeconds,
    onBusy: 'skip',
    minHoldMs: LOCK_SETTINGS.settlementMinHoldMs,
  })
  async settle(): Promise<void> {
    // The tick is when the cron fired (before the lock was taken), to the second.
    const firedAt = this.scheduler.getCronJob(SETTLEMENT_JOB).lastDate() ?? new Date();
    const tick = new Date(Math.round(firedAt.getTime() / 1000) * 1000).toISOString();
    const lock = this.locks.current('settlement');
    const packets = [...(await this.store.readAll<RedPacket>('packets/')).values()];
    const audits = packets.map(auditPacket);
    const record: SettlementRecord = {
      tick,
      replica: this.#replica,
      fence: lock.fencingToken.toString(),
      packets: packets.length,
      paidOut: audits.reduce((sum, audit) => sum + audit.granted, 0),
      unsound: audits.filter((audit) => audit.problems.length > 0).length,
    };
    await this.store.create(`${SETTLEMENT_PREFIX}${tick}/${this.#replica}`, record);
    this.#logger.log(
      `settlement tick ${tick} ran on ${this.#replica} (fence ${record.fence}): ` +
        `${record.packets} packets, ${record.paidOut} cents paid out`,
    );
  }

  /** Every recorded run, oldest tick first. */
  async runs(): Promise<SettlementRecord[]> {
    const records = await this.store.readAll<SettlementRecord>(SETTLEMENT_PREFIX);
    return [...records.values()].sort(
      (a, b) => a.tick.localeCompare(b.tick) || a.replica.localeCompare(b.replica),
    );
  }
}
