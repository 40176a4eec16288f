// MemoryBackend.inspect() lists what EtcdBackend.inspect() lists, for one process: each lock's mode,
// permits, holders (this process as owner, no lease) and waiters, each election's leader and
// candidates; a released or abandoned lock is gone from the listing. The unit tier: no etcd (the
// etcd backend's listing is tested against a real etcd, across processes, in test/cli/).
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { it } from 'node:test';
import { LockClientClosedError, LockManager, MemoryBackend } from '../../lib/core/index.js';

const owner = `${hostname()}:${process.pid}`;

it('lists holders and waiters by mode, and elections by leader', async () => {
  const backend = new MemoryBackend();
  const locks = new LockManager(backend, { ttl: 5, waitMs: 10_000, shutdownGraceMs: 0 });
  try {
    assert.deepEqual(await backend.inspect(), { locks: [], elections: [] });

    const report = await locks.acquire('report');
    const reportWaiter = locks.acquire('report', { waitMs: 10_000 });
    const permits = await Promise.all([
      locks.acquire('export', { permits: 2 }),
      locks.acquire('export', { permits: 2 }),
    ]);
    const readers = await Promise.all([
      locks.acquire('catalog', { shared: true }),
      locks.acquire('catalog', { shared: true }),
    ]);
    const writer = locks.acquire('catalog', { waitMs: 10_000 });
    const leadership = await locks.election('ingest').campaign({ value: 'replica-1' });
    const candidate = locks.election('ingest').campaign({ value: 'replica-2' });

    const holder = (fencingToken: bigint) => ({ owner, lease: null, fencingToken, ttlLeft: null });
    assert.deepEqual(await backend.inspect(), {
      locks: [
        {
          name: 'catalog',
          mode: 'shared',
          permits: 1,
          holders: readers.map((reader) => holder(reader.fencingToken)),
          waiting: 1,
        },
        {
          name: 'export',
          mode: 'semaphore',
          permits: 2,
          holders: permits.map((permit) => holder(permit.fencingToken)),
          waiting: 0,
        },
        {
          name: 'report',
          mode: 'exclusive',
          permits: 1,
          holders: [holder(report.fencingToken)],
          waiting: 1,
        },
      ],
      elections: [
        {
          name: 'ingest',
          leader: { value: 'replica-1', term: leadership.term, lease: null, ttlLeft: null },
          waiting: 1,
        },
      ],
    });

    await report.release();
    await (await reportWaiter).release();
    await Promise.all([...permits, ...readers].map((lock) => lock.release()));
    await (await writer).release();
    await leadership.resign();
    await (await candidate).resign();
    assert.deepEqual(await backend.inspect(), { locks: [], elections: [] });
  } finally {
    await locks.close();
  }
  await assert.rejects(backend.inspect(), LockClientClosedError);
});
