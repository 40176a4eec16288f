import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  type PipeTransform,
} from '@nestjs/common';
import { LockService, Locked } from '../../lib/index.js';
import { LOCK_SETTINGS } from '../sample-config.js';
import {
  PACKET_LOCK_LABEL,
  packetLockName,
  PacketsService,
  type GrabResult,
} from './packets.service.js';
import type { RedPacket } from './red-packet.js';

/** Rejects ids that could not have been issued by `POST /packets` (400). */
class PacketIdPipe implements PipeTransform<string, string> {
  transform(id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id))
      throw new BadRequestException(`Invalid packet id "${id}"`);
    return id;
  }
}

/** Body of `POST /packets`. */
export interface CreatePacketBody {
  /** Amount in cents. */
  total: number;
  /** Number of shares. */
  shares: number;
}

/**
 * HTTP surface of the red packets.
 *
 * - `POST /packets` `{ total, shares }` → 201 with the packet
 * - `GET /packets/:id` → the packet, with its ledger of grants
 * - `POST /packets/:id/grab` → 200 `{ amount, remaining, … }` under the packet's lock;
 *   409 `{ reason: 'empty' | 'stale-fence' | 'concurrent-write' | 'lock-lost' }`; 423 with `Retry-After` when the lock stayed busy
 * - `POST /packets/:id/grab-unlocked` → the same without the lock (shows the overspend)
 * - `POST /packets/:id/close` → refunds what is left (manual `LockService` use)
 */
@Controller('packets')
export class PacketsController {
  constructor(
    private readonly packets: PacketsService,
    private readonly locks: LockService,
  ) {}

  /** Creates a packet. */
  @Post()
  create(@Body() body: Partial<CreatePacketBody> | undefined): Promise<RedPacket> {
    return this.packets.create(body?.total, body?.shares);
  }

  /** Reads a packet and its ledger. */
  @Get(':id')
  get(@Param('id', PacketIdPipe) id: string): Promise<RedPacket> {
    return this.packets.get(id);
  }

  /**
   * Grabs a share holding the packet's lock: one lock per packet id, waiting up to
   * `GRAB_LOCK_WAIT_MS` for it; when it stays busy the module's interceptor answers 423.
   */
  @Post(':id/grab')
  @HttpCode(200)
  @Locked((id: string) => packetLockName(id), {
    ttl: LOCK_SETTINGS.grabTtlSeconds,
    waitMs: LOCK_SETTINGS.grabWaitMs,
    label: PACKET_LOCK_LABEL,
  })
  grab(@Param('id', PacketIdPipe) id: string): Promise<GrabResult> {
    return this.packets.grabHolding(this.locks.current(packetLockName(id)), id);
  }

  /** The unlocked twin of `grab`: do not do this. */
  @Post(':id/grab-unlocked')
  @HttpCode(200)
  grabUnlocked(@Param('id', PacketIdPipe) id: string): Promise<GrabResult> {
    return this.packets.grabUnlocked(id);
  }

  /** Closes the packet and refunds what is left. */
  @Post(':id/close')
  @HttpCode(200)
  close(@Param('id', PacketIdPipe) id: string): Promise<RedPacket> {
    return this.packets.close(id);
  }
}
