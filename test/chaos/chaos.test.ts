// The chaos run, short version (one round of every fault, about a minute): 4 worker processes ×
// 3 acquirers doing fenced read-modify-writes under zzlock mutexes and a shared lock's writers,
// fenced reads under its readers, and holds of a 2-permit semaphore, while holders are SIGKILLed
// and paused, etcd members frozen, killed and restarted, and a client cut off. `npm run chaos -- --minutes M`
// runs it longer. The rules are in chaos-checker.ts; the settings in chaos-run.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';

import { runChaos } from './chaos-run.js';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it(
  'chaos: no lost update, no stale write accepted, no fencing inversion, no over-admission of a semaphore or a shared lock, every overlap explained by a lost signal; grants resume in time',
  { timeout: 150_000 },
  async () => {
    const { report, leftovers, pids } = await runChaos({ durationMs: 0 });
    const totals = report.totals;
    assert.deepEqual(report.violations, [], report.violations.join('\n'));
    assert.equal(totals.lostUpdates, 0);
    assert.equal(totals.staleAccepted, 0);
    assert.equal(totals.fencingInversions, 0);
    assert.equal(totals.overlapsExplained, totals.overlaps);
    assert.equal(totals.overAdmissions, 0);
    assert.equal(totals.modeMismatches, 0);
    // Not vacuous: the semaphore was at its permits, readers held together, writers waited.
    assert.equal(report.coverage.length, 2, 'a semaphore and a shared name were driven');
    for (const entry of report.coverage) {
      if (entry.spec.rule === 'semaphore') assert.ok(entry.atPermits >= 1, `${entry.spec.name}`);
      else assert.ok(entry.readersTogether >= 1 && entry.writersAfterReaders >= 1);
    }
    assert.ok(totals.staleWritesRejected >= 1, 'the paused holder’s blind write met its fence');
    assert.equal(report.faults.length, 7, 'one fault of each kind');
    assert.deepEqual(leftovers, { keys: [], leases: [] }, 'nothing left in etcd');
    assert.deepEqual(pids.filter(isRunning), [], 'no etcd member or chaos worker left running');
  },
);
