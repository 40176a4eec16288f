// Three replicas (separate processes) run the same @Cron job under
// @Locked('tick', { onBusy: 'skip', minHoldMs }): every tick runs on exactly one of them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, startFixture, waitFor, type FixtureProcess } from './helpers.js';

const namespace = 'nest-cron/';
const TICKS_TO_SEE = 4;

interface Run {
  instance: string;
  tick: number;
  fencingToken: bigint;
}

describe('@Cron under @Locked on three replicas', () => {
  let etcd: EtcdCluster;
  const apps: FixtureProcess[] = [];

  before(async () => {
    etcd = await startEtcd();
    const env = { ZZ_ENDPOINTS: etcd.endpoints.join(','), ZZ_NAMESPACE: namespace };
    apps.push(
      ...(await Promise.all(
        ['a', 'b', 'c'].map((instance) =>
          startFixture('cron-app', { ...env, ZZ_INSTANCE: instance }),
        ),
      )),
    );
  });
  after(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await etcd?.stop();
  });

  const runs = (): Run[] =>
    apps.flatMap((app) =>
      app.lines.flatMap((line) => {
        const match = /^RUN (\S+) (\d+) (\d+)$/.exec(line);
        return match
          ? [{ instance: match[1]!, tick: Number(match[2]), fencingToken: BigInt(match[3]!) }]
          : [];
      }),
    );
  const skips = (): number =>
    apps.reduce((sum, app) => sum + app.lines.filter((line) => line.startsWith('SKIP ')).length, 0);

  it('runs every tick on exactly one instance, the others skip it', async () => {
    const readyAt = Date.now();
    await waitFor(
      `${TICKS_TO_SEE} ticks after all three replicas were ready`,
      () =>
        new Set(
          runs()
            .filter((run) => run.tick * 1000 >= readyAt)
            .map((run) => run.tick),
        ).size >= TICKS_TO_SEE,
      30_000,
    );
    await waitFor('skips of the other replicas', () => skips() >= TICKS_TO_SEE, 10_000);

    const all = runs();
    const byTick = new Map<number, Run[]>();
    for (const run of all) byTick.set(run.tick, [...(byTick.get(run.tick) ?? []), run]);
    for (const [tick, ran] of byTick) {
      assert.equal(ran.length, 1, `tick ${tick} ran on ${ran.map((r) => r.instance).join(', ')}`);
    }
    const ordered = [...all].sort((x, y) => x.tick - y.tick);
    for (let i = 1; i < ordered.length; i += 1) {
      assert.ok(
        ordered[i]!.fencingToken > ordered[i - 1]!.fencingToken,
        'fencing tokens increase from tick to tick',
      );
    }
  });

  it('exits cleanly on SIGTERM and leaves no keys or leases', async () => {
    const codes = await Promise.all(apps.map((app) => app.stop()));
    assert.deepEqual(codes, [0, 0, 0], apps.map((app) => app.stderr()).join('\n'));
    assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
  });
});
