import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { BadRequestException, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LockService, type LockHandle } from '../../lib/index.js';
import { EtcdDataStore } from '../etcd-data.store.js';
import { RedPacketMetrics } from '../metrics/red-packet.metrics.js';
import { LOCK_SETTINGS, readServerSettings } from '../sample-config.js';
import { packetConflict, packetNotFound } from './packet-errors.js';
import {
  closedPacket,
  drawShare,
  isExhausted,
  newPacket,
  PacketInputError,
  withGrant,
  type PacketGrant,
  type RedPacket,
} from './red-packet.js';

/** Resolution of the random share draw: shares are drawn as `randomInt(0, DRAW_SCALE) / DRAW_SCALE`. */
const DRAW_SCALE = 1_000_000;

/** The lock of one packet: per-entity key, so different packets are grabbed in parallel. */
export function packetLockName(id: string): string {
  return `packet:${id}`;
}

/** Metric label of every packet lock: the template, never the per-packet key. */
export const PACKET_LOCK_LABEL = 'packet:{id}';

/** What a successful grab answers. */
export interface GrabResult {
  /** The grab request's id, as written in the packet's ledger. */
  readonly grabId: string;
  /** Cents granted. */
  readonly amount: number;
  /** Cents left in the packet after this grab. */
  readonly remaining: number;
  /** Shares left after this grab. */
  readonly sharesLeft: number;
  /** The replica that served it. */
  readonly replica: string;
  /** Fencing token the write carried (decimal string), `'none'` for an unlocked grab. */
  readonly fence: string;
}

/**
 * Red packets: create, grab a random share (locked and fenced, or the unlocked twin), close.
 * Packets live in etcd as plain JSON under `packets/<id>` of the app's data prefix.
 */
@Injectable()
export class PacketsService {
  readonly #replica: string;

  constructor(
    private readonly store: EtcdDataStore,
    private readonly locks: LockService,
    private readonly metrics: RedPacketMetrics,
    config: ConfigService,
  ) {
    this.#replica = readServerSettings(config).replicaId;
  }

  /** Creates a packet of `total` cents in `shares` shares. */
  async create(total: unknown, shares: unknown): Promise<RedPacket> {
    let packet: RedPacket;
    try {
      packet = newPacket(randomUUID().slice(0, 8), total, shares);
    } catch (error) {
      if (error instanceof PacketInputError) throw new BadRequestException(error.message);
      throw error;
    }
    if (!(await this.store.create(packetKey(packet.id), packet))) {
      throw new Error(`packet id ${packet.id} already exists; retry`);
    }
    return packet;
  }

  /** Reads a packet. */
  async get(id: string): Promise<RedPacket> {
    const read = await this.store.read<RedPacket>(packetKey(id));
    if (read === undefined) throw packetNotFound(id);
    return read.value;
  }

  /**
   * Grabs one share while holding the packet's lock (the caller holds it: a `@Locked` route):
   * read → deduct a random share → fenced write. The write carries the lock's fencing token and
   * is refused when the packet already carries a newer one, so a holder that lost its lock (a
   * long pause, a partition) cannot overwrite the work of the holder that followed it.
   */
  async grabHolding(lock: LockHandle, id: string): Promise<GrabResult> {
    const fence = lock.fencingToken;
    const read = await this.store.read<RedPacket>(packetKey(id));
    if (read === undefined) throw packetNotFound(id);
    const packet = read.value;
    if (BigInt(packet.fence) > fence) this.#rejectStale(packet, fence);
    if (isExhausted(packet)) {
      this.metrics.grab('locked', 'empty');
      throw packetConflict('empty', `Packet ${id} has no share left`);
    }
    const grant = this.#draw(packet, fence.toString());
    await delay(LOCK_SETTINGS.grabWorkMs); // the business work a real grab does (payment, audit…)
    if (lock.signal.aborted) {
      // Lost the lock meanwhile: do not write at all; the client may retry.
      this.metrics.grab('locked', 'lock-lost');
      throw packetConflict(
        'lock-lost',
        `The lock of packet ${id} was lost before the write, so nothing was written; retry`,
      );
    }
    const next = withGrant(packet, grant, fence.toString());
    if (!(await this.store.replaceIfUnchanged(packetKey(id), next, read.modRevision))) {
      // Someone wrote the packet after our read: find out whether we are the stale one.
      const current = await this.store.read<RedPacket>(packetKey(id));
      if (current !== undefined && BigInt(current.value.fence) > fence) {
        this.#rejectStale(current.value, fence);
      }
      this.metrics.grab('locked', 'concurrent-write');
      throw packetConflict('concurrent-write', `Packet ${id} changed while its lock was held`);
    }
    this.metrics.grab('locked', 'granted');
    return this.#result(next, grant);
  }

  /**
   * The same grab without any lock: read → deduct → write, last writer wins. Under concurrency two
   * replicas read the same remaining amount and both pay out of it: overspend.
   */
  async grabUnlocked(id: string): Promise<GrabResult> {
    const read = await this.store.read<RedPacket>(packetKey(id));
    if (read === undefined) throw packetNotFound(id);
    const packet = read.value;
    if (isExhausted(packet)) {
      this.metrics.grab('unlocked', 'empty');
      throw packetConflict('empty', `Packet ${id} has no share left`);
    }
    const grant = this.#draw(packet, 'none');
    await delay(LOCK_SETTINGS.grabWorkMs);
    const next = withGrant(packet, grant, packet.fence);
    await this.store.overwrite(packetKey(id), next);
    this.metrics.grab('unlocked', 'granted');
    return this.#result(next, grant);
  }

  /**
   * Closes a packet and refunds what is left. Written with the service API instead of the
   * decorator: `await using` releases the lock at the end of the block, also on a throw.
   */
  async close(id: string): Promise<RedPacket> {
    await using lock = await this.locks.acquire(packetLockName(id), {
      ttl: LOCK_SETTINGS.grabTtlSeconds,
      waitMs: LOCK_SETTINGS.grabWaitMs,
      label: PACKET_LOCK_LABEL,
    });
    const read = await this.store.read<RedPacket>(packetKey(id));
    if (read === undefined) throw packetNotFound(id);
    if (read.value.closed) return read.value;
    if (BigInt(read.value.fence) > lock.fencingToken)
      this.#rejectStale(read.value, lock.fencingToken);
    const next = closedPacket(read.value, lock.fencingToken.toString());
    if (!(await this.store.replaceIfUnchanged(packetKey(id), next, read.modRevision))) {
      throw packetConflict('concurrent-write', `Packet ${id} changed while its lock was held`);
    }
    return next;
  }

  #draw(packet: RedPacket, fence: string): PacketGrant {
    const random = randomInt(0, DRAW_SCALE) / DRAW_SCALE;
    return {
      grabId: randomUUID(),
      amount: drawShare(packet.remaining, packet.sharesLeft, random),
      replica: this.#replica,
      fence,
    };
  }

  #rejectStale(packet: RedPacket, fence: bigint): never {
    this.metrics.grab('locked', 'stale-fence');
    throw packetConflict(
      'stale-fence',
      `Write refused: packet ${packet.id} carries fencing token ${packet.fence}, ` +
        `newer than this holder's ${fence}; this replica lost the lock`,
    );
  }

  #result(packet: RedPacket, grant: PacketGrant): GrabResult {
    return {
      grabId: grant.grabId,
      amount: grant.amount,
      remaining: packet.remaining,
      sharesLeft: packet.sharesLeft,
      replica: grant.replica,
      fence: grant.fence,
    };
  }
}

/** Key of a packet under the data prefix. */
export function packetKey(id: string): string {
  return `packets/${id}`;
}
