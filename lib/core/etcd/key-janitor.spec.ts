// Unit spec of the key janitor over a delete function that fails as etcd can: it retries what
// etcd did not answer, stops on a refusal, on the key's lease going and on close, deduplicates, and
// bounds the calls in flight. Against real etcd: test/core/hardening.test.ts and abandoned-key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreRejectedError } from '../errors/store-rejected.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { KeyJanitor, type DeleteJob } from './key-janitor.js';

const job = (key: string, stop = new AbortController().signal): DeleteJob => ({
  operation: 'cleanup',
  name: 'lock',
  key: Buffer.from(key),
  revision: 7n,
  stop,
});
const unavailable = () => new StoreUnavailableError('cleanup', 'lock', new Error('no answer'));

describe('KeyJanitor', () => {
  it('retries a delete etcd did not answer until it succeeds', async () => {
    let calls = 0;
    const janitor = new KeyJanitor(async () => {
      calls += 1;
      if (calls < 3) throw unavailable();
    }, 10);
    assert.equal(await janitor.remove(job('k')), true);
    assert.equal(calls, 3);
  });

  it('stops at once when etcd refuses the delete', async () => {
    let calls = 0;
    const janitor = new KeyJanitor(async () => {
      calls += 1;
      throw new StoreRejectedError('cleanup', 'lock', 'permission-denied', new Error('denied'));
    }, 10);
    assert.equal(await janitor.remove(job('k')), false);
    assert.equal(calls, 1);
  });

  it('stops when the key’s lease goes, and on close', async () => {
    const lease = new AbortController();
    const janitor = new KeyJanitor(async () => {
      throw unavailable();
    }, 10);
    const removing = janitor.remove(job('k', lease.signal));
    lease.abort();
    assert.equal(await removing, false);
    const other = janitor.remove(job('other'));
    await janitor.close();
    assert.equal(await other, false);
    assert.equal(await janitor.remove(job('after close')), false);
    assert.equal(janitor.pending, 0);
  });

  it('runs one job per key and bounds the calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const janitor = new KeyJanitor(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
    }, 10);
    const same = [janitor.remove(job('k')), janitor.remove(job('k'))];
    assert.equal(janitor.pending, 1);
    const many = Array.from({ length: 50 }, (_, i) => janitor.remove(job(`k${i}`)));
    assert.deepEqual(new Set(await Promise.all([...same, ...many])), new Set([true]));
    assert.ok(most <= 8, `${most} calls at once`);
  });

  it('a job that stops while waiting for its turn passes the turn on', async () => {
    const release: (() => void)[] = [];
    const janitor = new KeyJanitor(
      (job) =>
        job.key.toString().startsWith('slow')
          ? new Promise<void>((resolve) => release.push(resolve))
          : Promise.resolve(),
      10,
    );
    const slow = Array.from({ length: 8 }, (_, i) => janitor.remove(job(`slow${i}`)));
    const lease = new AbortController(); // the lease of the jobs that will stop
    const stopping = Array.from({ length: 10 }, (_, i) =>
      janitor.remove(job(`stopping${i}`, lease.signal)),
    );
    const last = janitor.remove(job('last'));
    await new Promise((resolve) => setImmediate(resolve));
    lease.abort();
    for (const done of release.splice(0)) done(); // 8 turns free up, all handed to stopped jobs
    assert.deepEqual(await Promise.all(slow), Array(8).fill(true));
    assert.deepEqual(await Promise.all(stopping), Array(10).fill(false));
    assert.equal(await last, true);
  });
});
