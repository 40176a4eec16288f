// A promise, not an accident: zzlock elections and etcd's own election recipe (Go's
// `concurrency.Election`, here `etcdctl elect`) on the same prefix are one election. The mapping
// (README, "Sharing an election with Go services and etcdctl"): zzlock namespace `interop-elect/`
// + election `ingest` is `etcdctl elect interop-elect/%election/ingest`, names encoded like lock
// names (`/` as `%2F`, `%` as `%25`). Candidates of both are elected in one order by create
// revision, and `etcdctl elect -l` observes zzlock's leader value (proclaims included), as zzlock's
// observe() and leader() tell etcdctl's.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';
import { LockClient, type Leader, type Leadership } from '../../lib/core/index.js';
import { etcdForFile, killAll, tracked, waitFor } from '../support/index.js';

const namespace = 'interop-elect/';
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

/** One `etcdctl elect` process: a candidate (with a proposal) or an observer (`-l`). */
interface Etcdctl {
  /** The key/value pairs it printed: once elected for a candidate, each leader for an observer. */
  readonly printed: { key: string; value: string }[];
  /** Whether the process still runs. */
  running(): boolean;
  /** SIGTERM: a candidate resigns (or leaves the queue) and exits. */
  stop(): Promise<void>;
}

function etcdctlElect(args: string[]): Etcdctl {
  const child = spawn(
    'etcdctl',
    ['--endpoints', store.etcd.endpoints.join(','), 'elect', ...args],
    {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let stdout = '';
  let stderr = '';
  let exited = false;
  const exit = once(child, 'exit').then(() => (exited = true));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return {
    get printed() {
      if (exited && stdout === '') throw new Error(`etcdctl elect ${args.join(' ')}: ${stderr}`);
      const lines = stdout.split('\n').slice(0, -1); // complete lines only
      const pairs: { key: string; value: string }[] = [];
      for (let i = 0; i + 1 < lines.length; i += 2) {
        pairs.push({ key: lines[i], value: lines[i + 1] });
      }
      return pairs;
    },
    running: () => !exited,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}

/** The candidate keys of a zzlock election, as etcd holds them. */
const candidates = (name: string) =>
  store.inspector.getAll().prefix(`${namespace}%election/${name}/`).keys();

it('an etcdctl elect candidate and zzlock candidates are one election, one order by revision', async () => {
  const go1 = etcdctlElect(['interop-elect/%election/ingest', 'go-1']);
  let go2: Etcdctl | undefined;
  let zzlock: ReturnType<typeof tracked<Leadership>> | undefined;
  try {
    await waitFor('etcdctl go-1 to be elected', () => go1.printed.length === 1, WAIT_MS);
    const go1Key = go1.printed[0].key;
    assert.ok(go1Key.startsWith('interop-elect/%election/ingest/'), `etcdctl's key ${go1Key}`);
    const { kvs } = await store.inspector.get(go1Key).exec();
    const go1Term = BigInt(kvs[0].create_revision);
    assert.deepEqual(await locks.election('ingest').leader(), { value: 'go-1', term: go1Term });

    zzlock = tracked(locks.election('ingest').campaign({ value: 'replica-1' }));
    await waitFor(
      'zzlock to queue',
      async () => (await candidates('ingest')).length === 2,
      WAIT_MS,
    );
    go2 = etcdctlElect(['interop-elect/%election/ingest', 'go-2']);
    await waitFor('go-2 to queue', async () => (await candidates('ingest')).length === 3, WAIT_MS);
    assert.equal(zzlock.settled(), false, 'zzlock is not elected while etcdctl leads');

    await go1.stop(); // resigns
    const leadership = await zzlock.promise;
    assert.ok(leadership.term > go1Term, 'elected after etcdctl, by revision');
    assert.equal(go2.printed.length, 0, 'go-2, queued after zzlock, waits');
    await leadership.resign();
    await waitFor('etcdctl go-2 to be elected', () => go2!.printed.length === 1, WAIT_MS);
    assert.equal(go2.printed[0].value, 'go-2');
    assert.equal((await locks.election('ingest').leader())?.value, 'go-2');
  } finally {
    await go1.stop();
    await go2?.stop();
    await zzlock?.promise.then((leadership) => leadership.resign()).catch(() => undefined);
  }
});

it("etcdctl elect -l observes zzlock's leader and its proclaims; zzlock observes etcdctl's", async () => {
  const observer = etcdctlElect(['-l', 'interop-elect/%election/watched']);
  const seen: (Leader | null)[] = [];
  const controller = new AbortController();
  const following = (async () => {
    const election = replica.election('watched');
    for await (const leader of election.observe({ signal: controller.signal })) seen.push(leader);
  })();
  let go: Etcdctl | undefined;
  try {
    await waitFor('zzlock to observe no leader', async () => seen.length === 1, WAIT_MS);
    const leadership = await locks.election('watched').campaign({ value: 'replica-1' });
    await waitFor('etcdctl to observe replica-1', () => observer.printed.length === 1, WAIT_MS);
    assert.equal(observer.printed[0].value, 'replica-1');
    assert.ok(observer.printed[0].key.startsWith('interop-elect/%election/watched/'));

    await leadership.proclaim('replica-1 v2');
    await waitFor('etcdctl to observe the proclaim', () => observer.printed.length === 2, WAIT_MS);
    assert.deepEqual(observer.printed[1], { key: observer.printed[0].key, value: 'replica-1 v2' });

    go = etcdctlElect(['interop-elect/%election/watched', 'go']);
    await waitFor('go to queue', async () => (await candidates('watched')).length === 2, WAIT_MS);
    await leadership.resign();
    await waitFor('etcdctl go to be elected', () => go!.printed.length === 1, WAIT_MS);
    await waitFor('etcdctl -l to observe go', () => observer.printed.length === 3, WAIT_MS);
    assert.equal(observer.printed[2].value, 'go');
    await waitFor('zzlock to observe go', async () => seen.at(-1)?.value === 'go', WAIT_MS);
    assert.deepEqual(
      seen.map((leader) => leader?.value ?? null),
      [null, 'replica-1', 'replica-1 v2', 'go'],
    );
    assert.ok(seen[3]!.term > leadership.term);
  } finally {
    await go?.stop();
    await observer.stop();
    controller.abort();
    await following;
  }
});

it('an election name with / is etcdctl elect interop-elect/%election/a%2Fb, and not a lock', async () => {
  const leadership = await locks.election('a/b').campaign({ value: 'zz' });
  const other = etcdctlElect(['interop-elect/%election/a/b', 'other']); // Go's own name a/b: another
  const same = etcdctlElect(['interop-elect/%election/a%2Fb', 'same']);
  try {
    await waitFor('etcdctl a/b to be elected at once', () => other.printed.length === 1, WAIT_MS);
    await waitFor('same to queue', async () => (await candidates('a%2Fb')).length === 2, WAIT_MS);
    assert.equal(same.printed.length, 0, 'interop-elect/%election/a%2Fb is zzlock a/b: led');
    // A lock of the same name is another queue: free.
    const lock = await locks.tryAcquire('a/b');
    assert.ok(lock, 'lock a/b is not election a/b');
    await lock.release();
    await leadership.resign();
    await waitFor('same to be elected', () => same.printed.length === 1, WAIT_MS);
  } finally {
    await other.stop();
    await same.stop();
    await leadership.resign();
  }
});
