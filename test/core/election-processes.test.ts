// Leader election across processes, as replicas use it: 3 processes campaigning in turns never
// have two leaders at once, their terms strictly increase, and an observer (and leader()) tells
// exactly those leaders in that order; a SIGKILLed leader is replaced within its TTL + 1 s, a
// resigning one within a round trip; a proclaim reaches observers; and an observer cut off from
// etcd (a TCP proxy cut and restored) reports no stale leader after it reconnects.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';

import { Etcd3 } from 'etcd3';
import { LockClient, LockLostError, type Leader } from '../../lib/core/index.js';
import { startEtcd, startTcpProxy, waitFor, type EtcdCluster } from '../support/index.js';

const fixture = fileURLToPath(new URL('./fixtures/candidate.js', import.meta.url));
const namespace = 'elect-procs/';
let etcd: EtcdCluster;
let observerClient: LockClient;
let inspector: Etcd3;
const children = new Set<ChildProcess>();

before(async () => {
  etcd = await startEtcd();
  observerClient = new LockClient({ endpoints: etcd.endpoints, namespace });
  inspector = new Etcd3({ hosts: etcd.endpoints });
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...children].map((child) => child.exitCode ?? once(child, 'exit')));
  await observerClient?.close();
  inspector?.close();
  await etcd?.stop();
});

/** Waits until election `name` has `count` candidates queued in etcd. */
async function queued(name: string, count: number): Promise<void> {
  await waitFor(`${count} candidates of ${name}`, async () => {
    const keys = await inspector.getAll().prefix(`${namespace}%election/${name}/`).keys();
    return keys.length === count;
  });
}

/** A candidate process and its stdout lines, as they come. */
interface Candidate {
  readonly child: ChildProcess;
  /** The next line it prints (rejects if it exits first). */
  next(): Promise<string>;
  /** Sends a command line to a `hold` candidate. */
  send(line: string): void;
}

function start(env: Record<string, string>): Candidate {
  const child = spawn(process.execPath, [fixture], {
    env: {
      ...process.env,
      NODE_TEST_CONTEXT: undefined, // a plain process, not a child of the test runner
      ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
      ZZLOCK_NAMESPACE: namespace,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const { value, done } = await lines.next();
      if (done)
        throw new Error(`candidate ${child.pid} exited (${child.exitCode ?? child.signalCode})`);
      return String(value);
    },
    send: (line) => void child.stdin!.write(`${line}\n`),
  };
}

/** Follows an election from this process, keeping every leader it is told. */
function follow(
  client: LockClient,
  name: string,
): { seen: (Leader | null)[]; stop(): Promise<void> } {
  const controller = new AbortController();
  const seen: (Leader | null)[] = [];
  const done = (async () => {
    for await (const leader of client.election(name).observe({ signal: controller.signal })) {
      seen.push(leader);
    }
  })();
  return {
    seen,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

it('3 processes in turns: one leader at a time, terms strictly increasing, observe() and leader() tell exactly those', async () => {
  const name = 'turns';
  const observer = follow(observerClient, name);
  await waitFor('the observer to start', async () => observer.seen.length === 1);
  const rounds = 8;
  const processes = ['p0', 'p1', 'p2'].map((value) =>
    start({ ELECTION: name, VALUE: value, MODE: 'cycle', ROUNDS: String(rounds), HOLD_MS: '20' }),
  );
  /** Every term led, with who led it and when (the machine's clock, ms). */
  const terms: { value: string; term: bigint; from: number; to: number }[] = [];
  const leaderReads: (Leader | null)[] = [];
  let finished = false;
  const reading = (async () => {
    while (!finished) leaderReads.push(await observerClient.election(name).leader());
  })();
  await Promise.all(
    processes.map(async (candidate, i) => {
      let elected: { term: bigint; at: number } | undefined;
      for (;;) {
        const [kind, term, at] = (await candidate.next()).split(' ');
        if (kind === 'done') return;
        if (kind === 'elected') elected = { term: BigInt(term), at: Number(at) };
        else {
          assert.equal(kind, 'resign');
          assert.ok(elected !== undefined && BigInt(term) === elected.term, 'resigns what it led');
          terms.push({ value: `p${i}`, term: elected.term, from: elected.at, to: Number(at) });
        }
      }
    }),
  );
  finished = true;
  await reading;
  assert.equal(terms.length, 3 * rounds);
  terms.sort((x, y) => (x.term < y.term ? -1 : 1));
  for (let i = 1; i < terms.length; i += 1) {
    assert.ok(terms[i].term > terms[i - 1].term, 'terms are unique');
    // Elected after the previous leader's last moment of believing it leads.
    assert.ok(
      terms[i].from >= terms[i - 1].to,
      `two leaders at once: ${terms[i - 1].term}, ${terms[i].term}`,
    );
  }
  await waitFor('the observer to see no leader', async () => observer.seen.at(-1) === null);
  await observer.stop();
  // Every leader, once, in term order, with its value; no leader at the start and at the end (and
  // maybe in between, when a leader resigned before anyone else campaigned).
  assert.equal(observer.seen[0], null);
  assert.equal(observer.seen.at(-1), null);
  assert.deepEqual(
    observer.seen.filter((leader) => leader !== null),
    terms.map(({ value, term }) => ({ value, term })),
  );
  const byTerm = new Map(terms.map(({ value, term }) => [term, value]));
  for (const read of leaderReads) {
    if (read !== null)
      assert.equal(byTerm.get(read.term), read.value, 'leader() tells a real leader');
  }
  const readTerms = leaderReads.flatMap((read) => (read === null ? [] : [read.term]));
  assert.deepEqual(
    readTerms,
    [...readTerms].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    'never an older leader after a newer one',
  );
});

it('a SIGKILLed leader is replaced within its TTL + 1 s; a resigning one at once; a proclaim reaches observers', async () => {
  const name = 'failover';
  const ttl = 2;
  const observer = follow(observerClient, name);
  const env = (value: string) => ({
    ELECTION: name,
    VALUE: value,
    MODE: 'hold',
    ELECTION_TTL: String(ttl),
  });
  const first = start(env('first'));
  const [, firstTerm] = (await first.next()).split(' ');
  const second = start(env('second'));
  await queued(name, 2);
  const third = start(env('third'));
  await queued(name, 3);

  first.send('proclaim first v2');
  assert.equal(await first.next(), 'proclaimed first v2');
  await waitFor(
    'the proclaim to be observed',
    async () => observer.seen.at(-1)?.value === 'first v2',
  );
  assert.equal(observer.seen.at(-1)?.term, BigInt(firstTerm), 'a proclaim keeps the term');

  // The second campaigned before the third: it is next.
  const killedAt = performance.timeOrigin + performance.now();
  first.child.kill('SIGKILL');
  const [kind, secondTerm, electedAt] = (await second.next()).split(' ');
  assert.equal(kind, 'elected');
  assert.ok(BigInt(secondTerm) > BigInt(firstTerm));
  assert.ok(
    Number(electedAt) - killedAt <= (ttl + 1) * 1000,
    `elected ${Math.round(Number(electedAt) - killedAt)} ms after the kill`,
  );

  second.send('resign');
  const [, , resignedAt] = (await second.next()).split(' ');
  const [kind3, thirdTerm, thirdAt] = (await third.next()).split(' ');
  assert.equal(kind3, 'elected');
  assert.ok(BigInt(thirdTerm) > BigInt(secondTerm));
  // "Within one round trip": a loose bound on a loaded machine, far below any TTL.
  assert.ok(
    Number(thirdAt) - Number(resignedAt) < 1000,
    `handover took ${Number(thirdAt) - Number(resignedAt)} ms`,
  );
  await waitFor('the third to be observed', async () => observer.seen.at(-1)?.value === 'third');
  assert.equal(observer.seen.at(-1)?.term, BigInt(thirdTerm));
  third.send('resign');
  await third.next();
  assert.equal(await third.next(), 'done');
  await waitFor('the observer to see no leader', async () => observer.seen.at(-1) === null);
  await observer.stop();
  // The first (and its proclaim), the second, the third, and no one: each once, in that order.
  const values = observer.seen.map((leader) => leader?.value ?? null);
  assert.deepEqual(values.slice(-5), ['first', 'first v2', 'second', 'third', null]);
});

it('an observer cut off from etcd reports no stale leader once reconnected, and goes on observing', async () => {
  const name = 'reconnect';
  const proxy = await startTcpProxy(etcd.endpoints[0]);
  const cutOff = new LockClient({ endpoints: [proxy.endpoint], namespace, callTimeoutMs: 1000 });
  try {
    const a = await observerClient.election(name).campaign({ value: 'a' });
    const observer = follow(cutOff, name);
    await waitFor('the observer to see a', async () => observer.seen.at(-1)?.value === 'a');
    const acceptedBefore = proxy.accepted;
    proxy.cut();
    // While it is cut off: a resigns, b is elected and resigns, c is elected and proclaims.
    const b = observerClient.election(name).campaign({ value: 'b' });
    await queued(name, 2);
    const c = observerClient.election(name).campaign({ value: 'c' });
    await queued(name, 3);
    await a.resign();
    const bLeads = await b;
    await bLeads.resign();
    const cLeads = await c;
    await cLeads.proclaim('c v2');
    proxy.restore();
    await waitFor('the observer to see c v2', async () => observer.seen.at(-1)?.value === 'c v2');
    assert.ok(proxy.accepted > acceptedBefore, 'the observer reconnected');
    // Then it goes on: a change after the reconnect is told too.
    await cLeads.resign();
    await waitFor('the observer to see no leader', async () => observer.seen.at(-1) === null);
    await observer.stop();
    // Only real states, in their order: never back to an older leader after a newer one.
    const history = ['a', 'b', 'c', 'c v2', null];
    const seen = observer.seen.map((leader) => leader?.value ?? null);
    assert.equal(seen[0], 'a');
    let at = 0;
    for (const value of seen) {
      const index = history.indexOf(value, at);
      assert.ok(
        index >= at,
        `${JSON.stringify(seen)} is not in the order of ${JSON.stringify(history)}`,
      );
      at = index + 1;
    }
    assert.equal(seen.at(-1), null);
    assert.equal(seen.at(-2), 'c v2');
  } finally {
    await cutOff.close();
    await proxy.close();
  }
});

it('a leader cut off from etcd is told it lost before etcd expires its lease and elects the next', async () => {
  const name = 'cut-leader';
  const ttl = 2;
  const proxy = await startTcpProxy(etcd.endpoints[0]);
  const cutOff = new LockClient({
    endpoints: [proxy.endpoint],
    namespace,
    ttl,
    callTimeoutMs: 1000,
  });
  try {
    const leadership = await cutOff.election(name).campaign({ value: 'cut' });
    let lostAt: number | undefined;
    leadership.signal.addEventListener('abort', () => (lostAt = performance.now()), { once: true });
    const next = observerClient.election(name).campaign({ value: 'next' });
    await queued(name, 2);
    proxy.cut();
    const nextLeads = await next;
    const electedAt = performance.now();
    assert.ok(
      lostAt !== undefined && lostAt < electedAt,
      'the signal fired before the next was elected',
    );
    assert.ok(leadership.signal.reason instanceof LockLostError);
    assert.ok(nextLeads.term > leadership.term);
    await assert.rejects(leadership.proclaim('still me'), LockLostError);
    await nextLeads.resign();
  } finally {
    proxy.restore();
    await cutOff.close();
    await proxy.close();
  }
});

it('a proclaim finds its key deleted behind its back: the leadership is lost, nothing is recreated', async () => {
  const name = 'deleted';
  const leadership = await observerClient.election(name).campaign({ value: 'v1' });
  await inspector.delete().prefix(`${namespace}%election/${name}/`);
  await assert.rejects(leadership.proclaim('v2'), LockLostError);
  assert.ok(leadership.signal.reason instanceof LockLostError);
  assert.equal(await observerClient.election(name).leader(), null, 'no key was put back');
  await leadership.resign(); // never throws for a lost leadership
});
