// Mutual exclusion across OS processes: 4 processes × 3 concurrent acquirers do a non-atomic
// read-modify-write of one counter in etcd under one lock. No update may be lost, and fencing
// tokens must strictly increase in grant order.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdCluster } from '../support/index.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./fixtures/counter-worker.js', import.meta.url));
const PROCESSES = 4;
const ACQUIRERS = 3;
const ROUNDS = 12;

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcdCluster({ members: 3 });
});
after(() => etcd?.stop());

it(`${PROCESSES} processes × ${ACQUIRERS} acquirers never lose an update; tokens increase in grant order`, async () => {
  const env = {
    ...process.env,
    ZZLOCK_ENDPOINTS: etcd.endpoints.join(','),
    LOCK_NAME: 'counter',
    COUNTER_KEY: 'data/counter',
    ACQUIRERS: String(ACQUIRERS),
    ROUNDS: String(ROUNDS),
  };
  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, () =>
      run(process.execPath, [worker], { env, timeout: 120_000 }),
    ),
  );
  const grants = outputs.flatMap(
    ({ stdout }) => JSON.parse(stdout) as { token: string; before: number }[],
  );
  const total = PROCESSES * ACQUIRERS * ROUNDS;
  assert.equal(grants.length, total);

  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    assert.equal(await client.get('data/counter').string(), String(total), 'no lost update');
    assert.deepEqual(await client.getAll().prefix('mutex/').keys(), [], 'no key left behind');
  } finally {
    client.close();
  }

  const inGrantOrder = [...grants].sort((a, b) => a.before - b.before);
  assert.deepEqual(
    inGrantOrder.map((grant) => grant.before),
    Array.from({ length: total }, (_, i) => i),
    'each grant saw the previous grant’s write',
  );
  for (let i = 1; i < inGrantOrder.length; i += 1) {
    assert.ok(
      BigInt(inGrantOrder[i].token) > BigInt(inGrantOrder[i - 1].token),
      `fencing token of grant ${i} is above grant ${i - 1}'s`,
    );
  }
});
