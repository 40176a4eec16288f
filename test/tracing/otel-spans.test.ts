// zzlock's OpenTelemetry spans against real etcd, recorded by the real SDK (in-memory exporter,
// AsyncLocalStorage context manager): zzlock.acquire and zzlock.hold with their attributes, the
// body of withLock running inside zzlock.hold, outcomes and error statuses (timeout, busy, a
// refused re-entry), semaphores and shared locks, re-entrancy, the failed keepalives and the loss
// of a lock whose connection was cut, and hold spans ended by close(). No per-entity name in any
// span name or attribute.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  LockBusyError,
  LockClient,
  LockConfigError,
  LockTimeoutError,
  ZZLOCK_TRACING,
} from '../../lib/core/index.js';
import { etcdForFile, leftovers, startTcpProxy, waitFor } from '../support/index.js';
import { registerInMemoryTracing } from './in-memory-tracing.js';

const { spans: SPANS, attributes: ATTR, events: EVENTS } = ZZLOCK_TRACING;
const namespace = 'tracing/';
const tracing = registerInMemoryTracing();
let locks: LockClient;
/** Another process's client: its own lease, so its holds make ours wait. */
let other: LockClient;
const store = etcdForFile({
  setUp: (etcd) => {
    locks = new LockClient({ endpoints: etcd.endpoints, namespace });
    other = new LockClient({ endpoints: etcd.endpoints, namespace });
  },
  cleanUp: () => Promise.all([locks?.close(), other?.close()]),
});

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

describe('OpenTelemetry spans', () => {
  it('withLock: zzlock.acquire then zzlock.hold under the caller’s span, the body’s spans inside the hold', async () => {
    tracing.reset();
    let token = 0n;
    await tracing.inSpan('request', () =>
      locks.withLock(
        'order:42',
        async (lock) => {
          token = lock.fencingToken;
          await tracing.inSpan('charge', async () => {
            await new Promise((resolve) => setImmediate(resolve));
          });
          await tracing.inSpan('receipt', async () => undefined);
        },
        { label: 'order' },
      ),
    );
    const request = tracing.one('request');
    const acquire = tracing.one(SPANS.acquire, 'order');
    const hold = tracing.one(SPANS.hold, 'order');
    assert.equal(parentOf(acquire), idOf(request));
    assert.equal(parentOf(hold), idOf(request), 'the hold is a sibling of the acquire');
    assert.equal(parentOf(tracing.one('charge')), idOf(hold));
    assert.equal(parentOf(tracing.one('receipt')), idOf(hold), 'still inside after an await');
    assert.deepEqual(
      tracing.childrenOf(hold).map((span) => span.name),
      ['charge', 'receipt'],
    );

    assert.deepEqual(
      { ...acquire.attributes, [ATTR.waitMs]: typeof acquire.attributes[ATTR.waitMs] },
      {
        [ATTR.label]: 'order',
        [ATTR.mode]: 'exclusive',
        [ATTR.outcome]: 'acquired',
        [ATTR.waitMs]: 'number',
        [ATTR.contended]: false,
        [ATTR.fencingToken]: String(token),
      },
    );
    assert.ok((acquire.attributes[ATTR.waitMs] as number) >= 0);
    assert.deepEqual(hold.attributes, {
      [ATTR.label]: 'order',
      [ATTR.mode]: 'exclusive',
      [ATTR.fencingToken]: String(token),
    });
    for (const span of [acquire, hold]) {
      assert.equal(span.status.code, SpanStatusCode.UNSET);
      assert.deepEqual(span.instrumentationScope, {
        name: ZZLOCK_TRACING.scope.name,
        version: ZZLOCK_TRACING.scope.version,
        schemaUrl: undefined,
      });
      assert.equal(span.ended, true);
    }
  });

  it('tells a contended grant, a timeout and a busy acquire as errors with their code, a busy try as an outcome', async () => {
    tracing.reset();
    const held = await other.acquire('report:7', { label: 'report-holder' });
    const waiting = locks.acquire('report:7', { label: 'report', waitMs: 60_000 });
    await waitFor(
      'the waiter to queue',
      async () => (await leftovers(store.etcd.endpoints, namespace)).keys.length === 2,
    );
    await held.release();
    const granted = await waiting;
    const contended = tracing.one(SPANS.acquire, 'report');
    assert.equal(contended.attributes[ATTR.contended], true);
    assert.equal(contended.attributes[ATTR.fencingToken], String(granted.fencingToken));

    await assert.rejects(
      other.acquire('report:7', { label: 'report-timeout', waitMs: 300 }),
      LockTimeoutError,
    );
    await assert.rejects(
      other.acquire('report:7', { label: 'report-busy', waitMs: 0 }),
      LockBusyError,
    );
    assert.equal(await other.tryAcquire('report:7', { label: 'report-try' }), null);
    await granted.release();

    for (const [label, outcome, code] of [
      ['report-timeout', 'timeout', 'ZZLOCK_TIMEOUT'],
      ['report-busy', 'busy', 'ZZLOCK_BUSY'],
    ] as const) {
      const failed = tracing.one(SPANS.acquire, label);
      assert.equal(failed.attributes[ATTR.outcome], outcome);
      assert.equal(failed.attributes[ATTR.errorType], code);
      assert.equal(failed.attributes[ATTR.fencingToken], undefined);
      assert.equal(failed.status.code, SpanStatusCode.ERROR);
      assert.ok(failed.status.message, 'the status says why');
      const [exception, ...more] = failed.events;
      assert.equal(more.length, 0);
      assert.equal(exception?.name, 'exception');
      assert.equal(exception?.attributes?.['exception.type'], code);
      assert.equal(tracing.named(SPANS.hold, label).length, 0, 'no hold without a grant');
    }
    const tried = tracing.one(SPANS.acquire, 'report-try');
    assert.equal(tried.attributes[ATTR.outcome], 'busy');
    assert.equal(tried.status.code, SpanStatusCode.UNSET, 'a busy try is no failure');
    assert.deepEqual(tried.events, []);
  });

  it('tells the mode of semaphores and shared locks', async () => {
    tracing.reset();
    await locks.withLock('export', async () => undefined, { label: 'export', permits: 3 });
    await locks.withLock('catalog', async () => undefined, { label: 'catalog', shared: true });
    for (const [label, mode] of [
      ['export', 'semaphore'],
      ['catalog', 'shared'],
    ] as const) {
      assert.equal(tracing.one(SPANS.acquire, label).attributes[ATTR.mode], mode);
      assert.equal(tracing.one(SPANS.hold, label).attributes[ATTR.mode], mode);
    }
  });

  it('a re-entrant acquire is a zzlock.acquire inside the hold, with no hold of its own; a refused re-entry fails its span', async () => {
    tracing.reset();
    await locks.withLock(
      'nested',
      () =>
        locks.withLock(
          'nested',
          async () => {
            await tracing.inSpan('inner', async () => undefined);
            await assert.rejects(
              locks.acquire('nested', { label: 'refused', permits: 2 }),
              LockConfigError,
            );
          },
          { label: 'nested' },
        ),
      { label: 'nested' },
    );
    const hold = tracing.one(SPANS.hold, 'nested');
    const acquires = tracing.named(SPANS.acquire, 'nested');
    assert.deepEqual(
      acquires.map((span) => [span.attributes[ATTR.outcome], parentOf(span) === idOf(hold)]),
      [
        ['acquired', false],
        ['reentrant', true],
      ],
    );
    assert.equal(parentOf(tracing.one('inner')), idOf(hold));
    const refused = tracing.one(SPANS.acquire, 'refused');
    assert.equal(refused.attributes[ATTR.outcome], 'config');
    assert.equal(refused.status.code, SpanStatusCode.ERROR);
    assert.equal(parentOf(refused), idOf(hold));
  });

  it('records failed keepalives, then the loss, on the hold span of a lock whose connection was cut', async () => {
    tracing.reset();
    const proxy = await startTcpProxy(store.etcd.members[0]!.clientUrl);
    const cut = new LockClient({
      endpoints: [proxy.endpoint],
      namespace,
      ttl: 3,
      callTimeoutMs: 600,
    });
    try {
      await cut.withLock(
        'wallet:9',
        async (lock) => {
          proxy.cut();
          await once(lock.signal, 'abort');
          await tracing.inSpan('noticed', async () => undefined);
        },
        { label: 'wallet' },
      );
    } finally {
      proxy.restore();
      await cut.close();
      await proxy.close();
    }
    const hold = tracing.one(SPANS.hold, 'wallet');
    const names = hold.events.map((event) => event.name);
    const lostAt = names.indexOf(EVENTS.lost);
    assert.ok(lostAt > 0, `events: ${names.join(', ')}`);
    assert.equal(names.lastIndexOf(EVENTS.lost), lostAt, 'lost once');
    assert.ok(
      names.slice(0, lostAt).every((name) => name === EVENTS.keepaliveFailed),
      `failed keepalives come first: ${names.join(', ')}`,
    );
    const failed = hold.events[0]!;
    assert.equal(failed.attributes?.[ATTR.errorType], 'ZZLOCK_STORE_UNAVAILABLE');
    assert.equal(typeof failed.attributes?.[ATTR.errorMessage], 'string');
    assert.equal(hold.events[lostAt]!.attributes?.[ATTR.errorType], 'ZZLOCK_LOST');
    assert.equal(hold.status.code, SpanStatusCode.ERROR);
    assert.equal(hold.attributes[ATTR.errorType], 'ZZLOCK_LOST');
    assert.equal(parentOf(tracing.one('noticed')), idOf(hold));
  });

  it('ends the hold span of a lock still held when the client closes', async () => {
    tracing.reset();
    const closing = new LockClient({
      endpoints: store.etcd.endpoints,
      namespace,
      shutdownGraceMs: 0, // nobody will release it: close at once
    });
    await closing.acquire('left:1', { label: 'left' });
    assert.equal(tracing.named(SPANS.hold, 'left').length, 0, 'a hold span ends with the hold');
    await closing.close();
    const hold = tracing.one(SPANS.hold, 'left');
    assert.equal(hold.ended, true);
    assert.deepEqual(
      hold.events.map((event) => event.name),
      [EVENTS.lost],
      'closed under a holder, the lock is lost (its signal aborts)',
    );
  });

  it('puts no per-entity lock name in a span name, an attribute or an event', async () => {
    tracing.reset();
    await locks.withLock('customer:123456', async () => undefined, { label: 'customer' });
    await locks.withLock('customer:654321', async () => undefined);
    const ours = tracing
      .finished()
      .filter((span) => span.instrumentationScope.name === ZZLOCK_TRACING.scope.name);
    assert.equal(ours.length, 4);
    assert.deepEqual(new Set(ours.map((span) => span.name)), new Set([SPANS.acquire, SPANS.hold]));
    const unlabelled = ours.filter((span) => span.attributes[ATTR.label] === 'unlabelled');
    assert.equal(unlabelled.length, 2, 'a call with no label is traced as unlabelled');
    const recorded = JSON.stringify(ours.map((span) => [span.attributes, span.events]));
    assert.doesNotMatch(recorded, /123456|654321/);
  });
});
