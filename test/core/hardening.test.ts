// Defects a review found in the etcd backend, each shown against real etcd: background deletes
// that never stop, key names that are never freed, leases renewed forever, keepalive failures
// nobody hears of, a shutdown that deletes what revoking deletes anyway, and a holder paused past
// its lease that never learns it lost the lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Etcd3, Range } from 'etcd3';

import { LockClient, StoreRejectedError, type LockClientOptions } from '../../lib/core/index.js';
import { messagesBetween, readMessageCounts } from '../bench/etcd-messages.js';
import { enableAuth, handledCalls, LOCK_USER, ROOT } from '../safety/safety-helpers.js';
import {
  leftovers,
  startEtcd,
  startTcpProxy,
  waitFor,
  type EtcdCluster,
} from '../support/index.js';

const pausedHolderScript = fileURLToPath(new URL('./fixtures/paused-holder.js', import.meta.url));
const pausedWaiterScript = fileURLToPath(new URL('./fixtures/paused-waiter.js', import.meta.url));

/** Sum of etcd's counts of calls refused for permission, whatever the method. */
const refusedCalls = async (endpoint: string): Promise<number> =>
  Object.entries(await handledCalls(endpoint))
    .filter(([call]) => call.endsWith(':PermissionDenied'))
    .reduce((sum, [, count]) => sum + count, 0);

/** The slot of the only queue key under `namespace` (`<lease>.<slot>`); `undefined`: not one key. */
async function onlySlot(endpoints: string[], namespace: string): Promise<number | undefined> {
  const { keys } = await leftovers(endpoints, namespace);
  return keys.length === 1 ? Number(keys[0].split('.').at(-1)) : undefined;
}

describe('an etcd that refuses calls', () => {
  const allowed = 'allowed/';
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
    await enableAuth(etcd.endpoints, allowed);
  });
  after(() => etcd?.stop());

  it('refused acquires leave no background delete behind (etcd answered: nothing to sweep)', async () => {
    const client = new LockClient({
      endpoints: etcd.endpoints,
      namespace: 'forbidden/',
      auth: { ...LOCK_USER },
      callTimeoutMs: 1_000,
    });
    try {
      for (let i = 0; i < 5; i += 1) {
        await assert.rejects(client.acquire(`refused-${i}`, { waitMs: 1_000 }), StoreRejectedError);
      }
      const refusedAfterAcquires = await refusedCalls(etcd.endpoints[0]);
      await delay(3_000); // the old sweep retried every refused key within this time
      assert.equal(
        (await refusedCalls(etcd.endpoints[0])) - refusedAfterAcquires,
        0,
        'refused calls after the acquires',
      );
    } finally {
      await client.close();
    }
  });

  it('a release etcd refuses is reported once and not retried; the lease is let go so etcd expires the key', async () => {
    const client = new LockClient({
      endpoints: etcd.endpoints,
      namespace: allowed,
      auth: { ...LOCK_USER },
      callTimeoutMs: 1_000,
    });
    const failures: string[] = [];
    client.observe({ storeError: ({ operation }) => failures.push(operation) });
    const admin = new Etcd3({ hosts: etcd.endpoints, auth: { ...ROOT } });
    try {
      const lock = await client.acquire('revoked');
      await admin
        .role('lock-namespace')
        .revoke({ permission: 'Readwrite', range: Range.prefix(allowed) });
      await lock.release(); // never throws
      assert.deepEqual(client.leaseStates(), [], 'its lease was let go');
      // The lease's revoke is refused too (the key on it may not be deleted): etcd expires it.
      await waitFor('the revoke to be tried', () => failures.includes('lease revoke'));
      const refusedAfterRelease = await refusedCalls(etcd.endpoints[0]);
      await delay(2_000);
      assert.equal((await refusedCalls(etcd.endpoints[0])) - refusedAfterRelease, 0);
      assert.deepEqual(failures, ['release', 'lease revoke']);
    } finally {
      await admin
        .role('lock-namespace')
        .grant({ permission: 'Readwrite', range: Range.prefix(allowed) });
      admin.close();
      await client.close();
    }
  });
});

describe('keys, leases and shutdown', () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd?.stop());
  const open = (namespace: string, options: Partial<LockClientOptions> = {}) =>
    new LockClient({ endpoints: etcd.endpoints, namespace, ...options });

  it('frees the key names of acquisitions aborted in flight', async () => {
    const namespace = 'aborted/';
    const client = open(namespace);
    try {
      await (await client.acquire('x')).release(); // the lease exists: the next txns go at once
      const aborted = Array.from({ length: 200 }, () => {
        const abort = new AbortController();
        const acquiring = client.acquire('x', { waitMs: 10_000, signal: abort.signal });
        setImmediate(() => abort.abort()); // after the txn was sent, before its answer
        return acquiring.then(
          (lock) => lock.release(),
          () => undefined,
        );
      });
      await Promise.all(aborted);
      await waitFor('every aborted key to be deleted and its name freed', async () => {
        const lock = await client.acquire('x');
        try {
          return (await onlySlot(etcd.endpoints, namespace)) === 0;
        } finally {
          await lock.release();
        }
      });
    } finally {
      await client.close();
    }
  });

  it('lets a lease go once no lock has used it for leaseIdleMs, and grants a new one when needed', async () => {
    const namespace = 'idle/';
    const client = open(namespace, { ttl: 3, leaseIdleMs: 500 });
    try {
      await (await client.acquire('once')).release();
      assert.equal(client.leaseStates().length, 1);
      await waitFor('the idle lease to be revoked', async () => {
        return (await leftovers(etcd.endpoints, namespace)).leases.length === 0;
      });
      assert.deepEqual(client.leaseStates(), []);
      const again = await client.acquire('once');
      assert.equal(client.leaseStates().length, 1);
      await again.release();
    } finally {
      await client.close();
    }
  });

  it('keeps a lease in use, however long', async () => {
    const namespace = 'busy/';
    const client = open(namespace, { ttl: 1, leaseIdleMs: 200 });
    try {
      const lock = await client.acquire('held');
      await delay(1_500);
      assert.equal(lock.signal.aborted, false);
      assert.equal((await leftovers(etcd.endpoints, namespace)).leases.length, 1);
      await lock.release();
    } finally {
      await client.close();
    }
  });

  it('reports failed keepalives, and their end, through the store-error hooks', async () => {
    const proxy = await startTcpProxy(etcd.members[0].clientUrl);
    const client = new LockClient({ endpoints: [proxy.endpoint], namespace: 'keepalive/', ttl: 3 });
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => {
      if (warning.code === 'ZZLOCK_STORE_OUTAGE') warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    const failed: string[] = [];
    const recovered: string[] = [];
    client.observe({
      storeError: ({ operation }) => failed.push(operation),
      storeRecovered: ({ operation }) => recovered.push(operation),
    });
    try {
      const lock = await client.acquire('renewed');
      proxy.stall();
      await waitFor('a keepalive to fail', () => failed.includes('lease keepalive'));
      proxy.restore();
      await waitFor('keepalives to recover', () => recovered.includes('lease keepalive'));
      assert.equal(lock.signal.aborted, false, 'the lock outlived a short outage');
      await lock.release();
      // One line when the outage starts, one when it ends: not one per failed attempt.
      await waitFor('the outage warnings', () => warnings.length >= 2);
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(warnings[0], /failing lease keepalive/);
      assert.match(warnings[1], /answers lease keepalive again/);
    } finally {
      process.off('warning', onWarning);
      await client.close();
      await proxy.close();
    }
  });

  it('shuts down by revoking its leases, with no delete per held key', async () => {
    const namespace = 'shutdown/';
    const client = open(namespace, { shutdownGraceMs: 0 });
    for (let i = 0; i < 20; i += 1) await client.acquire(`held-${i}`);
    const before = await readMessageCounts(etcd.endpoints);
    await client.close();
    const { calls } = messagesBetween(before, await readMessageCounts(etcd.endpoints));
    assert.deepEqual(calls, { LeaseRevoke: 1 });
    assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
  });

  it('a holder paused past its lease learns it lost the lock at its first look after resuming', async () => {
    const ttl = 2;
    const holder = spawn(process.execPath, [pausedHolderScript], {
      env: {
        ...process.env,
        NODE_TEST_CONTEXT: undefined, // a plain process, not a child of the test runner
        ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
        LOCK_NAME: 'paused',
        LOCK_TTL: String(ttl),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(holder, 'exit');
    const lines = createInterface({ input: holder.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    const other = open('paused/', { ttl });
    try {
      const held = await next();
      assert.match(held, /^held \d+$/);
      holder.kill('SIGSTOP');
      const taken = await other.acquire('paused', { waitMs: ttl * 1000 + 3_000 });
      holder.kill('SIGCONT');
      assert.equal(await next(), 'resumed true', 'its signal had aborted at its first look');
      assert.equal(await next(), 'released true');
      assert.ok(taken.fencingToken > BigInt(held.split(' ')[1]));
      await taken.release();
      await exited;
    } finally {
      holder.kill('SIGKILL');
      await other.close();
    }
  });

  it('a waiter paused with "you are next" in hand is not granted once its lease ran out meanwhile', async () => {
    const ttl = 2;
    const namespace = 'paused-waiter/';
    const holder = open(namespace, { ttl });
    const other = open(namespace, { ttl });
    const first = await holder.acquire('waited');
    const waiter = spawn(process.execPath, [pausedWaiterScript], {
      env: {
        ...process.env,
        NODE_TEST_CONTEXT: undefined, // a plain process, not a child of the test runner
        ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
        ZZLOCK_NAMESPACE: namespace,
        LOCK_NAME: 'waited',
        LOCK_TTL: String(ttl),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(waiter, 'exit');
    const lines = createInterface({ input: waiter.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    try {
      assert.equal(await next(), 'queued');
      await waitFor('the waiter to queue', async () => {
        return (await leftovers(etcd.endpoints, namespace)).keys.length === 2;
      });
      await first.release();
      assert.equal(await next(), 'confirmed'); // and it stopped itself
      // While it is stopped its lease runs out, and the lock goes to another.
      const taken = await other.acquire('waited', { waitMs: ttl * 1000 + 3_000 });
      waiter.kill('SIGCONT');
      await delay(200);
      await taken.release();
      const [, token, aborted] = (await next()).split(' ');
      assert.ok(
        BigInt(token) > taken.fencingToken,
        `granted token ${token} after token ${taken.fencingToken} (a fencing inversion)`,
      );
      assert.equal(aborted, 'false');
      await exited;
    } finally {
      waiter.kill('SIGKILL');
      await Promise.all([holder.close(), other.close()]);
    }
  });

  it('tryAcquire is no grant when a key of its name committed late behind another holder', async () => {
    const namespace = 'late-key/';
    const client = open(namespace);
    const other = open(namespace);
    const inspector = new Etcd3({ hosts: etcd.endpoints });
    try {
      await (await client.acquire('x')).release(); // client's lease exists; slot 0 is free again
      const [{ leaseId }] = client.leaseStates();
      const holder = await other.acquire('x');
      // What an enqueue txn of `client` that etcd answered only long after would leave: its key,
      // on its lease, behind the holder's.
      await inspector
        .put(`${namespace}x/${leaseId}.0`)
        .value('late')
        .lease(BigInt(`0x${leaseId}`).toString());
      assert.equal(await client.tryAcquire('x'), null, 'held by another');
      await waitFor('the late key to be cleaned up', async () => {
        return (await leftovers(etcd.endpoints, namespace)).keys.length === 1;
      });
      await holder.release();
      await (await client.acquire('x')).release();
    } finally {
      inspector.close();
      await Promise.all([client.close(), other.close()]);
    }
  });
});
