// Failure semantics against real etcd: a holder SIGKILLed, etcd frozen past the TTL, etcd
// unreachable, a client's connection cut while it waits, and a clean close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  LockClient,
  LockClientClosedError,
  LockLostError,
  StoreUnavailableError,
  type LockHandle,
} from '../../lib/core/index.js';
import {
  leftovers as leftoversIn,
  startEtcd,
  startTcpProxy,
  waitFor,
  type EtcdCluster,
  type TcpProxy,
} from '../support/index.js';

const TTL = 3;
const namespace = 'faults/';
const leftovers = (endpoints: string[]) => leftoversIn(endpoints, namespace);
const eventually = (check: () => Promise<boolean>) => waitFor('etcd to show the queue', check);
const holderScript = fileURLToPath(new URL('./fixtures/holder.js', import.meta.url));

describe('faults on a single etcd', () => {
  let etcd: EtcdCluster;
  const clients: LockClient[] = [];
  const open = (
    endpoints = etcd.endpoints,
    extra: { callTimeoutMs?: number; shutdownGraceMs?: number } = {},
  ) => {
    const client = new LockClient({ endpoints, namespace, ttl: TTL, ...extra });
    clients.push(client);
    return client;
  };

  before(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  after(() => etcd?.stop());

  it('grants the next waiter within TTL + 1 s of the holder being SIGKILLed', async () => {
    const holder = spawn(process.execPath, [holderScript], {
      env: {
        ...process.env,
        ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
        LOCK_NAME: 'crash',
        LOCK_TTL: String(TTL),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: holder.stdout! }), 'line')) as [string];
    assert.match(line, /^held \d+$/);

    const waiter = open();
    const waiting = waiter.acquire('crash', { waitMs: 60_000 });
    await eventually(async () => (await leftovers(etcd.endpoints)).keys.length === 2);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const killedAt = performance.now();
    const lock = await waiting;
    const grantedAfterMs = performance.now() - killedAt;
    assert.ok(lock.fencingToken > BigInt(line.split(' ')[1]));
    assert.ok(
      grantedAfterMs <= TTL * 1000 + 1000,
      `granted ${Math.round(grantedAfterMs)} ms after the kill`,
    );
    await lock.release();
  });

  it('aborts a holder’s signal before the TTL runs out when etcd is frozen', async () => {
    const client = open(etcd.endpoints, { callTimeoutMs: 1000 });
    const lock = await client.acquire('frozen');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // let a keepalive round trip happen
    const [lease] = client.leaseStates();
    const lastKeepaliveAt = performance.now() - lease.sinceKeepaliveMs;
    await etcd.freeze(etcd.members[0]);
    try {
      await once(lock.signal, 'abort');
      const lostAfterMs = performance.now() - lastKeepaliveAt;
      assert.ok(lock.signal.reason instanceof LockLostError);
      assert.equal((lock.signal.reason as LockLostError).code, 'ZZLOCK_LOST');
      assert.ok(
        lostAfterMs < TTL * 1000,
        `lost ${Math.round(lostAfterMs)} ms after the last keepalive`,
      );
      await lock.release(); // never throws for a lost lock
    } finally {
      await etcd.thaw(etcd.members[0]);
    }
    const again = await client.acquire('frozen', { waitMs: 15_000 });
    assert.equal(again.signal.aborted, false, 'a fresh lease serves new acquisitions');
    await again.release();
  });

  it('fails with StoreUnavailableError when etcd does not answer: at once without a wait, at the end of a wait', async () => {
    const proxy = await startTcpProxy(etcd.members[0].clientUrl);
    try {
      proxy.stall();
      const client = open([proxy.endpoint], { callTimeoutMs: 500 });
      const unavailable = (error: unknown) => {
        assert.ok(error instanceof StoreUnavailableError, String(error));
        assert.equal(error.code, 'ZZLOCK_STORE_UNAVAILABLE');
        return true;
      };
      let startedAt = performance.now();
      await assert.rejects(client.tryAcquire('unreachable'), unavailable);
      let elapsedMs = performance.now() - startedAt;
      assert.ok(elapsedMs < 500 + 1000, `tryAcquire failed after ${Math.round(elapsedMs)} ms`);
      // A wait rides etcd's silence out (it may be a leader election) and fails when it ends.
      startedAt = performance.now();
      await assert.rejects(client.acquire('unreachable', { waitMs: 3_000 }), unavailable);
      elapsedMs = performance.now() - startedAt;
      assert.ok(elapsedMs >= 3_000, `acquire gave up after ${Math.round(elapsedMs)} ms`);
      assert.ok(elapsedMs < 3_000 + 1000, `acquire failed after ${Math.round(elapsedMs)} ms`);
      await client.close(); // returns although etcd never answered
      const refused = open(['http://127.0.0.1:1'], { callTimeoutMs: 500 });
      await assert.rejects(refused.tryAcquire('unreachable'), StoreUnavailableError);
    } finally {
      await proxy.close();
    }
  });

  it('re-reads the queue after its watch reconnects, so a release during the cut is not missed', async () => {
    let proxy: TcpProxy | undefined = await startTcpProxy(etcd.members[0].clientUrl);
    try {
      const holder = await open().acquire('cut');
      const waiter = open([proxy.endpoint]);
      const waiting = waiter.acquire('cut', { waitMs: 30_000 });
      await eventually(async () => (await leftovers(etcd.endpoints)).keys.length === 2);
      proxy.cut();
      await holder.release(); // the waiter's watch cannot see this delete
      proxy.restore();
      const lock: LockHandle = await waiting;
      assert.ok(lock.fencingToken > holder.fencingToken);
      await lock.release();
      await waiter.close(); // while the proxy still forwards, so its lease is revoked
    } finally {
      await proxy?.close();
      proxy = undefined;
    }
  });

  it('a release that cannot reach etcd resolves, and its key is deleted once etcd is back', async () => {
    const proxy = await startTcpProxy(etcd.members[0].clientUrl);
    try {
      const holderClient = open([proxy.endpoint], { callTimeoutMs: 500 });
      const holder = await holderClient.acquire('release-retry');
      proxy.stall();
      await holder.release(); // never throws: the delete is retried in the background
      assert.equal(holder.released, true);
      const waiter = open();
      const waiting = waiter.acquire('release-retry', { waitMs: 30_000 });
      // The released key stays while etcd cannot be told: the waiter queues behind it.
      await eventually(async () => (await leftovers(etcd.endpoints)).keys.length === 2);
      proxy.restore();
      const next = await waiting; // granted by the retried delete, long before the TTL
      assert.equal(holder.signal.aborted, false, 'the lease was kept alive throughout');
      await next.release();
      await holderClient.close(); // while the proxy forwards, so its lease is revoked
    } finally {
      await proxy.close();
    }
  });

  it('close() leaves no keys and no leases in etcd', async () => {
    const client = open(etcd.endpoints, { shutdownGraceMs: 200 });
    const held = await client.acquire('closing-a');
    await client.acquire('closing-b', { ttl: TTL + 2 });
    const other = open();
    const queued = other.acquire('closing-a', { waitMs: 30_000 }).then(
      () => assert.fail('granted after close'),
      (error: unknown) => error,
    );
    await eventually(async () => (await leftovers(etcd.endpoints)).keys.length === 3);
    const ours = [...client.leaseStates(), ...other.leaseStates()].map((lease) => lease.leaseId);
    assert.equal(ours.length, 3, 'one lease per TTL per client');
    await Promise.all([client.close(), other.close()]);
    assert.equal(((await queued) as LockClientClosedError).code, 'ZZLOCK_CLOSED');
    assert.ok(held.signal.aborted, 'a lock still held at close is reported lost');
    const left = await leftovers(etcd.endpoints);
    assert.deepEqual(left.keys, []);
    assert.deepEqual(
      left.leases.filter((lease) => ours.includes(lease)),
      [],
      'our leases are revoked',
    );
  });
});
