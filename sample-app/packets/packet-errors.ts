import { ConflictException, NotFoundException } from '@nestjs/common';

/** Why a grab or close was refused, as the `reason` field of a 409 body. */
export type PacketConflictReason =
  /** No share left (or the packet is closed). */
  | 'empty'
  /** The write carried a fencing token older than the packet's: its holder had lost the lock. */
  | 'stale-fence'
  /** The packet changed between read and write although the lock was held. */
  | 'concurrent-write'
  /** The packet's lock was lost before the write (lease not renewed in time): nothing was written. */
  | 'lock-lost';

/** 404: no packet with this id. */
export function packetNotFound(id: string): NotFoundException {
  return new NotFoundException({
    statusCode: 404,
    reason: 'not-found',
    message: `No packet ${id}`,
  });
}

/** 409 with a machine-readable reason. */
export function packetConflict(reason: PacketConflictReason, message: string): ConflictException {
  return new ConflictException({ statusCode: 409, reason, message });
}
