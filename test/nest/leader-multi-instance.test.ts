// Three Nest replicas (separate processes) with @OnLeadership and @LeaderOnly jobs (@Cron,
// @Interval) on one election: one leads at a time and only it runs the jobs, the others skip them;
// health and metrics agree on who leads; the SIGKILLed leader is replaced within its TTL + 1 s;
// a leader stopped gracefully hands over at once, by resigning before it lets go of anything else
// (it still holds a lock for its whole shutdown grace when the next one leads); no keys are left.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ZZLockHealthDetails } from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, startFixture, waitFor, type FixtureProcess } from './helpers.js';

const namespace = 'nest-leader/';
const TTL = 3;
const GRACE_MS = 4_000;

interface Term {
  instance: string;
  term: bigint;
  from: number;
  /** When its signal aborted, or the process was killed. */
  to?: number;
}

interface Run {
  instance: string;
  job: string;
  term: bigint;
  at: number;
}

describe('@OnLeadership and @LeaderOnly on three replicas', () => {
  let etcd: EtcdCluster;
  const apps = new Map<string, FixtureProcess>();
  const killedAt = new Map<string, number>();

  before(async () => {
    etcd = await startEtcd();
    const env = {
      ZZ_ENDPOINTS: etcd.endpoints.join(','),
      ZZ_NAMESPACE: namespace,
      ZZ_TTL: String(TTL),
      ZZ_GRACE_MS: String(GRACE_MS),
    };
    const started = await Promise.all(
      ['a', 'b', 'c'].map((instance) =>
        startFixture('leader-app', { ...env, ZZ_INSTANCE: instance }),
      ),
    );
    ['a', 'b', 'c'].forEach((instance, i) => apps.set(instance, started[i]!));
  });
  after(async () => {
    await Promise.all([...apps.values()].map((app) => app.stop()));
    await etcd?.stop();
  });

  const lines = (): string[] => [...apps.values()].flatMap((app) => app.lines);
  const terms = (): Term[] => {
    const found = new Map<bigint, Term>();
    for (const line of lines()) {
      const match = /^(LEAD|UNLEAD) (\S+) (\d+) ([\d.]+)$/.exec(line);
      if (!match) continue;
      const term = BigInt(match[3]!);
      const at = Number(match[4]);
      if (match[1] === 'LEAD') found.set(term, { instance: match[2]!, term, from: at });
      else found.get(term)!.to = at;
    }
    for (const term of found.values()) term.to ??= killedAt.get(term.instance);
    return [...found.values()].sort((x, y) => (x.term < y.term ? -1 : 1));
  };
  const runs = (): Run[] =>
    lines().flatMap((line) => {
      const match = /^RUN (\S+) (\S+) (\d+) ([\d.]+)$/.exec(line);
      return match
        ? [{ instance: match[1]!, job: match[2]!, term: BigInt(match[3]!), at: Number(match[4]) }]
        : [];
    });
  const skipsOf = (instance: string): number =>
    apps.get(instance)!.lines.filter((line) => line.startsWith('SKIP ')).length;
  const leaderNow = (): Term | undefined => terms().find((term) => term.to === undefined);
  const get = async (instance: string, path: string): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${apps.get(instance)!.port}${path}`);
    assert.equal(response.status, 200);
    return response.text();
  };

  /** One leader at a time, and every @LeaderOnly run inside its own replica's term. */
  const assertOneAtATime = (): void => {
    const all = terms();
    for (let i = 1; i < all.length; i += 1) {
      assert.ok(all[i]!.term > all[i - 1]!.term, 'terms strictly increase');
      assert.ok(all[i - 1]!.to !== undefined, `term ${all[i - 1]!.term} never ended`);
      assert.ok(
        all[i]!.from >= all[i - 1]!.to!,
        `${all[i]!.instance} led (term ${all[i]!.term}) before ${all[i - 1]!.instance} stopped`,
      );
    }
    const byTerm = new Map(all.map((term) => [term.term, term]));
    for (const run of runs()) {
      const term = byTerm.get(run.term);
      assert.ok(term, `a ${run.job} run on ${run.instance} under an unknown term ${run.term}`);
      assert.equal(run.instance, term.instance, `a run of term ${run.term} on another replica`);
      assert.ok(run.at >= term.from && run.at <= (term.to ?? Infinity), 'a run outside its term');
    }
  };

  it('one replica leads; only it runs the @LeaderOnly jobs; health and metrics agree', async () => {
    await waitFor('a leader', () => leaderNow() !== undefined, 20_000);
    const leader = leaderNow()!;
    const followers = ['a', 'b', 'c'].filter((instance) => instance !== leader.instance);
    await waitFor(
      'cron and interval runs on the leader, skips on the followers',
      () =>
        new Set(runs().map((run) => run.job)).size === 2 &&
        followers.every((instance) => skipsOf(instance) >= 2),
      20_000,
    );
    assert.equal(terms().length, 1, 'one term so far');
    assertOneAtATime();

    for (const instance of ['a', 'b', 'c']) {
      const leading = instance === leader.instance;
      const metrics = await get(instance, '/metrics');
      assert.match(
        metrics,
        new RegExp(`^zzlock_leader\\{election="ingest"\\} ${leading ? 1 : 0}$`, 'm'),
      );
      if (leading) {
        assert.match(
          metrics,
          /^zzlock_leadership_changes_total\{election="ingest",change="elected"\} 1$/m,
        );
      } else {
        assert.match(metrics, /^zzlock_leader_only_skipped_total\{election="ingest"\} [1-9]\d*$/m);
      }
      const health = JSON.parse(await get(instance, '/health')) as {
        zzlock: ZZLockHealthDetails & { status: string };
      };
      assert.equal(health.zzlock.status, 'up');
      assert.deepEqual(health.zzlock.elections, [
        {
          name: 'ingest',
          leading,
          leader: { value: leader.instance, term: String(leader.term) },
        },
      ]);
    }
  });

  it('replaces a SIGKILLed leader within its TTL + 1 s, under a higher term', async () => {
    const killed = leaderNow()!;
    const at = performance.timeOrigin + performance.now();
    killedAt.set(killed.instance, at);
    apps.get(killed.instance)!.child.kill('SIGKILL');
    await waitFor('a new leader', () => (leaderNow()?.term ?? 0n) > killed.term, 20_000);
    const next = leaderNow()!;
    assert.notEqual(next.instance, killed.instance);
    assert.ok(
      next.from - at <= (TTL + 1) * 1000,
      `led ${Math.round(next.from - at)} ms after the kill (TTL ${TTL} s)`,
    );
    const runsOfNext = (): Run[] => runs().filter((run) => run.term === next.term);
    await waitFor('the new leader to run the jobs', () => runsOfNext().length >= 2, 20_000);
    assertOneAtATime();
  });

  it('hands over at once when the leader stops gracefully: it resigns before anything else', async () => {
    const stopping = leaderNow()!;
    const app = apps.get(stopping.instance)!;
    const exited = app.stop();
    await waitFor('the last replica to lead', () => (leaderNow()?.term ?? 0n) > stopping.term);
    // The stopping replica still waits out its grace for the lock it holds (4 s): the handover
    // came from its resign, not from deleting its keys at the end.
    assert.equal(app.child.exitCode, null, 'the stopped leader is still shutting down');
    assert.equal(app.child.signalCode, null);
    const next = leaderNow()!;
    const ended = terms().find((term) => term.term === stopping.term)!;
    assert.ok(ended.to !== undefined && ended.to <= next.from, 'its signal aborted first');
    assert.equal(await exited, 0, app.stderr());
    await waitFor('the last leader to run the jobs', () =>
      runs().some((run) => run.term === next.term),
    );
    assertOneAtATime();
  });

  it('exits cleanly on SIGTERM and leaves no keys or leases', async () => {
    const codes = await Promise.all(
      [...apps.entries()]
        .filter(([instance]) => !killedAt.has(instance))
        .map(([, app]) => app.stop()),
    );
    assert.deepEqual(codes, [0, 0]);
    assertOneAtATime();
    // The SIGKILLed replica's keys go with its lease, within its TTL.
    await waitFor(
      'no keys or leases',
      async () => {
        const left = await leftovers(etcd.endpoints, namespace);
        return left.keys.length === 0 && left.leases.length === 0;
      },
      (TTL + 5) * 1000,
    );
  });
});
