/**
 * The sample app as a user runs it: two instances (separate processes, `node
 * dist/sample-app/main.js`) on one real etcd, sharing a lock namespace.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { getFreePorts, leftovers, startEtcd, waitFor, type EtcdCluster } from '../support/index.js';
import type { ZZLockHealthDetails } from '../../lib/index.js';
import {
  getJson,
  postJson,
  runGrabLoad,
  type GrabAttempt,
} from '../../sample-app/demo/grab-load.js';
import { parsePrometheusText, sumSamples } from '../../sample-app/demo/prometheus-text.js';
import { ReplicaProcess } from '../../sample-app/demo/replica-process.js';
import { auditPacket, type RedPacket } from '../../sample-app/packets/red-packet.js';
import type { SweeperTermRecord } from '../../sample-app/sweeper/packet-sweeper.service.js';

const HEALTHY_TIMEOUT_MS = 30_000;
const PACKET_LOCK_LABEL = 'packet:{id}';

/** What terminus answers on /health. */
interface HealthReport {
  status: string;
  details: Record<string, ZZLockHealthDetails & { status: string }>;
}

describe('sample app: two instances on real etcd', () => {
  let etcd: EtcdCluster;
  let apps: ReplicaProcess[] = [];
  const namespace = `e2e-sample-${process.pid}-${randomBytes(3).toString('hex')}/`;

  before(async () => {
    etcd = await startEtcd();
    const ports = await getFreePorts(2);
    apps = ports.map((port, index) =>
      ReplicaProcess.start({
        id: `app-${index + 1}`,
        port,
        endpoints: etcd.endpoints,
        namespace,
        env: { GRAB_WORK_MS: '2', SWEEP_INTERVAL_MS: '200' },
      }),
    );
    await Promise.all(apps.map((app) => app.waitUntilHealthy(HEALTHY_TIMEOUT_MS)));
  });

  after(async () => {
    await Promise.allSettled(apps.map((app) => app.stop()));
    await etcd?.stop();
  });

  const createPacket = (total: number, shares: number): Promise<RedPacket> =>
    postJson<RedPacket>(`${apps[0].url}/packets`, { total, shares });

  it('grabs a share under the packet lock and records it in the ledger with its fencing token', async () => {
    const packet = await createPacket(1_000, 10);
    const grab = await postJson<{
      grabId: string;
      amount: number;
      remaining: number;
      fence: string;
    }>(`${apps[1].url}/packets/${packet.id}/grab`);
    assert.ok(grab.amount >= 1 && grab.amount <= 1_000, `amount ${grab.amount}`);
    assert.equal(grab.remaining, 1_000 - grab.amount);
    assert.match(grab.fence, /^[1-9]\d*$/);

    const stored = await getJson<RedPacket>(`${apps[0].url}/packets/${packet.id}`);
    assert.deepEqual(
      stored.grants.map((grant) => [grant.grabId, grant.amount, grant.replica, grant.fence]),
      [[grab.grabId, grab.amount, 'app-2', grab.fence]],
    );
    assert.equal(stored.fence, grab.fence);
    assert.deepEqual(auditPacket(stored).problems, []);
  });

  it('never overspends under concurrent grabs spread over both instances', async () => {
    const packet = await createPacket(5_000, 40);
    const attempts: GrabAttempt[] = await runGrabLoad({
      packetId: packet.id,
      endpoint: 'grab',
      replicas: apps,
      requests: 80,
      concurrency: 16,
    });
    const stored = await getJson<RedPacket>(`${apps[1].url}/packets/${packet.id}`);

    const statuses = attempts.map((attempt) => attempt.status);
    assert.deepEqual(
      [...new Set(statuses)].filter((status) => status !== 'granted' && status !== 'empty'),
      [],
      `every grab answers with a share or "empty": ${JSON.stringify(attempts.filter((a) => a.error))}`,
    );
    const granted = attempts.filter((attempt) => attempt.status === 'granted');
    const paid = granted.reduce((sum, attempt) => sum + (attempt.amount ?? 0), 0);
    assert.equal(granted.length, 40, 'every share is granted exactly once');
    assert.equal(paid, 5_000, 'the shares add up to the total, no more');
    assert.deepEqual(auditPacket(stored).problems, []);
    assert.equal(stored.remaining, 0);
    assert.deepEqual(
      new Set(stored.grants.map((grant) => grant.grabId)),
      new Set(granted.map((attempt) => attempt.grabId)),
      'the ledger holds exactly the grants the clients were told about',
    );
    const fences = stored.grants.map((grant) => BigInt(grant.fence));
    for (let index = 1; index < fences.length; index += 1) {
      assert.ok(fences[index] > fences[index - 1], 'fencing tokens increase from grant to grant');
    }
  });

  it('answers 409 on an empty packet, 404 on an unknown one and 400 on bad input', async () => {
    const packet = await createPacket(1, 1);
    await postJson(`${apps[0].url}/packets/${packet.id}/grab`);
    const empty = await fetch(`${apps[1].url}/packets/${packet.id}/grab`, { method: 'POST' });
    assert.equal(empty.status, 409);
    assert.equal(((await empty.json()) as { reason: string }).reason, 'empty');
    const unknown = await fetch(`${apps[0].url}/packets/no-such-packet/grab`, { method: 'POST' });
    assert.equal(unknown.status, 404);
    const invalid = await fetch(`${apps[0].url}/packets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ total: 1, shares: 2 }),
    });
    assert.equal(invalid.status, 400);
  });

  it('closes a packet under the lock (LockService with await using) and refunds the rest', async () => {
    const packet = await createPacket(1_000, 10);
    const grab = await postJson<{ amount: number }>(`${apps[0].url}/packets/${packet.id}/grab`);
    const closed = await postJson<RedPacket>(`${apps[1].url}/packets/${packet.id}/close`);
    assert.equal(closed.closed, true);
    assert.equal(closed.refunded, 1_000 - grab.amount);
    assert.deepEqual(auditPacket(closed).problems, []);
    const after = await fetch(`${apps[0].url}/packets/${packet.id}/grab`, { method: 'POST' });
    assert.equal(after.status, 409);
  });

  it('reports etcd health per member on /health', async () => {
    for (const app of apps) {
      const response = await fetch(`${app.url}/health`);
      assert.equal(response.status, 200);
      const report = (await response.json()) as HealthReport;
      assert.equal(report.status, 'ok');
      const etcdHealth = report.details['etcd'];
      assert.equal(etcdHealth.status, 'up');
      assert.equal(etcdHealth.store, 'etcd');
      assert.equal(etcdHealth.members?.length, 1);
      const [member] = etcdHealth.members ?? [];
      assert.equal(member.endpoint, etcd.endpoints[0]);
      assert.equal(member.reachable, true);
      assert.match(member.memberId ?? '', /^[0-9a-f]+$/);
      assert.equal(member.leaderId, member.memberId);
      assert.ok((member.raftTerm ?? 0) >= 1);
    }
  });

  it('sweeps on the leader of the sweeper election only, and /health says who leads', async () => {
    const terms = (): Promise<SweeperTermRecord[]> =>
      getJson<SweeperTermRecord[]>(`${apps[0].url}/sweeper/terms`);
    await waitFor('a sweep', async () => (await terms()).length > 0);
    const elections = await Promise.all(
      apps.map(async (app) => {
        const report = (await (await fetch(`${app.url}/health`)).json()) as HealthReport;
        const [election] = report.details['etcd'].elections ?? [];
        assert.equal(election?.name, 'sweeper');
        return election!;
      }),
    );
    assert.deepEqual(elections.map((election) => election.leading).sort(), [false, true]);
    const { leader } = elections.find((election) => election.leading)!;
    assert.ok(leader, 'the leader is known');
    for (const election of elections) assert.deepEqual(election.leader, leader, 'both agree');
    assert.deepEqual(
      (await terms()).map((term) => [term.term, term.replica]),
      [[leader.term, leader.value]],
      'only the leader swept, under its term',
    );
  });

  it('serves zzlock and app metrics in Prometheus text on /metrics', async () => {
    const packet = await createPacket(100, 2);
    await postJson(`${apps[0].url}/packets/${packet.id}/grab`);
    const response = await fetch(`${apps[0].url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const samples = parsePrometheusText(await response.text());
    const lock = { lock: PACKET_LOCK_LABEL };
    assert.ok(
      sumSamples(samples, 'zzlock_acquire_duration_seconds_count', {
        ...lock,
        outcome: 'acquired',
      }) >= 1,
    );
    assert.ok(sumSamples(samples, 'zzlock_hold_duration_seconds_count', lock) >= 1);
    assert.ok(samples.some((sample) => sample.name === 'zzlock_held_locks'));
    assert.ok(
      sumSamples(samples, 'redpacket_grabs_total', { mode: 'locked', outcome: 'granted' }) >= 1,
    );
    assert.ok(
      samples.every(
        (sample) =>
          !(sample.labels['lock'] ?? '').startsWith('packet:') ||
          sample.labels['lock'] === PACKET_LOCK_LABEL,
      ),
      'lock labels use the template, never a per-packet key',
    );
  });

  it('leaves no lock keys and no leases in etcd after both instances stop on SIGTERM', async () => {
    const exits = await Promise.all(apps.map((app) => app.stop(15_000)));
    for (const exit of exits) {
      // Nest's shutdown hooks run, then re-raise the signal: exit by SIGTERM, not the SIGKILL
      // stop() sends when the grace period runs out.
      assert.ok(
        exit.code === 0 || exit.signal === 'SIGTERM',
        `exited on its own after SIGTERM: ${JSON.stringify(exit)}`,
      );
    }
    assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
  });
});
