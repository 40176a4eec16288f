// The election contract every backend keeps, as a suite to run against one: against EtcdBackend on
// a real etcd (election-contract-etcd.test.ts) and against MemoryBackend
// (election-contract-memory.unit.test.ts, which starts no etcd). Candidates are elected in
// campaign order with strictly increasing terms, `leader()` and `observe()` tell the same leader,
// every change is observed once, and an election never meets a lock of the same name.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  LockAbortedError,
  LockClientClosedError,
  LockConfigError,
  LockLostError,
  LockNotHeldError,
  ZZLOCK_LIMITS,
  type Election,
  type Leader,
  type LockClient,
} from '../../lib/core/index.js';
import { tracked } from '../support/tracked.js';
import { waitFor } from '../support/wait-for.js';

/** What the contract needs from a client: LockClient and LockManager both fit. */
export interface Electors {
  election(name: string): Election;
  acquire: LockClient['acquire'];
  tryAcquire: LockClient['tryAcquire'];
  close(): Promise<void>;
}

/** The store a contract run is against. */
export interface ElectionStore {
  /** A client on the shared store (as another process on the same etcd). */
  open(): Electors;
  /** A client on a store of its own, free to close. */
  openStandalone(): Electors;
  /** Candidates queued in election `name`; undefined where the store has no keys to count. */
  candidatesOf(name: string): Promise<number | undefined>;
}

/** Collects what an observer tells, until stopped. */
function collect(election: Election): {
  seen: (Leader | null)[];
  stop: () => Promise<void>;
} {
  const controller = new AbortController();
  const seen: (Leader | null)[] = [];
  const done = (async () => {
    for await (const leader of election.observe({ signal: controller.signal })) seen.push(leader);
  })();
  return {
    seen,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

/** Declares the contract's suite, `election contract: <label>`, against `store`. */
export function electionContract(label: string, store: () => ElectionStore): void {
  describe(`election contract: ${label}`, () => {
    let a: Electors;
    let b: Electors;
    /** Waits until election `name` has `count` candidates queued (a turn, where none can be counted). */
    const queued = (name: string, count: number) =>
      waitFor(`${count} candidates of ${name}`, async () => {
        const counted = await store().candidatesOf(name);
        if (counted === undefined) await new Promise((resolve) => setImmediate(resolve));
        return counted === undefined || counted === count;
      });
    before(() => {
      a = store().open();
      b = store().open();
    });
    after(() => Promise.all([a.close(), b.close()]));

    it('elects a lone candidate at once; leader() tells its value and term; resign hands over to no one', async () => {
      const election = a.election('solo');
      assert.equal(await election.leader(), null);
      const leadership = await election.campaign({ value: 'replica-1' });
      assert.equal(typeof leadership.term, 'bigint');
      assert.equal(leadership.value, 'replica-1');
      assert.equal(leadership.name, 'solo');
      assert.equal(leadership.signal.aborted, false);
      assert.deepEqual(await b.election('solo').leader(), {
        value: 'replica-1',
        term: leadership.term,
      });
      await leadership.resign();
      await leadership.resign(); // idempotent
      assert.equal(leadership.resigned, true);
      assert.equal(leadership.signal.aborted, false, 'a resign is no loss');
      assert.equal(await election.leader(), null);
    });

    it('elects candidates in campaign order, each term above the last', async () => {
      const first = await a.election('order').campaign({ value: 'first' });
      const second = tracked(b.election('order').campaign({ value: 'second' }));
      await queued('order', 2);
      const third = tracked(a.election('order').campaign({ value: 'third' }));
      // Both wait while the first leads: nothing but a resign elects them.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(second.settled() || third.settled(), false);
      assert.equal((await a.election('order').leader())?.value, 'first');
      await first.resign();
      const secondLeads = await second.promise;
      assert.ok(secondLeads.term > first.term);
      assert.equal(third.settled(), false, 'the third waits for the second');
      assert.deepEqual(await a.election('order').leader(), {
        value: 'second',
        term: secondLeads.term,
      });
      await secondLeads.resign();
      const thirdLeads = await third.promise;
      assert.ok(thirdLeads.term > secondLeads.term);
      await thirdLeads.resign();
    });

    it('observe() tells the current leader first, then every change once: elections, proclaims, resigns', async () => {
      const election = a.election('watched');
      const observer = collect(b.election('watched'));
      await waitFor('the observer to tell no leader', async () => observer.seen.length === 1);
      assert.deepEqual(observer.seen, [null]);

      const one = await election.campaign({ value: 'one' });
      const two = tracked(b.election('watched').campaign({ value: 'two' }));
      await waitFor('one to be observed', async () => observer.seen.length === 2);
      await one.proclaim('one v2');
      assert.equal(one.value, 'one v2');
      await waitFor('the proclaim to be observed', async () => observer.seen.length === 3);
      await one.proclaim('one v2'); // the same value: no change to tell
      await one.resign();
      const twoLeads = await two.promise;
      await waitFor('two to be observed', async () => observer.seen.length === 4);
      await twoLeads.resign();
      await waitFor('no leader to be observed', async () => observer.seen.length === 5);
      await observer.stop();
      assert.deepEqual(observer.seen, [
        null,
        { value: 'one', term: one.term },
        { value: 'one v2', term: one.term },
        { value: 'two', term: twoLeads.term },
        null,
      ]);
    });

    it('a proclaim keeps the term and is what leader() tells; a resigned leadership cannot proclaim', async () => {
      const leadership = await a.election('proclaim').campaign({ value: 'v1' });
      await leadership.proclaim('v2');
      assert.deepEqual(await b.election('proclaim').leader(), {
        value: 'v2',
        term: leadership.term,
      });
      await leadership.resign();
      await assert.rejects(leadership.proclaim('v3'), LockNotHeldError);
      assert.equal(leadership.value, 'v2');
    });

    it('an aborted campaign rejects with LockAbortedError and leaves no candidate behind', async () => {
      const leader = await a.election('abort').campaign({ value: 'leader' });
      const controller = new AbortController();
      const waiting = b.election('abort').campaign({ value: 'quitter', signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(waiting, LockAbortedError);
      await leader.resign();
      await waitFor('the election to have no leader', async () => {
        return (await a.election('abort').leader()) === null;
      });
    });

    it('await using resigns at the end of the scope', async () => {
      let term: bigint;
      {
        await using leadership = await a.election('scoped').campaign({ value: 'scoped' });
        term = leadership.term;
        assert.equal((await a.election('scoped').leader())?.term, term);
      }
      assert.equal(await a.election('scoped').leader(), null);
    });

    it('never meets a lock of the same name, and reads no permits in a proclaimed value', async () => {
      await using lock = await a.acquire('shared-name', { waitMs: 0 });
      const leadership = await b.election('shared-name').campaign({ value: 'x permits=3' });
      assert.equal(await b.tryAcquire('shared-name'), null, 'the lock is still held');
      // A second candidate whose value names other "permits" queues behind, unrefused.
      const next = tracked(a.election('shared-name').campaign({ value: 'y permits=7' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(next.settled(), false);
      await lock.release();
      assert.equal(next.settled(), false, 'a lock released elects no candidate');
      await leadership.resign();
      const nextLeads = await next.promise;
      assert.equal(nextLeads.value, 'y permits=7');
      await nextLeads.resign();
    });

    it('rejects bad input with LockConfigError, before any store call', async () => {
      assert.throws(() => a.election(''), LockConfigError);
      assert.throws(() => a.election(42 as unknown as string), LockConfigError);
      const election = a.election('bad-input');
      const bad: [unknown, string][] = [
        [undefined, 'options'],
        [{}, 'value'],
        [{ value: 42 }, 'value'],
        [{ value: 'x'.repeat(ZZLOCK_LIMITS.maxElectionValueBytes + 1) }, 'value'],
        [{ value: '\uD800' }, 'value'],
        [{ value: 'v', ttl: 0 }, 'ttl'],
        [{ value: 'v', ttl: 1.5 }, 'ttl'],
        [{ value: 'v', signal: 'soon' }, 'signal'],
        [{ value: 'v', waitMs: 10 }, 'waitMs'],
      ];
      for (const [options, option] of bad) {
        await assert.rejects(
          election.campaign(options as never),
          (error: unknown) => error instanceof LockConfigError && error.option === option,
          `campaign(${JSON.stringify(options)?.slice(0, 40)}) names ${option}`,
        );
      }
      assert.throws(
        () => election.observe({ signal: 'x' } as never),
        (error: unknown) => error instanceof LockConfigError && error.option === 'signal',
      );
      assert.throws(() => election.observe({ since: 1 } as never), LockConfigError);
      const leadership = await election.campaign({ value: 'v' });
      await assert.rejects(leadership.proclaim(7 as never), LockConfigError);
      await assert.rejects(
        leadership.proclaim('é'.repeat(ZZLOCK_LIMITS.maxElectionValueBytes / 2 + 1)),
        LockConfigError,
      );
      assert.equal(leadership.value, 'v');
      await leadership.resign();
      assert.equal(await election.leader(), null, 'no candidate was left by a refused call');
    });

    it('closing the client loses its leadership, ends its campaigns and its observers', async () => {
      const own = store().openStandalone();
      const leadership = await own.election('closing').campaign({ value: 'leader' });
      const waiting = own.election('closing').campaign({ value: 'waiter' });
      waiting.catch(() => undefined); // it rejects during close(), asserted after
      const observer = collect(own.election('closing'));
      await waitFor('the observer to tell the leader', async () => observer.seen.length === 1);
      await own.close();
      await assert.rejects(waiting, LockClientClosedError);
      assert.ok(leadership.signal.reason instanceof LockLostError);
      await observer.stop(); // ended by the close already: stop() only awaits it
      await assert.rejects(
        own.election('closing').campaign({ value: 'late' }),
        LockClientClosedError,
      );
      await assert.rejects(own.election('closing').leader(), LockClientClosedError);
      await leadership.resign(); // never throws for a lost leadership
    });
  });
}
