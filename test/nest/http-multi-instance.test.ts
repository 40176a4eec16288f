// Two replicas (separate processes) serve @Locked routes: requests for one key are serialized
// across them, a busy route answers 423 with Retry-After, different keys run in parallel.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { LockClient, type LockedResponseBody } from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, startFixture, type FixtureProcess } from './helpers.js';

const namespace = 'nest-http/';
const dataPrefix = 'nest-http-data/';
const STOCK = 10;

interface Taken {
  instance: string;
  before: number;
  after: number;
  fencingToken: string;
  startedAt: number;
  endedAt: number;
}

describe('@Locked routes on two replicas', () => {
  let etcd: EtcdCluster;
  const apps: FixtureProcess[] = [];
  const url = (app: number, path: string) => `http://127.0.0.1:${apps[app]!.port}${path}`;

  before(async () => {
    etcd = await startEtcd();
    const data = new Etcd3({ hosts: etcd.endpoints });
    await data.put(`${dataPrefix}stock/apple`).value(String(STOCK));
    data.close();
    const env = {
      ZZ_ENDPOINTS: etcd.endpoints.join(','),
      ZZ_NAMESPACE: namespace,
      ZZ_DATA_PREFIX: dataPrefix,
    };
    apps.push(
      ...(await Promise.all(
        ['one', 'two'].map((instance) =>
          startFixture('http-app', { ...env, ZZ_INSTANCE: instance }),
        ),
      )),
    );
  });
  after(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await etcd?.stop();
  });

  it('serializes concurrent requests for the same key across both replicas', async () => {
    const responses = await Promise.all(
      Array.from({ length: STOCK }, (_, i) =>
        fetch(url(i % 2, '/stock/apple/take'), { method: 'POST' }),
      ),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      Array(STOCK).fill(201),
    );
    const taken = (await Promise.all(responses.map((r) => r.json()))) as Taken[];
    assert.deepEqual(
      taken.map((t) => t.after).sort((x, y) => x - y),
      Array.from({ length: STOCK }, (_, i) => i),
      'every read saw the previous write: no lost update',
    );
    assert.deepEqual(new Set(taken.map((t) => t.instance)), new Set(['one', 'two']));
    const byStart = [...taken].sort((x, y) => x.startedAt - y.startedAt);
    for (let i = 1; i < byStart.length; i += 1) {
      assert.ok(
        byStart[i]!.startedAt >= byStart[i - 1]!.endedAt,
        'critical sections do not overlap',
      );
      assert.ok(BigInt(byStart[i]!.fencingToken) > BigInt(byStart[i - 1]!.fencingToken));
    }
  });

  it('answers 423 Locked with Retry-After while another owner holds the lock', async () => {
    const holder = new LockClient({ endpoints: etcd.endpoints, namespace });
    try {
      const lock = await holder.acquire('busy:x');

      const busy = await fetch(url(1, '/busy/x'));
      assert.equal(busy.status, 423);
      assert.equal(busy.headers.get('retry-after'), '3');
      assert.match(busy.headers.get('content-type') ?? '', /application\/json/);
      const lockedBody: LockedResponseBody = {
        statusCode: 423,
        message: 'The resource is locked by another request; retry later.',
        error: 'Locked',
      };
      assert.deepEqual(await busy.json(), lockedBody, "Nest's error body, no developer advice");

      const timedOut = await fetch(url(0, '/wait/x'));
      assert.equal(timedOut.status, 423);
      assert.equal(timedOut.headers.get('retry-after'), '1');
      assert.deepEqual(await timedOut.json(), lockedBody);

      await lock.release();
      const free = await fetch(url(1, '/busy/x'));
      assert.equal(free.status, 200);
      assert.deepEqual(await free.json(), { instance: 'two', key: 'x' });
    } finally {
      await holder.close();
    }
  });

  it('runs requests for different keys in parallel, on one replica and across both', async () => {
    const responses = await Promise.all([
      fetch(url(0, '/rendezvous/a/b')),
      fetch(url(1, '/rendezvous/b/a')),
      fetch(url(0, '/rendezvous/c/d')),
      fetch(url(0, '/rendezvous/d/c')),
    ]);
    assert.deepEqual(
      responses.map((response) => response.status),
      [200, 200, 200, 200],
    );
  });

  it('passes errors that are not about locks through untouched', async () => {
    const response = await fetch(url(0, '/fail'));
    assert.equal(response.status, 500);
    assert.equal(response.headers.get('retry-after'), null);
    assert.deepEqual(await response.json(), { statusCode: 500, message: 'Internal server error' });
  });

  it('exits with code 0 on SIGTERM and leaves no keys or leases', async () => {
    const codes = await Promise.all(apps.map((app) => app.stop()));
    assert.deepEqual(codes, [0, 0], apps.map((app) => app.stderr()).join('\n'));
    assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
  });
});
