// Security against a real etcd, beyond the TLS and password basics of
// test/core/secure-etcd.test.ts: a user whose role is limited to the lock namespace prefix locks
// inside it and gets a clear permission error outside; an expired auth token is fetched again, for
// plain calls and for a waiter's watch; no client can release or renew another owner's lock; and
// two applications with different namespaces never interfere.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { Etcd3 } from 'etcd3';
import {
  LockBusyError,
  LockClient,
  LockNotHeldError,
  LockService,
  LockTimeoutError,
  ZZLOCK_MANAGER,
  ZZLockModule,
  type LockHandle,
  type LockManager,
} from '../../lib/index.js';
import { leftovers, startEtcd, waitFor, type EtcdCluster } from '../support/index.js';
import {
  assertRejected,
  bounded,
  enableAuth,
  handledCalls,
  LOCK_USER,
  ROOT,
  thrownBy,
} from './safety-helpers.js';

/** TTL of the leases whose survival the tests check: short, so outliving it is quick. */
const LEASE_TTL_SECONDS = 2;

/** Lifetime of an idle simple auth token, in seconds (etcd's --auth-token-ttl). */
const TOKEN_TTL_SECONDS = 2;

/** The watchers etcd serves right now, and how many watch streams have ended so far. */
async function watchState(endpoint: string): Promise<{ watchers: number; streamsEnded: number }> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const ended = text.matchAll(
    /^grpc_server_handled_total\{[^}]*grpc_method="Watch",grpc_service="etcdserverpb\.Watch"[^}]*\} (\d+)$/gm,
  );
  return {
    watchers: Number(/^etcd_debugging_mvcc_watcher_total (\d+)$/m.exec(text)?.[1] ?? NaN),
    streamsEnded: [...ended].reduce((sum, match) => sum + Number(match[1]), 0),
  };
}

/** Authenticates through etcd's JSON gateway: a token of `user`. */
async function tokenOf(endpoint: string, user: typeof LOCK_USER): Promise<string> {
  const response = await fetch(`${endpoint}/v3/auth/authenticate`, {
    method: 'POST',
    body: JSON.stringify({ name: user.username, password: user.password }),
  });
  return ((await response.json()) as { token: string }).token;
}

/** etcd's answer to a read made with `token`: its error text, or 'ok'. */
async function readWith(endpoint: string, token: string, key: string): Promise<string> {
  const response = await fetch(`${endpoint}/v3/kv/range`, {
    method: 'POST',
    headers: { Authorization: token },
    body: JSON.stringify({ key: Buffer.from(key).toString('base64') }),
  });
  const body = (await response.json()) as { error?: string };
  return body.error ?? 'ok';
}

/** A lock key of `namespace` and what etcd knows of it: revisions and lease. */
async function keyState(admin: Etcd3, namespace: string, name: string) {
  const { kvs } = await admin.getAll().prefix(`${namespace}${name}/`).exec();
  return kvs.map((kv) => ({
    key: kv.key.toString(),
    create: kv.create_revision,
    mod: kv.mod_revision,
    lease: kv.lease,
  }));
}

/** Whether etcd still has the lease, with time left. */
async function leaseAlive(admin: Etcd3, lease: string): Promise<boolean> {
  const { TTL } = await admin.leaseClient.leaseTimeToLive({ ID: lease });
  return Number(TTL) > 0;
}

describe('etcd with auth: a user whose role covers only the lock namespace prefix', () => {
  const prefix = 'app/';
  let etcd: EtcdCluster;
  // Each test closes its clients (afterEach) while their auth tokens are fresh: a client left idle
  // through the token test would have to authenticate again just to revoke its lease.
  const clients: LockClient[] = [];
  const open = (namespace: string) => {
    const client = new LockClient({
      endpoints: etcd.endpoints,
      namespace,
      auth: { ...LOCK_USER },
      callTimeoutMs: 3_000,
    });
    clients.push(client);
    return client;
  };
  const state = (namespace: string) => leftovers(etcd.endpoints, namespace, { auth: { ...ROOT } });

  before(async () => {
    etcd = await startEtcd({
      extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL_SECONDS)],
    });
    await enableAuth(etcd.endpoints, prefix);
  });
  afterEach(() => Promise.all(clients.splice(0).map((client) => client.close())));
  after(async () => {
    if (etcd !== undefined) {
      for (const namespace of [prefix, 'other/']) {
        assert.deepEqual(await state(namespace), { keys: [], leases: [] });
      }
    }
    await etcd?.stop();
  });

  it('locks, excludes and releases inside the prefix, also in a namespace nested under it', async () => {
    for (const namespace of [prefix, `${prefix}team/`]) {
      const [owner, rival] = [open(namespace), open(namespace)];
      const lock = await bounded('acquire', owner.acquire('report'));
      assert.equal(await bounded('tryAcquire', rival.tryAcquire('report')), null);
      assert.equal((await state(namespace)).keys.length, 1);
      await lock.release();
      const next = await bounded('acquire after release', rival.acquire('report', { waitMs: 0 }));
      await next.release();
    }
  });

  it('outside the prefix gets a permission error that says what to grant, and writes nothing', async () => {
    const outside = open('other/');
    const error = await thrownBy('acquire outside', () => outside.acquire('report'));
    assertRejected(error, 'permission-denied', 'acquire outside the prefix');
    assert.match(
      (error as Error).message,
      /etcdserver: permission denied.*grant-permission <role> --prefix=true readwrite <namespace>/,
    );
    assert.deepEqual((await state('other/')).keys, []);
  });

  it('fetches a new token once the old one expired, for calls and for a waiter’s watch', async () => {
    const endpoint = etcd.endpoints[0];
    const [holder, waiter] = [open(prefix), open(prefix)];
    const handoff = async (name: string) => {
      const held = await bounded('holder acquire', holder.acquire(name));
      const start = await watchState(endpoint);
      const waiting = waiter.acquire(name, { waitMs: 20_000 });
      // The waiter's watch is registered (its token accepted) before the lock is handed over:
      // one more watcher, or, when etcd refused the watch on a stream with a dead token, a new
      // stream in place of the old one (whose other watches ended with it) with the watch on it.
      await waitFor(`the waiter's watch on ${name}`, async () => {
        const now = await watchState(endpoint);
        return (
          now.watchers > start.watchers ||
          (now.streamsEnded > start.streamsEnded && now.watchers >= 1)
        );
      });
      await held.release();
      const granted = await bounded('waiter granted', waiting);
      assert.ok(granted.fencingToken > held.fencingToken);
      await granted.release();
    };
    await handoff('before-expiry');

    // Let every token of this moment expire: idle tokens live TOKEN_TTL_SECONDS (keepalives do
    // not use them). A token taken now shows that they really did.
    const witness = await tokenOf(endpoint, LOCK_USER);
    assert.equal(await readWith(endpoint, witness, `${prefix}x`), 'ok');
    await delay(TOKEN_TTL_SECONDS * 1000 + 2_000);
    assert.match(await readWith(endpoint, witness, `${prefix}x`), /invalid auth token/);

    const before = await handledCalls(endpoint);
    // A new lock name: its watch is created on the waiter's old watch stream, whose token is dead.
    await handoff('after-expiry');
    await handoff('before-expiry');
    const after = await handledCalls(endpoint);
    const grown = (call: string) => (after[call] ?? 0) - (before[call] ?? 0);
    assert.ok(grown('Txn:Unauthenticated') >= 1, 'the expired token was never refused');
    assert.ok(grown('Authenticate:OK') >= 2, 'holder and waiter did not both fetch a new token');
  });
});

describe('ownership: a client never releases or renews another owner’s lock', () => {
  const namespace = 'owners/';
  let etcd: EtcdCluster;
  let admin: Etcd3;

  before(async () => {
    etcd = await startEtcd();
    admin = new Etcd3({ hosts: etcd.endpoints });
  });
  after(async () => {
    admin?.close();
    if (etcd !== undefined) {
      assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
    }
    await etcd?.stop();
  });

  it('leaves A’s key and lease untouched whatever B does, and B waits its turn', async () => {
    const a = new LockClient({ endpoints: etcd.endpoints, namespace, ttl: LEASE_TTL_SECONDS });
    const b = new LockClient({ endpoints: etcd.endpoints, namespace, ttl: LEASE_TTL_SECONDS });
    try {
      const lock = await a.acquire('x');
      const [held] = await keyState(admin, namespace, 'x');
      assert.ok(held !== undefined);

      await assert.rejects(b.acquire('x', { waitMs: 300 }), LockTimeoutError);
      assert.equal(await b.tryAcquire('x'), null);
      await assert.rejects(
        b.withLock('x', () => 'ran', { waitMs: 0 }),
        LockBusyError,
      );
      assert.throws(() => b.current('x'), LockNotHeldError);
      // B waits, then gives up by abort: its own queued key goes, A's stays.
      const abort = new AbortController();
      const waiting = b.acquire('x', { signal: abort.signal, waitMs: Infinity });
      await waitFor('B to queue', async () => (await keyState(admin, namespace, 'x')).length === 2);
      abort.abort();
      await assert.rejects(waiting);
      await b.close();

      // A's key is the same key, never written since, on the same lease, which A alone renews:
      // longer than its TTL after B's close, it is still alive.
      await delay(LEASE_TTL_SECONDS * 1000 + 1_000);
      assert.deepEqual(await keyState(admin, namespace, 'x'), [held]);
      assert.ok(await leaseAlive(admin, held.lease));
      assert.equal(lock.signal.aborted, false);
      await lock.release();
      assert.deepEqual(await keyState(admin, namespace, 'x'), []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('gives another LockService no hold through a handle of this one', async () => {
    const boot = () =>
      Test.createTestingModule({
        imports: [ZZLockModule.forRoot({ endpoints: etcd.endpoints, namespace, metrics: false })],
      }).compile();
    const [one, two] = await Promise.all([boot(), boot()]);
    try {
      const [first, second] = [one.get(LockService), two.get(LockService)];
      const lock = await first.acquire('handed');
      // Handing A's handle to B's manager makes B neither holder nor re-entrant.
      const inside = await two.get<LockManager>(ZZLOCK_MANAGER).runHolding(lock, async () => ({
        tried: await second.tryAcquire('handed'),
        current: (() => {
          try {
            return second.current('handed');
          } catch (error) {
            return error;
          }
        })(),
      }));
      assert.equal(inside.tried, null);
      assert.ok(inside.current instanceof LockNotHeldError);
      await lock.release();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('lets a stale holder’s release remove only its own key, never the next owner’s', async () => {
    const a = new LockClient({ endpoints: etcd.endpoints, namespace, ttl: 30 });
    const b = new LockClient({ endpoints: etcd.endpoints, namespace, ttl: 30 });
    try {
      const stale = await a.acquire('y');
      const [held] = await keyState(admin, namespace, 'y');
      const waiting = b.acquire('y', { waitMs: 20_000 });
      await waitFor('B to queue', async () => (await keyState(admin, namespace, 'y')).length === 2);
      // A's lease ends behind A's back (as if it had expired): B is granted.
      await admin.leaseClient.leaseRevoke({ ID: held.lease });
      const next: LockHandle = await bounded('B granted', waiting);
      assert.ok(next.fencingToken > stale.fencingToken);
      const [owned] = await keyState(admin, namespace, 'y');
      assert.notEqual(owned.lease, held.lease);

      // A has not noticed yet (30 s TTL): its release and its close touch B's key not at all.
      await stale.release();
      await a.close();
      assert.deepEqual(await keyState(admin, namespace, 'y'), [owned]);
      assert.ok(await leaseAlive(admin, owned.lease));
      assert.equal(next.signal.aborted, false);
      await next.release();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('two applications with different namespaces', () => {
  let etcd: EtcdCluster;
  let admin: Etcd3;

  before(async () => {
    etcd = await startEtcd();
    admin = new Etcd3({ hosts: etcd.endpoints });
  });
  after(async () => {
    admin?.close();
    await etcd?.stop();
  });

  for (const [one, two] of [
    ['billing/', 'shipping/'],
    ['shop/', 'shop2/'],
  ] as const) {
    it(`hold the same name at once and stay apart: ${one} and ${two}`, async () => {
      const first = new LockClient({
        endpoints: etcd.endpoints,
        namespace: one,
        ttl: LEASE_TTL_SECONDS,
        shutdownGraceMs: 0,
      });
      const second = new LockClient({
        endpoints: etcd.endpoints,
        namespace: two,
        ttl: LEASE_TTL_SECONDS,
      });
      try {
        const [a, b] = await Promise.all([
          first.acquire('report', { waitMs: 0 }),
          second.acquire('report', { waitMs: 0 }),
        ]);
        const [keyOfSecond] = await keyState(admin, two, 'report');
        assert.equal((await keyState(admin, one, 'report')).length, 1);
        assert.ok(keyOfSecond !== undefined);

        // Closing the first application deletes its key and lease only.
        await first.close();
        assert.ok(a.signal.aborted);
        assert.deepEqual(await keyState(admin, one, 'report'), []);
        await delay(LEASE_TTL_SECONDS * 1000 + 1_000); // the second's lease outlives its TTL
        assert.deepEqual(await keyState(admin, two, 'report'), [keyOfSecond]);
        assert.ok(await leaseAlive(admin, keyOfSecond.lease));
        assert.equal(b.signal.aborted, false);
        await b.release();
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
      for (const namespace of [one, two]) {
        assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
      }
    });
  }
});
