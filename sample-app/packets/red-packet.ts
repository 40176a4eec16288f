/**
 * The red-packet domain, free of Nest and etcd: a packet of `total` cents split into `shares`
 * random shares, each grab taking one. Every grant is kept in the packet's ledger so anyone can
 * check that nothing was overspent: `sum(grants) + remaining === total`.
 */

/** One share taken from a packet. */
export interface PacketGrant {
  /** Id of the grab request (unique per request). */
  readonly grabId: string;
  /** Amount taken, in cents. */
  readonly amount: number;
  /** The replica that served the grab. */
  readonly replica: string;
  /** The fencing token the write carried (decimal string); `'none'` for unlocked grabs. */
  readonly fence: string;
}

/** A red packet as stored in etcd (plain JSON). */
export interface RedPacket {
  /** Packet id. */
  readonly id: string;
  /** Amount put in, in cents. */
  readonly total: number;
  /** Number of shares put in. */
  readonly shares: number;
  /** Amount not yet grabbed, in cents. */
  readonly remaining: number;
  /** Shares not yet grabbed. */
  readonly sharesLeft: number;
  /**
   * Fencing token (decimal string) of the last locked write; `'0'` before any. A locked write
   * carrying a smaller token is rejected: its holder lost the lock to a newer one.
   */
  readonly fence: string;
  /** True once closed: no more grabs, the remaining amount was refunded. */
  readonly closed: boolean;
  /** Amount refunded when the packet was closed, in cents. */
  readonly refunded: number;
  /** Every share granted so far, in order. */
  readonly grants: readonly PacketGrant[];
  /** When it was created (ISO 8601). */
  readonly createdAt: string;
}

/** Largest amount a packet may hold, in cents. */
export const MAX_PACKET_TOTAL = 100_000_000;
/** Largest number of shares a packet may be split into (keeps the stored ledger small). */
export const MAX_PACKET_SHARES = 1_000;

/** Why a packet request was refused. */
export class PacketInputError extends Error {
  override readonly name = 'PacketInputError';
}

/**
 * Checks the body of `POST /packets` and builds a new packet.
 * @throws PacketInputError when total or shares are not whole numbers in range, or total < shares
 */
export function newPacket(
  id: string,
  total: unknown,
  shares: unknown,
  now = new Date(),
): RedPacket {
  if (
    typeof total !== 'number' ||
    !Number.isInteger(total) ||
    total < 1 ||
    total > MAX_PACKET_TOTAL
  ) {
    throw new PacketInputError(
      `total must be a whole number of cents from 1 to ${MAX_PACKET_TOTAL}`,
    );
  }
  if (
    typeof shares !== 'number' ||
    !Number.isInteger(shares) ||
    shares < 1 ||
    shares > MAX_PACKET_SHARES
  ) {
    throw new PacketInputError(`shares must be a whole number from 1 to ${MAX_PACKET_SHARES}`);
  }
  if (total < shares) {
    throw new PacketInputError('total must be at least one cent per share');
  }
  return {
    id,
    total,
    shares,
    remaining: total,
    sharesLeft: shares,
    fence: '0',
    closed: false,
    refunded: 0,
    grants: [],
    createdAt: now.toISOString(),
  };
}

/**
 * Draws the next share with the usual "double mean" rule: uniform in [1, 2 × mean − 1] cents,
 * leaving at least a cent for each share after it; the last share takes what remains.
 * @param random a uniform number in [0, 1)
 */
export function drawShare(remaining: number, sharesLeft: number, random: number): number {
  if (sharesLeft <= 1) return remaining;
  const mean = remaining / sharesLeft;
  const upper = Math.min(Math.max(1, Math.floor(2 * mean) - 1), remaining - (sharesLeft - 1));
  return 1 + Math.floor(random * upper);
}

/** The packet after one more grant. The caller checks there is a share left. */
export function withGrant(packet: RedPacket, grant: PacketGrant, fence: string): RedPacket {
  return {
    ...packet,
    remaining: packet.remaining - grant.amount,
    sharesLeft: packet.sharesLeft - 1,
    fence,
    grants: [...packet.grants, grant],
  };
}

/** The packet closed: the remaining amount refunded, no more grabs. */
export function closedPacket(packet: RedPacket, fence: string): RedPacket {
  return { ...packet, closed: true, refunded: packet.remaining, remaining: 0, fence };
}

/** True when no share can be grabbed any more. */
export function isExhausted(packet: RedPacket): boolean {
  return packet.closed || packet.sharesLeft <= 0 || packet.remaining <= 0;
}

/** What an audit of a packet's ledger found. */
export interface PacketAudit {
  /** Sum of every grant in the ledger, in cents. */
  readonly granted: number;
  /** Number of grants in the ledger. */
  readonly grantCount: number;
  /** Amount granted beyond the total, in cents (0 when the ledger is sound). */
  readonly overspent: number;
  /** Problems found; empty when every invariant holds. */
  readonly problems: readonly string[];
}

/**
 * Checks a packet's invariants: grants never exceed the total or the share count, and the
 * ledger plus what remains adds up to the total.
 */
export function auditPacket(packet: RedPacket): PacketAudit {
  const granted = packet.grants.reduce((sum, grant) => sum + grant.amount, 0);
  const problems: string[] = [];
  if (granted > packet.total) {
    problems.push(`granted ${granted} cents of a ${packet.total}-cent packet`);
  }
  if (packet.grants.length > packet.shares) {
    problems.push(`granted ${packet.grants.length} shares of ${packet.shares}`);
  }
  if (packet.remaining < 0) problems.push(`remaining is negative (${packet.remaining})`);
  if (granted + packet.remaining + packet.refunded !== packet.total) {
    problems.push(
      `ledger (${granted}) + remaining (${packet.remaining}) + refunded (${packet.refunded}) ` +
        `is not the total (${packet.total})`,
    );
  }
  return {
    granted,
    grantCount: packet.grants.length,
    overspent: Math.max(0, granted - packet.total),
    problems,
  };
}
