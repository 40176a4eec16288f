// The `zzlock:acquire` tracing channel of node:diagnostics_channel, as an APM with no
// OpenTelemetry would subscribe to it, against real etcd: start, end, then asyncStart and asyncEnd
// for a grant (with its outcome, wait, fencing token and handle) and for a busy try (result null),
// error before them for a timeout; one message object per acquisition; nothing for bad input;
// nothing published (and nothing changed) once unsubscribed.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import {
  LockClient,
  LockConfigError,
  LockTimeoutError,
  ZZLOCK_TRACING,
  type LockAcquireMessage,
} from '../../lib/core/index.js';
import { etcdForFile } from '../support/index.js';

const namespace = 'channel/';
let locks: LockClient;
etcdForFile({
  setUp: (etcd) => (locks = new LockClient({ endpoints: etcd.endpoints, namespace })),
  cleanUp: () => locks?.close(),
});

type EventName = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
/** One published event: its name, the message object, and a copy of it at that moment. */
interface Seen {
  readonly event: EventName;
  readonly message: LockAcquireMessage;
  readonly copy: Partial<LockAcquireMessage>;
}

/** Subscribes to every event of the channel until the returned `stop()`. */
function record(): { seen: Seen[]; stop: () => void } {
  const channel = diagnosticsChannel.tracingChannel<unknown, LockAcquireMessage>(
    ZZLOCK_TRACING.acquireChannel,
  );
  const seen: Seen[] = [];
  const on = (event: EventName) => (message: LockAcquireMessage) =>
    seen.push({ event, message, copy: { ...message } });
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  channel.subscribe(handlers);
  return { seen, stop: () => channel.unsubscribe(handlers) };
}

describe('the zzlock:acquire diagnostics channel', () => {
  it('publishes a grant: start and end at the call, asyncStart and asyncEnd with the outcome', async () => {
    const { seen, stop } = record();
    let token = '';
    try {
      await locks.withLock('invoice:8', (lock) => (token = String(lock.fencingToken)), {
        label: 'invoice',
      });
    } finally {
      stop();
    }
    assert.deepEqual(
      seen.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    assert.ok(
      seen.every((s) => s.message === seen[0]!.message),
      'one message object per acquisition',
    );
    const asked = { name: 'invoice:8', label: 'invoice', mode: 'exclusive', call: 'acquire' };
    assert.deepEqual(seen[0]!.copy, { ...asked, waitMs: 10_000 });
    const [, , settled] = seen;
    const { result, waitedMs, ...told } = settled!.copy;
    assert.deepEqual(told, { ...asked, waitMs: 10_000, outcome: 'acquired', fencingToken: token });
    assert.equal(typeof waitedMs, 'number');
    assert.equal(String(result?.fencingToken), token, 'result is the handle');
  });

  it('publishes a busy try with result null, and a timeout with error before asyncStart', async () => {
    const held = await locks.acquire('invoice:9', { label: 'invoice' });
    const { seen, stop } = record();
    try {
      assert.equal(await locks.tryAcquire('invoice:9', { label: 'invoice' }), null);
      await assert.rejects(
        locks.acquire('invoice:9', { label: 'invoice', waitMs: 200 }),
        LockTimeoutError,
      );
    } finally {
      stop();
      await held.release();
    }
    const [tried, timedOut] = [seen.slice(0, 4), seen.slice(4)];
    assert.deepEqual(
      tried.map((s) => s.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    assert.equal(tried[2]!.copy.call, 'tryAcquire');
    assert.equal(tried[2]!.copy.waitMs, 0);
    assert.equal(tried[2]!.copy.outcome, 'busy');
    assert.equal(tried[2]!.copy.result, null);
    assert.equal(tried[2]!.copy.fencingToken, undefined);

    assert.deepEqual(
      timedOut.map((s) => s.event),
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
    );
    const failed = timedOut[2]!.copy;
    assert.ok(failed.error instanceof LockTimeoutError);
    assert.equal(failed.outcome, 'timeout');
    assert.equal(failed.waitMs, 200);
    assert.equal(typeof failed.waitedMs, 'number');
    assert.equal('result' in failed, false);
  });

  it('publishes nothing for bad input, nor once unsubscribed', async () => {
    const { seen, stop } = record();
    try {
      await assert.rejects(locks.acquire('', { label: 'invoice' }), LockConfigError);
      await assert.rejects(locks.tryAcquire('invoice:10', { waitMs: 5 } as never), LockConfigError);
    } finally {
      stop();
    }
    await locks.withLock('invoice:10', () => undefined);
    assert.deepEqual(seen, []);
  });
});
