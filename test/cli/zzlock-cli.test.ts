// The `zzlock` bin and LockClient.inspect() against a real etcd, with the holders and waiters in
// other processes, as replicas would be: an exclusive lock with two waiters, a semaphore with a
// waiter, a shared lock with a writer waiting, an election with a candidate. Both list every
// holder (owner host:pid, lease, fencing token, time left) and how many wait, the bin as JSON
// and as a table; and the bin reads a secured etcd (TLS, client certificates, user and password)
// without ever printing the password. Bad command lines are in zzlock-cli-usage.unit.test.ts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';

import { LockClient, type StoreInspection } from '../../lib/core/index.js';
import { locksJson, electionsJson } from '../../lib/cli/inspection-json.js';
import {
  createTestCertificates,
  etcdForFile,
  killAll,
  startEtcd,
  waitFor,
  type EtcdCluster,
  type TestCertificates,
} from '../support/index.js';

const bin = fileURLToPath(new URL('../../lib/cli/zzlock.js', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/queue-process.js', import.meta.url));
const namespace = 'cli/';
const TTL = 30;
const children = new Set<ChildProcess>();
const store = etcdForFile({ cleanUp: () => killAll(children) });

/** Runs the bin to its end: exit code, stdout and stderr. */
async function zzlock(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** A queue process (see fixtures/queue-process.ts) once it has sent every request. */
async function queueProcess(
  actions: string[],
): Promise<{ owner: string; granted: Map<string, bigint>; grants: (n: number) => Promise<void> }> {
  const child = spawn(process.execPath, [worker], {
    env: {
      ...process.env,
      NODE_TEST_CONTEXT: undefined,
      ZZLOCK_ENDPOINTS: store.etcd.endpoints.join(','),
      ZZLOCK_NAMESPACE: namespace,
      LOCK_TTL: String(TTL),
      ACTIONS: actions.join(','),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const granted = new Map<string, bigint>();
  const lines = createInterface({ input: child.stdout! });
  let queued!: () => void;
  const isQueued = new Promise<void>((resolve) => (queued = resolve));
  lines.on('line', (line) => {
    if (line === 'queued') queued();
    const match = /^granted (\S+) (\d+)$/.exec(line);
    if (match) granted.set(match[1], BigInt(match[2]));
    assert.doesNotMatch(line, /^failed/, line);
  });
  await isQueued;
  return {
    owner: `${hostname()}:${child.pid}`,
    granted,
    grants: (n) => waitFor(`${n} grants of ${actions.join(',')}`, async () => granted.size >= n),
  };
}

/** Waits until the namespace holds `count` keys: every request of the processes is queued. */
function keysInEtcd(count: number): Promise<void> {
  return waitFor(`${count} keys under ${namespace}`, async () => {
    return (await store.inspector.getAll().prefix(namespace).count()) === count;
  });
}

/** An inspection without the lease times, which tick on between two reads. */
function timeless(inspection: Pick<StoreInspection, 'locks' | 'elections'>) {
  return {
    locks: locksJson(inspection.locks).map((lock) => ({
      ...lock,
      holders: lock.holders.map(({ ttlLeft: _, ...holder }) => holder),
    })),
    elections: electionsJson(inspection.elections).map(
      ({ leader: { ttlLeft: _, ...leader }, ...rest }) => ({
        ...rest,
        leader,
      }),
    ),
  };
}

describe('with holders and waiters in three other processes', () => {
  let first: Awaited<ReturnType<typeof queueProcess>>;
  let second: Awaited<ReturnType<typeof queueProcess>>;
  let third: Awaited<ReturnType<typeof queueProcess>>;
  let endpoints: string;

  before(async () => {
    endpoints = store.etcd.endpoints.join(',');
    // In order, each once the last one's keys are in etcd: the queue order is known.
    first = await queueProcess([
      'exclusive:report',
      'semaphore:export:2',
      'shared:catalog',
      'election:ingest:replica-1',
    ]);
    await first.grants(4);
    await keysInEtcd(4);
    second = await queueProcess([
      'exclusive:report',
      'semaphore:export:2',
      'shared:catalog',
      'election:ingest:replica-2',
    ]);
    await second.grants(2); // the permit and the read; it waits for the rest
    await keysInEtcd(8);
    third = await queueProcess(['exclusive:report', 'semaphore:export:2', 'exclusive:catalog']);
    await keysInEtcd(11);
  });

  it('lists each lock’s holders (owner, lease, token, time left) and waiters as JSON', async () => {
    const { code, stdout, stderr } = await zzlock([
      'locks',
      '--endpoints',
      endpoints,
      '--namespace',
      namespace,
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const locks = JSON.parse(stdout) as ReturnType<typeof locksJson>;
    const holder = (of: typeof first, action: string) => ({
      owner: of.owner,
      fencingToken: String(of.granted.get(action)),
    });
    assert.deepEqual(
      locks.map(({ name, mode, permits, holders, waiting }) => ({
        name,
        mode,
        permits,
        holders: holders.map(({ owner, fencingToken }) => ({ owner, fencingToken })),
        waiting,
      })),
      [
        {
          name: 'catalog',
          mode: 'shared',
          permits: 1,
          holders: [holder(first, 'shared:catalog'), holder(second, 'shared:catalog')],
          waiting: 1, // the writer of the third process
        },
        {
          name: 'export',
          mode: 'semaphore',
          permits: 2,
          holders: [holder(first, 'semaphore:export:2'), holder(second, 'semaphore:export:2')],
          waiting: 1,
        },
        {
          name: 'report',
          mode: 'exclusive',
          permits: 1,
          holders: [holder(first, 'exclusive:report')],
          waiting: 2,
        },
      ],
    );
    for (const lock of locks) {
      for (const { lease, ttlLeft } of lock.holders) {
        assert.match(String(lease), /^[0-9a-f]+$/, 'a lease id in hex');
        assert.ok(
          typeof ttlLeft === 'number' && ttlLeft >= 0 && ttlLeft <= TTL,
          `ttlLeft ${ttlLeft}`,
        );
      }
    }
    // One process, one TTL: one lease behind all its holds.
    const firstLeases = new Set(
      locks.flatMap((lock) =>
        lock.holders.filter((h) => h.owner === first.owner).map((h) => h.lease),
      ),
    );
    assert.equal(firstLeases.size, 1);
  });

  it('lists elections: the leader’s value, term and lease, and the candidates waiting', async () => {
    const { code, stdout, stderr } = await zzlock([
      'elections',
      `--endpoints=${endpoints}`,
      '--namespace',
      namespace,
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    const elections = JSON.parse(stdout) as ReturnType<typeof electionsJson>;
    assert.equal(elections.length, 1);
    const [{ name, leader, waiting }] = elections;
    assert.equal(name, 'ingest');
    assert.equal(leader.value, 'replica-1');
    assert.equal(leader.term, String(first.granted.get('election:ingest:replica-1')));
    assert.match(String(leader.lease), /^[0-9a-f]+$/);
    assert.ok(typeof leader.ttlLeft === 'number' && leader.ttlLeft <= TTL);
    assert.equal(waiting, 1);
  });

  it('LockClient.inspect() reads what the bin prints', async () => {
    const locks = new LockClient({ endpoints: store.etcd.endpoints, namespace });
    try {
      const inspection = await locks.inspect();
      const [printedLocks, printedElections] = await Promise.all(
        ['locks', 'elections'].map(async (command) => {
          const { stdout } = await zzlock([
            command,
            '--endpoints',
            endpoints,
            '--namespace',
            namespace,
            '--json',
          ]);
          return JSON.parse(stdout) as never[];
        }),
      );
      const withoutTtl = (items: never[]): unknown =>
        JSON.parse(
          JSON.stringify(items, (key, value: unknown) => (key === 'ttlLeft' ? undefined : value)),
        );
      assert.deepEqual(withoutTtl(printedLocks), timeless(inspection).locks);
      assert.deepEqual(withoutTtl(printedElections), timeless(inspection).elections);
      assert.equal(typeof inspection.locks[0].holders[0].fencingToken, 'bigint');
    } finally {
      await locks.close();
    }
  });

  it('prints a table: a line per holder, the lock’s mode and waiters on its first', async () => {
    const { code, stdout } = await zzlock([
      'locks',
      '--endpoints',
      endpoints,
      '--namespace',
      namespace,
    ]);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0], /^LOCK\s+MODE\s+HOLDER\s+LEASE\s+TOKEN\s+TTL LEFT\s+WAITING$/);
    const token = (of: typeof first, action: string) => String(of.granted.get(action));
    const row = (cells: string[]) => new RegExp(`^${cells.join('\\s+')}`);
    assert.match(
      lines[1],
      row([
        'catalog',
        'shared',
        first.owner,
        '[0-9a-f]+',
        token(first, 'shared:catalog'),
        '\\d+s',
        '1$',
      ]),
    );
    assert.match(
      lines[2],
      row(['', second.owner, '[0-9a-f]+', token(second, 'shared:catalog'), '\\d+s$']),
    );
    assert.match(lines[3], row(['export', 'semaphore\\(2\\)', first.owner]));
    assert.match(
      lines[5],
      row([
        'report',
        'exclusive',
        first.owner,
        '[0-9a-f]+',
        token(first, 'exclusive:report'),
        '\\d+s',
        '2$',
      ]),
    );
    assert.equal(lines.length, 6);

    const elections = await zzlock([
      'elections',
      '--endpoints',
      endpoints,
      '--namespace',
      namespace,
    ]);
    assert.match(elections.stdout, /^ELECTION\s+LEADER\s+TERM\s+LEASE\s+TTL LEFT\s+WAITING\n/);
    assert.match(elections.stdout, /\ningest\s+replica-1\s+\d+\s+[0-9a-f]+\s+\d+s\s+1\n$/);
  });

  it('says so when a namespace is empty, and writes nothing to etcd', async () => {
    const before = (await store.inspector.kv.range({ key: Buffer.from('\0') })).header.revision;
    const { code, stdout } = await zzlock([
      'locks',
      '--endpoints',
      endpoints,
      '--namespace',
      'nothing-here/',
    ]);
    assert.equal(code, 0);
    assert.equal(stdout, 'No locks under "nothing-here/".\n');
    await zzlock(['locks', '--endpoints', endpoints, '--namespace', namespace, '--json']);
    const afterwards = (await store.inspector.kv.range({ key: Buffer.from('\0') })).header.revision;
    assert.equal(afterwards, before, 'the store revision did not move: nothing was written');
    assert.equal(third.granted.size, 0, 'the third process still waits for all three');
  });

  it('exits 1 with the store’s error when etcd does not answer', async () => {
    const { code, stdout, stderr } = await zzlock([
      'locks',
      '--endpoints',
      'http://127.0.0.1:9',
      '--timeout-ms',
      '600',
    ]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^zzlock: The lock store \(etcd\) failed inspect/);
  });
});

describe('against etcd with TLS, client certificates and a password', () => {
  const ROOT_PASSWORD = 'cli-root-Pa55word';
  let certificates: TestCertificates;
  let secure: EtcdCluster;
  let passwordFile: string;
  let tlsFlags: string[];

  before(async () => {
    certificates = await createTestCertificates();
    secure = await startEtcd({
      tls: {
        certFile: certificates.serverCertFile,
        keyFile: certificates.serverKeyFile,
        caFile: certificates.caFile,
        clientCertAuth: true,
      },
    });
    const [ca, cert, key] = await Promise.all(
      [certificates.caFile, certificates.clientCertFile, certificates.clientKeyFile].map((file) =>
        readFile(file),
      ),
    );
    const admin = new Etcd3({
      hosts: secure.endpoints,
      credentials: { rootCertificate: ca, certChain: cert, privateKey: key },
    });
    try {
      await admin.user('root').create(ROOT_PASSWORD);
      await admin.user('root').addRole('root');
      await admin.auth.authEnable({});
    } finally {
      admin.close();
    }
    passwordFile = join(certificates.dir, 'password');
    await writeFile(passwordFile, `${ROOT_PASSWORD}\n`);
    tlsFlags = [
      '--cacert',
      certificates.caFile,
      '--cert',
      certificates.clientCertFile,
      '--key',
      certificates.clientKeyFile,
    ];
  });
  after(async () => {
    await secure?.stop();
    await certificates?.remove();
  });

  it('lists a held lock with --cacert, --cert, --key, --username and each source of password', async () => {
    const [ca, cert, key] = await Promise.all(
      [certificates.caFile, certificates.clientCertFile, certificates.clientKeyFile].map((file) =>
        readFile(file),
      ),
    );
    const locks = new LockClient({
      endpoints: secure.endpoints,
      namespace,
      auth: { username: 'root', password: ROOT_PASSWORD },
      tls: { ca, cert, key },
    });
    try {
      const lock = await locks.acquire('secured');
      const base = [
        'locks',
        '--endpoints',
        secure.endpoints.join(','),
        '--namespace',
        namespace,
        '--json',
        ...tlsFlags,
        '--username',
        'root',
      ];
      for (const [how, args, env] of [
        ['--password-file', ['--password-file', passwordFile], {}],
        ['ZZLOCK_PASSWORD', [], { ZZLOCK_PASSWORD: ROOT_PASSWORD }],
        ['--password', ['--password', ROOT_PASSWORD], {}],
      ] as const) {
        const { code, stdout, stderr } = await zzlock([...base, ...args], env);
        assert.equal(code, 0, `${how}: ${stderr}`);
        const [listed] = JSON.parse(stdout) as ReturnType<typeof locksJson>;
        assert.equal(listed.name, 'secured', how);
        assert.equal(listed.holders[0].fencingToken, String(lock.fencingToken), how);
        assert.doesNotMatch(stdout + stderr, new RegExp(ROOT_PASSWORD), how);
      }
      await lock.release();
    } finally {
      await locks.close();
    }
  });

  it('exits 1 when etcd refuses the password, which it never prints', async () => {
    const wrong = 'not-the-Pa55word';
    const { code, stdout, stderr } = await zzlock(
      [
        'locks',
        '--endpoints',
        secure.endpoints.join(','),
        ...tlsFlags,
        '--username',
        'root',
        '--timeout-ms',
        '2000',
      ],
      { ZZLOCK_PASSWORD: wrong },
    );
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /refused inspect/);
    assert.doesNotMatch(stderr, new RegExp(`${wrong}|${ROOT_PASSWORD}`));
  });

  it('exits 1 when the server certificate cannot be trusted (no --cacert)', async () => {
    const { code, stderr } = await zzlock([
      'locks',
      '--endpoints',
      secure.endpoints.join(','),
      '--cert',
      certificates.clientCertFile,
      '--key',
      certificates.clientKeyFile,
      '--username',
      'root',
      '--password-file',
      passwordFile,
      '--timeout-ms',
      '1000',
    ]);
    assert.equal(code, 1);
    assert.match(stderr, /failed inspect/);
    assert.doesNotMatch(stderr, new RegExp(ROOT_PASSWORD));
  });
});
