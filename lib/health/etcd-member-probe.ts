import { createEtcdClient } from '../core/etcd/etcd-client-factory.js';
import type { ResolvedClientOptions } from '../core/index.js';

/**
 * What one etcd member said about itself, or why it said nothing.
 *
 * @example
 * { endpoint: 'http://10.0.0.1:2379', reachable: true, latencyMs: 3, memberId: '8e9e05c52164694d',
 *   leaderId: '8e9e05c52164694d', raftTerm: 2, dbSize: 20480, errors: [] }
 */
export interface EtcdMemberHealth {
  /** The configured client URL. */
  endpoint: string;
  /** True when the member answered its status within the probe deadline. */
  reachable: boolean;
  /** Round trip of the status call, in ms (also for a failure). */
  latencyMs: number;
  /** The member's id, in hex as etcdctl prints it. */
  memberId?: string;
  /** The leader this member follows, in hex; absent when it knows of none. */
  leaderId?: string;
  /** The member's Raft term. */
  raftTerm?: number;
  /** Size of the member's database file, in bytes. */
  dbSize?: number;
  /** The member's etcd version. */
  version?: string;
  /** Alarms the member reports (e.g. `NOSPACE`), empty when none. */
  errors?: string[];
  /** Why the member could not be probed. */
  error?: string;
}

const hex = (decimal: string): string => BigInt(decimal).toString(16);

/**
 * Asks one etcd member for its status through a client of its own (etcd3's maintenance status
 * goes to whichever host the pool picks, so a shared client cannot target a member), with a hard
 * deadline, and closes that client.
 * @internal
 */
export async function probeEtcdMember(
  client: ResolvedClientOptions,
  endpoint: string,
  timeoutMs: number,
): Promise<EtcdMemberHealth> {
  const etcd = createEtcdClient({ ...client, endpoints: [endpoint], callTimeoutMs: timeoutMs });
  const startedAt = performance.now();
  const latency = (): number => Math.round((performance.now() - startedAt) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  try {
    const status = await Promise.race([
      etcd.maintenance.status(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
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
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
    etcd.close();
  }
}
