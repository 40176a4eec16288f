import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Interval } from '@nestjs/schedule';
import { LeaderOnly, LockService, OnLeadership, type Leadership } from '../../lib/index.js';
import { EtcdDataStore } from '../etcd-data.store.js';
import { PacketsService } from '../packets/packets.service.js';
import type { RedPacket } from '../packets/red-packet.js';
import { LOCK_SETTINGS, readServerSettings } from '../sample-config.js';

/** The election whose leader sweeps. */
export const SWEEPER_ELECTION = 'sweeper';

/**
 * What one replica did under one term of the sweeper election, stored under
 * `sweeper/<term>/<replica>` and updated at each sweep: only the leader of a term ever writes
 * under it.
 */
export interface SweeperTermRecord {
  /** The term (decimal string): the fencing token of the leadership. */
  readonly term: string;
  /** The replica that swept. */
  readonly replica: string;
  /** Sweeps it ran under this term. */
  readonly sweeps: number;
  /** Packets it closed as expired under this term. */
  readonly expired: number;
  /** When it swept first and last (ISO 8601). */
  readonly firstAt: string;
  readonly lastAt: string;
}

/** Prefix of the sweeper records under the data prefix. */
const SWEEPER_PREFIX = 'sweeper/';

/**
 * Closes red packets left open past `PACKET_EXPIRY_SECONDS` and refunds what is left, every
 * `SWEEP_INTERVAL_MS`, on ONE replica: the leader of the `sweeper` election. Every replica
 * schedules the sweep; `@LeaderOnly` runs it on the leader and skips it elsewhere, and the module
 * campaigns, takes over when the leader dies (within `ELECTION_TTL_SECONDS` + 1 s) and hands over
 * at once on a graceful stop. Each close takes the packet's lock like any other close.
 */
@Injectable()
export class PacketSweeper {
  readonly #logger = new Logger(PacketSweeper.name);
  readonly #replica: string;

  constructor(
    private readonly store: EtcdDataStore,
    private readonly packets: PacketsService,
    private readonly locks: LockService,
    config: ConfigService,
  ) {
    this.#replica = readServerSettings(config).replicaId;
  }

  /** Logs each term this replica leads, and its end. */
  @OnLeadership(SWEEPER_ELECTION)
  lead(leadership: Leadership): void {
    this.#logger.log(`${this.#replica} leads the sweeper (term ${leadership.term})`);
    leadership.signal.addEventListener(
      'abort',
      () =>
        this.#logger.log(`${this.#replica} no longer leads the sweeper (term ${leadership.term})`),
      { once: true },
    );
  }

  /** One sweep: closes the expired packets, records the run under the current term. */
  @LeaderOnly(SWEEPER_ELECTION)
  @Interval('packet-sweep', LOCK_SETTINGS.sweepIntervalMs)
  async sweep(): Promise<void> {
    const leadership = this.locks.leadership(SWEEPER_ELECTION);
    if (leadership === null) return; // lost between the check and here
    const expiredBefore = Date.now() - LOCK_SETTINGS.packetExpirySeconds * 1000;
    const open = [...(await this.store.readAll<RedPacket>('packets/')).values()].filter(
      (packet) => !packet.closed && Date.parse(packet.createdAt) < expiredBefore,
    );
    let expired = 0;
    for (const packet of open) {
      if (leadership.signal.aborted) break; // another replica sweeps now
      await this.packets.close(packet.id);
      expired += 1;
    }
    if (expired > 0) this.#logger.log(`${this.#replica} closed ${expired} expired packet(s)`);
    await this.#record(leadership.term, expired);
  }

  /** Every replica's record of every term, oldest term first. */
  async terms(): Promise<SweeperTermRecord[]> {
    const records = await this.store.readAll<SweeperTermRecord>(SWEEPER_PREFIX);
    return [...records.values()].sort(
      (a, b) => Number(BigInt(a.term) - BigInt(b.term)) || a.replica.localeCompare(b.replica),
    );
  }

  async #record(term: bigint, expired: number): Promise<void> {
    const key = `${SWEEPER_PREFIX}${term.toString().padStart(20, '0')}/${this.#replica}`;
    const now = new Date().toISOString();
    const previous = (await this.store.read<SweeperTermRecord>(key))?.value;
    await this.store.overwrite(key, {
      term: term.toString(),
      replica: this.#replica,
      sweeps: (previous?.sweeps ?? 0) + 1,
      expired: (previous?.expired ?? 0) + expired,
      firstAt: previous?.firstAt ?? now,
      lastAt: now,
    } satisfies SweeperTermRecord);
  }
}
