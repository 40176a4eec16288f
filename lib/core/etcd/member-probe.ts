import { ClientClosedError, type Etcd3 } from 'etcd3';
import { memberProbeClosedMessage, memberProbeTimeoutMessage } from '../errors/messages.js';
import type { StoreMemberHealth } from '../lock-backend.js';

const hex = (decimal: string): string => BigInt(decimal).toString(16);

/**
 * Asks one etcd member for its status through `client`, a long-lived client of that member alone
 * (etcd3's maintenance status goes to whichever host the pool picks, so a client of several
 * members cannot target one), and reports it unreachable when no answer comes within
 * `timeoutMs`, whatever the client's `callTimeoutMs`. The call itself keeps the client's own
 * deadline: a member merely slower than the probe is not counted as failing by the client's
 * fault handling (which lock calls share), only a member that fails a lock call would be too.
 * Never rejects and never closes `client`; once `closing` has fired, nothing is asked and the
 * member is reported as not probed.
 * @internal
 *
 * @example
 * const health = await probeMember(memberClient, 'http://10.0.0.1:2379', 1000, closing.signal);
 */
export async function probeMember(
  client: Etcd3,
  endpoint: string,
  timeoutMs: number,
  closing?: AbortSignal,
): Promise<StoreMemberHealth> {
  if (closing?.aborted) {
    return { endpoint, reachable: false, latencyMs: 0, error: memberProbeClosedMessage() };
  }
  const startedAt = performance.now();
  const latency = (): number => Math.round((performance.now() - startedAt) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  try {
    const status = await Promise.race([
      client.maintenance.status(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(memberProbeTimeoutMessage(timeoutMs))),
          timeoutMs,
        );
      }),
    ]);
    return {
      endpoint,
      reachable: true,
      latencyMs: latency(),
      memberId: hex(status.header.member_id),
      leaderId: status.leader === '0' ? undefined : hex(status.leader),
      raftTerm: Number(status.raftTerm),
      dbSize: Number(status.dbSize),
      version: status.version,
      errors: status.errors ?? [],
    };
  } catch (error) {
    return {
      endpoint,
      reachable: false,
      latencyMs: latency(),
      error:
        error instanceof ClientClosedError
          ? memberProbeClosedMessage()
          : error instanceof Error
            ? error.message
            : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}
