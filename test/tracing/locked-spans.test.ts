// @Locked methods traced by the real OpenTelemetry SDK (in-memory exporter, AsyncLocalStorage
// context manager) in a Nest app on real etcd: the method's own spans are children of zzlock.hold,
// for a Promise method and for a declared Observable (per subscription), the lock is labelled by
// its declared label or name (never the per-entity key), and zzlock.acquire and zzlock.hold are
// siblings under the caller's span.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { defer, from, lastValueFrom, Observable } from 'rxjs';
import { Locked, LockService, ZZLOCK_TRACING, ZZLockModule } from '../../lib/index.js';
import { etcdForFile } from '../support/index.js';
import { registerInMemoryTracing } from './in-memory-tracing.js';

const { spans: SPANS, attributes: ATTR } = ZZLOCK_TRACING;
const tracing = registerInMemoryTracing();

@Injectable()
class Billing {
  constructor(private readonly locks: LockService) {}

  @Locked((invoiceId: string) => `invoice:${invoiceId}`, { label: 'invoice' })
  async bill(invoiceId: string): Promise<string> {
    await tracing.inSpan('charge', async () => {
      await new Promise((resolve) => setImmediate(resolve));
    });
    return `${invoiceId}:${this.locks.current().fencingToken}`;
  }

  @Locked('nightly-report')
  async report(): Promise<void> {
    await tracing.inSpan('render', async () => undefined);
  }

  @Locked('feed', { permits: 2 })
  feed(): Observable<string> {
    return defer(() => from(tracing.inSpan('feed-item', async () => 'item')));
  }
}

let app: INestApplicationContext | undefined;
etcdForFile({
  setUp: async (etcd) => {
    @Module({
      imports: [
        ZZLockModule.forRoot({ endpoints: etcd.endpoints, namespace: 'traced/', metrics: false }),
      ],
      providers: [Billing],
    })
    class TracedApp {}
    app = await NestFactory.createApplicationContext(TracedApp, { logger: false });
  },
  cleanUp: () => app?.close(),
});

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;

describe('@Locked spans', () => {
  it('runs a locked method inside zzlock.hold, labelled by its declared label, under the caller’s span', async () => {
    tracing.reset();
    const billing = app!.get(Billing);
    const billed = await tracing.inSpan('cron-tick', () => billing.bill('77'));
    const tick = tracing.one('cron-tick');
    const acquire = tracing.one(SPANS.acquire, 'invoice');
    const hold = tracing.one(SPANS.hold, 'invoice');
    assert.equal(parentOf(acquire), idOf(tick));
    assert.equal(parentOf(hold), idOf(tick));
    assert.equal(parentOf(tracing.one('charge')), idOf(hold));
    assert.equal(`77:${String(hold.attributes[ATTR.fencingToken])}`, billed);
    assert.doesNotMatch(JSON.stringify([acquire.attributes, hold.attributes]), /invoice:77/);

    await billing.report();
    const reportHold = tracing.one(SPANS.hold, 'nightly-report');
    assert.equal(parentOf(reportHold), undefined, 'a root span without a caller’s span');
    assert.equal(parentOf(tracing.one('render')), idOf(reportHold));
  });

  it('runs the subscription of a declared Observable inside its zzlock.hold', async () => {
    tracing.reset();
    assert.equal(await lastValueFrom(app!.get(Billing).feed()), 'item');
    const hold = tracing.one(SPANS.hold, 'feed');
    assert.equal(hold.attributes[ATTR.mode], 'semaphore');
    assert.equal(parentOf(tracing.one('feed-item')), idOf(hold));
  });
});
