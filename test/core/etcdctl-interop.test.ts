// A promise, not an accident: zzlock and etcd's own lock recipe (Go's `concurrency.Mutex`, here
// `etcdctl lock`) exclude each other on the same lock and share one FIFO queue by create
// revision, so a Go service and a Nest service can share a lock. The mapping (README, "Sharing a
// lock with Go services and etcdctl"): zzlock namespace `interop/` + name `x` is
// `etcdctl lock interop/x`; `/` and `%` in a zzlock name are percent-encoded (`a/b` is
// `interop/a%2Fb`). Only that mapping and the observable behaviour are relied on here: which
// keys lie under a lock's prefix, who holds, and in which order grants come.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { it } from 'node:test';
import { LockClient, type LockHandle } from '../../lib/core/index.js';
import { etcdForFile, killAll, tracked, waitFor } from '../support/index.js';

const namespace = 'interop/';
/** Bound of every wait of this file: generous, nothing here is a speed claim. */
const WAIT_MS = 20_000;

let locks: LockClient;
/** A second zzlock client, as another replica would be. */
let replica: LockClient;
/** Every etcdctl started: `after` kills and awaits whichever still runs. */
const children = new Set<ChildProcess>();
const store = etcdForFile({
  setUp: (etcd) => {
    locks = new LockClient({ endpoints: etcd.endpoints, namespace });
    replica = new LockClient({ endpoints: etcd.endpoints, namespace });
  },
  cleanUp: async () => {
    await killAll(children);
    await Promise.all([locks?.close(), replica?.close()]);
  },
});

/** How an etcdctl process ended. */
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One `etcdctl lock <name>` process, holding until it is told to release. */
interface EtcdctlLock {
  /** The key etcdctl printed once it held the lock, `undefined` before. */
  readonly key: string | undefined;
  /**
   * Whether etcdctl holds the lock (it printed its key). Throws if it exited without holding, with
   * its stderr, so a wait on it fails at once instead of at its bound.
   */
  holds(): boolean;
  /** Whether the process still runs. */
  running(): boolean;
  /** SIGTERM: etcdctl deletes its key (held or queued) and exits; resolves with how it ended. */
  release(): Promise<Exit>;
}

/**
 * Starts `etcdctl lock <name>` without a command: it prints its key (and the empty value) once it
 * holds the lock and holds until SIGTERM or SIGINT.
 */
function etcdctlLock(name: string): EtcdctlLock {
  const child = spawn('etcdctl', ['--endpoints', store.etcd.endpoints.join(','), 'lock', name], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  exited.catch(() => undefined); // observed through holds() and release()
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const key = (): string | undefined => (stdout.includes('\n') ? stdout.split('\n')[0] : undefined);
  return {
    get key() {
      return key();
    },
    holds() {
      if (key() !== undefined) return true;
      if (exit !== undefined) {
        throw new Error(
          `etcdctl lock ${name} exited (${exit.code ?? exit.signal}) before holding: ${stderr}`,
        );
      }
      return false;
    },
    running: () => exit === undefined,
    async release() {
      if (exit === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The keys under a lock's etcd prefix (`<namespace><encoded name>/`), held or queued. */
async function keysUnder(prefix: string): Promise<string[]> {
  return store.inspector.getAll().prefix(prefix).keys();
}

/** The create revision of a key, which is a zzlock grant's fencing token. */
async function createRevision(key: string): Promise<bigint> {
  const { kvs } = await store.inspector.get(key).exec();
  assert.equal(kvs.length, 1, `${key} exists`);
  return BigInt(kvs[0].create_revision);
}

it('zzlock waits for etcdctl: tryAcquire is null while etcdctl holds, acquire is granted after it released', async () => {
  const etcdctl = etcdctlLock('interop/x');
  try {
    await waitFor('etcdctl to hold interop/x', () => etcdctl.holds(), WAIT_MS);
    assert.ok(etcdctl.key?.startsWith('interop/x/'), `etcdctl's key ${etcdctl.key}`);

    assert.equal(await locks.tryAcquire('x'), null, 'tryAcquire while etcdctl holds');
    await waitFor(
      'tryAcquire to leave no key behind',
      async () => (await keysUnder('interop/x/')).length === 1,
      WAIT_MS,
    );

    let released = false;
    const waiting = tracked(
      locks.acquire('x', { waitMs: WAIT_MS }).then((lock) => ({ lock, afterRelease: released })),
    );
    await waitFor(
      'zzlock to queue behind etcdctl',
      async () => (await keysUnder('interop/x/')).length === 2,
      WAIT_MS,
    );
    assert.equal(waiting.settled(), false, 'zzlock is not granted while etcdctl holds');
    assert.ok(etcdctl.running());

    const etcdctlRevision = await createRevision(etcdctl.key!);
    released = true;
    assert.deepEqual(await etcdctl.release(), { code: 0, signal: null }, 'etcdctl unlocked');
    const { lock, afterRelease } = await waiting.promise;
    assert.ok(afterRelease, 'granted only after etcdctl released');
    assert.ok(lock.fencingToken > etcdctlRevision, 'queued after etcdctl by revision');
    await lock.release();
  } finally {
    await etcdctl.release();
  }
});

it('etcdctl waits for zzlock: etcdctl lock interop/x is granted only after zzlock released x', async () => {
  const holder = await locks.acquire('x');
  const etcdctl = etcdctlLock('interop/x');
  try {
    await waitFor(
      'etcdctl to queue behind zzlock',
      async () => (await keysUnder('interop/x/')).length === 2,
      WAIT_MS,
    );
    assert.equal(etcdctl.holds(), false, 'etcdctl does not hold while zzlock does');

    await holder.release();
    await waitFor('etcdctl to hold interop/x after the release', () => etcdctl.holds(), WAIT_MS);
    assert.ok(
      (await createRevision(etcdctl.key!)) > holder.fencingToken,
      'etcdctl queued after zzlock by revision',
    );
    assert.equal(await locks.tryAcquire('x'), null, 'zzlock waits for etcdctl in turn');
    assert.deepEqual(await etcdctl.release(), { code: 0, signal: null }, 'etcdctl unlocked');
  } finally {
    await holder.release();
    await etcdctl.release();
  }
});

it('one FIFO queue by revision across both: zzlock holds, etcdctl queues, a second zzlock acquire queues behind etcdctl', async () => {
  const first = await locks.acquire('x');
  const etcdctl = etcdctlLock('interop/x');
  const order: string[] = [];
  let second: ReturnType<typeof tracked<LockHandle>> | undefined;
  try {
    await waitFor(
      'etcdctl to queue behind zzlock',
      async () => (await keysUnder('interop/x/')).length === 2,
      WAIT_MS,
    );
    second = tracked(
      replica.acquire('x', { waitMs: WAIT_MS }).then((lock) => {
        order.push('second zzlock acquire');
        return lock;
      }),
    );
    await waitFor(
      'the second zzlock acquire to queue behind etcdctl',
      async () => (await keysUnder('interop/x/')).length === 3,
      WAIT_MS,
    );

    await first.release();
    await waitFor(
      'etcdctl or the second zzlock acquire to be granted',
      () => {
        if (etcdctl.holds() && !order.includes('etcdctl')) order.push('etcdctl');
        return order.length > 0;
      },
      WAIT_MS,
    );
    assert.deepEqual(order, ['etcdctl'], 'etcdctl, queued first, is granted first');
    const etcdctlRevision = await createRevision(etcdctl.key!);

    assert.deepEqual(await etcdctl.release(), { code: 0, signal: null }, 'etcdctl unlocked');
    const lock = await second.promise;
    assert.deepEqual(order, ['etcdctl', 'second zzlock acquire']);
    assert.ok(first.fencingToken < etcdctlRevision && etcdctlRevision < lock.fencingToken);
    await lock.release();
  } finally {
    await first.release();
    await etcdctl.release();
    await second?.promise.then((lock) => lock.release()).catch(() => undefined);
  }
});

it('a zzlock name with / is etcdctl lock interop/a%2Fb, and no other etcdctl name', async () => {
  const holder = await locks.acquire('a/b');
  const unrelated = ['interop/a', 'interop/a/b', 'interop/a%252Fb'];
  const encoded = etcdctlLock('interop/a%2Fb');
  try {
    for (const name of unrelated) {
      const other = etcdctlLock(name);
      try {
        await waitFor(
          `etcdctl to hold ${name} while zzlock holds a/b`,
          () => other.holds(),
          WAIT_MS,
        );
      } finally {
        await other.release();
      }
    }

    await waitFor(
      'etcdctl lock interop/a%2Fb to queue behind zzlock a/b',
      async () => (await keysUnder('interop/a%2Fb/')).length === 2,
      WAIT_MS,
    );
    assert.equal(encoded.holds(), false, 'interop/a%2Fb is zzlock a/b: held');
    await holder.release();
    await waitFor(
      'etcdctl to hold interop/a%2Fb after the release',
      () => encoded.holds(),
      WAIT_MS,
    );

    // The other direction: etcdctl's interop/a%2Fb is zzlock's a/b, not a (nor a%2Fb).
    assert.equal(await locks.tryAcquire('a/b'), null, 'a/b while etcdctl holds interop/a%2Fb');
    for (const name of ['a', 'a%2Fb']) {
      const lock = await locks.tryAcquire(name);
      assert.ok(lock, `${name} is another lock`);
      await lock.release();
    }
  } finally {
    await holder.release();
    await encoded.release();
  }
});

it('% in a zzlock name is %25 for etcdctl: 100% is etcdctl lock interop/100%25', async () => {
  const etcdctl = etcdctlLock('interop/100%25');
  try {
    await waitFor('etcdctl to hold interop/100%25', () => etcdctl.holds(), WAIT_MS);
    assert.equal(await locks.tryAcquire('100%'), null, '100% while etcdctl holds interop/100%25');
    const other = await locks.tryAcquire('100%25');
    assert.ok(other, 'zzlock 100%25 is etcdctl interop/100%2525, another lock');
    await other.release();
    assert.deepEqual(await etcdctl.release(), { code: 0, signal: null }, 'etcdctl unlocked');
    const lock = await locks.tryAcquire('100%');
    assert.ok(lock, '100% once etcdctl released');
    await lock.release();
  } finally {
    await etcdctl.release();
  }
});
