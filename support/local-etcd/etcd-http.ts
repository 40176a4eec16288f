import { request } from 'node:http';

/**
 * What one etcd member says about itself through the v3 JSON gateway
 * (`POST /v3/maintenance/status`). etcd encodes every int64 as a decimal string; ids stay strings
 * and counters are parsed as `bigint`.
 */
export interface EtcdMemberStatus {
  /** This member's id (decimal string). */
  memberId: string;
  /** The id of the member this one believes is leader; `'0'` when it knows of none. */
  leaderId: string;
  /** The cluster id (decimal string). */
  clusterId: string;
  /** Raft term this member is in. */
  raftTerm: bigint;
  /** Store revision this member has applied. */
  revision: bigint;
  /** Backend database size in bytes. */
  dbSize: bigint;
  /** etcd server version, e.g. `'3.4.23'`. */
  version: string;
}

/**
 * Asks a member whether it is healthy (`GET /health` answers `{"health":"true"}`). In etcd 3.4 a
 * member is healthy only when it has a leader and a quorum read succeeds, so this is false for a
 * member that is up but cut off from a majority. Never throws: any failure means "not healthy".
 *
 * @param clientUrl The member's client URL, e.g. `'http://127.0.0.1:2379'`.
 * @param timeoutMs Bound for the whole request. @default 1000
 * @example
 * assert.equal(await isMemberHealthy(cluster.endpoints[0]), true);
 */
export async function isMemberHealthy(clientUrl: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const body = await requestJson('GET', new URL('/health', clientUrl), timeoutMs);
    return isRecord(body) && body['health'] === 'true';
  } catch {
    return false;
  }
}

/**
 * Reads a member's status through the JSON gateway (`POST /v3/maintenance/status`, body `{}`).
 * Throws when the member does not answer within `timeoutMs` or answers something unexpected.
 *
 * @param clientUrl The member's client URL, e.g. `'http://127.0.0.1:2379'`.
 * @param timeoutMs Bound for the whole request. @default 1000
 * @example
 * const status = await fetchMemberStatus(member.clientUrl);
 * const isLeader = status.leaderId === status.memberId;
 */
export async function fetchMemberStatus(
  clientUrl: string,
  timeoutMs = 1000,
): Promise<EtcdMemberStatus> {
  const url = new URL('/v3/maintenance/status', clientUrl);
  const body = await requestJson('POST', url, timeoutMs, '{}');
  const header = isRecord(body) ? body['header'] : undefined;
  if (!isRecord(body) || !isRecord(header)) {
    throw new Error(`Unexpected status from ${url.href}: ${JSON.stringify(body)}`);
  }
  return {
    memberId: String(header['member_id'] ?? '0'),
    leaderId: String(body['leader'] ?? '0'),
    clusterId: String(header['cluster_id'] ?? '0'),
    raftTerm: BigInt(String(body['raftTerm'] ?? header['raft_term'] ?? '0')),
    revision: BigInt(String(header['revision'] ?? '0')),
    dbSize: BigInt(String(body['dbSize'] ?? '0')),
    version: String(body['version'] ?? ''),
  };
}

function requestJson(
  method: 'GET' | 'POST',
  url: URL,
  timeoutMs: number,
  body?: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // agent: false, so no keep-alive socket outlives the call (or points at a frozen member).
    const outgoing = request(url, { method, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('error', reject);
      response.on('end', () => {
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`${method} ${url.href} answered ${response.statusCode}: ${text}`));
        }
      });
    });
    const timer = setTimeout(
      () => outgoing.destroy(new Error(`${method} ${url.href} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    outgoing.on('close', () => clearTimeout(timer));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
