// Unit spec of a namespace's inspection: the one read it sends, how its keys decode into locks
// (holders by each key's grant rule, waiters counted) and elections (the oldest key leads), and
// the bounded lease lookups after it, as plain data. No etcd here; test/cli/ lists a real one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IKeyValue } from 'etcd3';
import { electionPrefix, queueKey, queuePrefix } from './etcd-keys.js';
import { grantRuleOf, keyValue } from './grant-rule.js';
import { listQueues, namespaceRead } from './queue-listing.js';
import { inspectStore } from './store-inspector.js';

const ns = 'ns/';
let revision = 100;

/** A key of our own layout, created after every key made before it. */
function lockKey(
  name: string,
  mode: 'exclusive' | 'semaphore' | 'shared',
  options: { permits?: number; owner?: string; lease?: string } = {},
): IKeyValue {
  const rule = grantRuleOf(mode, options.permits ?? 1);
  const lease = options.lease ?? '7';
  revision += 1;
  return {
    key: queueKey(rule.keyPrefix(queuePrefix(ns, name)), BigInt(lease).toString(16), revision),
    value: keyValue(options.owner ?? `host:${revision}`, rule),
    create_revision: String(revision),
    mod_revision: String(revision),
    version: '1',
    lease,
  };
}

function electionKey(name: string, value: string, lease = '9'): IKeyValue {
  revision += 1;
  return {
    key: Buffer.concat([electionPrefix(ns, name), Buffer.from(`${lease}.0`)]),
    value: Buffer.from(value),
    create_revision: String(revision),
    mod_revision: String(revision),
    version: '1',
    lease,
  };
}

/** Each lock's holders' tokens and its waiting count, by name. */
function summary(kvs: IKeyValue[]) {
  return listQueues(kvs, ns).locks.map(({ name, mode, permits, holders, waiting }) => ({
    name,
    mode,
    permits,
    tokens: holders.map((holder) => Number(holder.fencingToken)),
    waiting,
  }));
}

describe('namespaceRead', () => {
  it('reads every key under the namespace, oldest first', () => {
    const read = namespaceRead('shop/');
    assert.equal(read.key?.toString(), 'shop/');
    assert.equal(read.range_end?.toString(), 'shop0'); // '/' + 1
    assert.equal(read.sort_target, 'Create');
    assert.equal(read.sort_order, 'Ascend');
    assert.equal(read.limit, undefined);
  });
});

describe('listQueues', () => {
  it('an exclusive lock: the oldest key holds, the others wait', () => {
    const keys = [lockKey('report', 'exclusive'), lockKey('report', 'exclusive')];
    keys.push(lockKey('report', 'exclusive'));
    const [lock] = listQueues(keys, ns).locks;
    assert.equal(lock.name, 'report');
    assert.equal(lock.mode, 'exclusive');
    assert.equal(lock.permits, 1);
    assert.deepEqual(lock.holders, [
      {
        owner: keys[0].value.toString(),
        leaseId: '7',
        fencingToken: BigInt(keys[0].create_revision),
      },
    ]);
    assert.equal(lock.waiting, 2);
  });

  it('a semaphore: as many holders as permits, its owner without the permits suffix', () => {
    const keys = [1, 2, 3, 4].map((i) =>
      lockKey('export', 'semaphore', { permits: 3, owner: `api:${i}` }),
    );
    const [lock] = listQueues(keys, ns).locks;
    assert.equal(lock.mode, 'semaphore');
    assert.equal(lock.permits, 3);
    assert.deepEqual(
      lock.holders.map((holder) => holder.owner),
      ['api:1', 'api:2', 'api:3'],
    );
    assert.equal(lock.waiting, 1);
  });

  it('a shared lock: readers ahead of a writer hold together; the writer and what follows wait', () => {
    const keys = [
      lockKey('catalog', 'shared'),
      lockKey('catalog', 'shared'),
      lockKey('catalog', 'exclusive'),
      lockKey('catalog', 'shared'),
    ];
    const [lock] = summary(keys);
    assert.equal(lock.mode, 'shared');
    assert.deepEqual(lock.tokens, [
      Number(keys[0].create_revision),
      Number(keys[1].create_revision),
    ]);
    assert.equal(lock.waiting, 2);
  });

  it('a writer at the head holds alone; the readers behind it wait', () => {
    const keys = [
      lockKey('catalog', 'exclusive'),
      lockKey('catalog', 'shared'),
      lockKey('catalog', 'shared'),
    ];
    const [lock] = summary(keys);
    assert.equal(lock.mode, 'exclusive');
    assert.deepEqual(lock.tokens, [Number(keys[0].create_revision)]);
    assert.equal(lock.waiting, 2);
  });

  it('names that nest stay apart and decode back; locks come sorted by name', () => {
    const keys = [
      lockKey('b', 'exclusive'),
      lockKey('a/b', 'exclusive'),
      lockKey('a%2F', 'exclusive'),
    ];
    keys.push(lockKey('a', 'exclusive'));
    assert.deepEqual(
      summary(keys).map((lock) => [lock.name, lock.tokens.length, lock.waiting]),
      [
        ['a', 1, 0],
        ['a%2F', 1, 0],
        ['a/b', 1, 0],
        ['b', 1, 0],
      ],
    );
  });

  it('an etcdctl lock key (empty value, no slot) is an exclusive holder with no owner', () => {
    revision += 1;
    const etcdctl: IKeyValue = {
      key: Buffer.from(`${ns}report/694d`),
      value: Buffer.alloc(0),
      create_revision: String(revision),
      mod_revision: String(revision),
      version: '1',
      lease: '26957',
    };
    const [lock] = listQueues([etcdctl, lockKey('report', 'exclusive')], ns).locks;
    assert.equal(lock.mode, 'exclusive');
    assert.deepEqual(lock.holders, [
      { owner: '', leaseId: '26957', fencingToken: BigInt(etcdctl.create_revision) },
    ]);
    assert.equal(lock.waiting, 1);
  });

  it('elections: the oldest candidate leads with its value and term; a lock of that name is apart', () => {
    const keys = [
      electionKey('ingest', 'replica-1'),
      lockKey('ingest', 'exclusive'),
      electionKey('ingest', 'replica-2'),
      electionKey('a/b', 'solo'),
    ];
    const { locks, elections } = listQueues(keys, ns);
    assert.deepEqual(
      locks.map((lock) => lock.name),
      ['ingest'],
    );
    assert.deepEqual(elections, [
      {
        name: 'a/b',
        leader: { value: 'solo', term: BigInt(keys[3].create_revision), leaseId: '9' },
        waiting: 0,
      },
      {
        name: 'ingest',
        leader: { value: 'replica-1', term: BigInt(keys[0].create_revision), leaseId: '9' },
        waiting: 1,
      },
    ]);
  });

  it('leaves out keys under the namespace that are no queue key', () => {
    const stray = { ...lockKey('x', 'exclusive'), key: Buffer.from(`${ns}loose-key`) };
    const trailing = { ...lockKey('x', 'exclusive'), key: Buffer.from(`${ns}dir/`) };
    assert.deepEqual(listQueues([stray, trailing], ns), { locks: [], elections: [] });
  });
});

describe('inspectStore', () => {
  it('looks up each holder and leader lease once, never a waiter’s, and shows leases in hex', async () => {
    const keys = [
      lockKey('report', 'exclusive', { lease: '255' }),
      lockKey('report', 'exclusive', { lease: '4096' }), // waits: not looked up
      lockKey('export', 'semaphore', { permits: 2, lease: '255' }),
      electionKey('ingest', 'replica-1', '511'),
    ];
    const asked: string[] = [];
    const inspection = await inspectStore(ns, {
      readKeys: async (request) => {
        assert.deepEqual(request, namespaceRead(ns));
        return keys;
      },
      timeToLive: async (leaseId) => {
        asked.push(leaseId);
        return leaseId === '511' ? -1 : 12;
      },
    });
    assert.deepEqual(asked.sort(), ['255', '511']);
    const report = inspection.locks.find((lock) => lock.name === 'report');
    assert.deepEqual(report?.holders, [
      {
        owner: keys[0].value.toString(),
        lease: 'ff',
        fencingToken: BigInt(keys[0].create_revision),
        ttlLeft: 12,
      },
    ]);
    assert.equal(report?.waiting, 1);
    // A lease gone between the read and the lookup (-1) has no time left to show.
    assert.deepEqual(inspection.elections[0].leader, {
      value: 'replica-1',
      term: BigInt(keys[3].create_revision),
      lease: '1ff',
      ttlLeft: null,
    });
  });

  it('keeps at most 8 lease lookups in flight, and stops asking after one fails', async () => {
    const keys = Array.from({ length: 30 }, (_, i) =>
      lockKey(`lock-${i}`, 'exclusive', { lease: String(1000 + i) }),
    );
    let inFlight = 0;
    let most = 0;
    const ttl = async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return 5;
    };
    const inspection = await inspectStore(ns, { readKeys: async () => keys, timeToLive: ttl });
    assert.equal(inspection.locks.length, 30);
    assert.equal(most, 8);

    let asked = 0;
    await assert.rejects(
      inspectStore(ns, {
        readKeys: async () => keys,
        timeToLive: async () => {
          asked += 1;
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('etcd went away');
        },
      }),
      /etcd went away/,
    );
    assert.ok(asked <= 8, `${asked} lookups asked after the first failed`);
  });
});
