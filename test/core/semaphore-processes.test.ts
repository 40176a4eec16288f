// A semaphore across processes, as replicas use one: 4 processes × 3 acquirers on 3 permits never
// hold more than 3 at once and do reach 3, every grant with a token of its own; and a SIGKILLed
// holder's permit is free again within its TTL + 1 s.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';

import { LockClient } from '../../lib/core/index.js';
import { leftovers, startEtcd, waitFor, type EtcdCluster } from '../support/index.js';

const worker = fileURLToPath(new URL('./fixtures/permit-worker.js', import.meta.url));
let etcd: EtcdCluster;
const children = new Set<ChildProcess>();
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...children].map((child) => child.exitCode ?? once(child, 'exit')));
  await etcd?.stop();
});

/** Starts a permit worker; its stdout lines, as they come. */
function start(env: Record<string, string>): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, [worker], {
    env: {
      ...process.env,
      NODE_TEST_CONTEXT: undefined, // a plain process, not a child of the test runner
      ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

it('4 processes × 3 acquirers on 3 permits: never more than 3 holders, 3 reached', async () => {
  const workers = Array.from({ length: 4 }, () =>
    start({
      ZZLOCK_NAMESPACE: 'sem-procs/',
      LOCK_NAME: 'export',
      PERMITS: '3',
      ACQUIRERS: '3',
      ROUNDS: '15',
      HOLD_MS: '15',
    }),
  );
  // Each process's grants and releases, in its own order; timestamps on the machine's clock.
  const events: { kind: 'grant' | 'release'; token: bigint; at: number }[] = [];
  await Promise.all(
    workers.map(async ({ lines }) => {
      for (;;) {
        const { value, done } = await lines.next();
        if (done || value === 'done') return;
        const [kind, token, at] = String(value).split(' ');
        events.push({ kind: kind as 'grant' | 'release', token: BigInt(token), at: Number(at) });
      }
    }),
  );
  const grants = events.filter((event) => event.kind === 'grant');
  assert.equal(grants.length, 4 * 3 * 15);
  assert.equal(new Set(grants.map((grant) => grant.token)).size, grants.length, 'unique tokens');
  // A recorded interval (grant printed → release about to be called) lies inside the real hold,
  // so more than 3 overlapping recorded intervals would mean more than 3 real holders.
  let holding = 0;
  let most = 0;
  const timeline = [...events].sort((a, b) => a.at - b.at || (a.kind === 'release' ? -1 : 1));
  for (const event of timeline) {
    holding += event.kind === 'grant' ? 1 : -1;
    most = Math.max(most, holding);
  }
  assert.ok(most <= 3, `${most} holders of a 3-permit semaphore at once`);
  assert.equal(most, 3, 'the semaphore admitted as many holders as it has permits');
  await waitFor(
    'the semaphore to leave nothing in etcd',
    async () => (await leftovers(etcd.endpoints, 'sem-procs/')).keys.length === 0,
  );
});

it('a SIGKILLed holder’s permit is free again within its TTL + 1 s', async () => {
  const ttl = 2;
  const namespace = 'sem-kill/';
  const locks = new LockClient({ endpoints: etcd.endpoints, namespace, ttl });
  try {
    const mine = await locks.acquire('pool', { permits: 2 });
    const victim = start({
      ZZLOCK_NAMESPACE: namespace,
      LOCK_NAME: 'pool',
      PERMITS: '2',
      LOCK_TTL: String(ttl),
      MODE: 'hold',
    });
    assert.match(String((await victim.lines.next()).value), /^held \d+$/);
    assert.equal(await locks.tryAcquire('pool', { permits: 2 }), null, 'both permits are held');
    const waiting = locks.acquire('pool', { permits: 2, waitMs: 30_000 });
    const exited = once(victim.child, 'exit');
    victim.child.kill('SIGKILL');
    await exited;
    const killedAt = performance.now();
    const freed = await waiting;
    const afterMs = performance.now() - killedAt;
    assert.ok(
      afterMs <= ttl * 1000 + 1000,
      `the dead holder's permit came back ${afterMs.toFixed(0)} ms after the kill`,
    );
    await Promise.all([mine.release(), freed.release()]);
  } finally {
    await locks.close();
  }
});
