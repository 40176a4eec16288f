// The chaos checker's rules for semaphores and shared locks, on crafted histories: over-admissions
// (a third holder of a 2-permit semaphore, a writer with a reader), the overlaps a lost signal
// explains, the coverage that keeps a run from passing vacuously, fencing order by rule, the next
// grant a dead holder's key blocked, the store's rule for readers, and the liveness rule (no name
// ungranted for long while someone waits for it). No etcd.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { LockMode } from '../../lib/core/index.js';
import type {
  ChaosHistory,
  GrantRecord,
  LockSpec,
  FaultRecord,
  PauseRecord,
  StoreOperation,
} from './chaos-history.js';
import {
  checkChaosHistory,
  checkStore,
  findFencingInversions,
  findOverAdmissions,
  findOverlaps,
  firstGrantBlockedBy,
  formatChaosReport,
  ruleCoverage,
} from './chaos-checker.js';
import { findStarvations } from './liveness.js';

const POOL: LockSpec = { name: 'pool', rule: 'semaphore', permits: 2 };
const CATALOG: LockSpec = { name: 'catalog', rule: 'shared', permits: 1 };
const ACCT: LockSpec = { name: 'acct-0', rule: 'exclusive', permits: 1 };
const LIMITS = {
  holderDeathToNextGrantMs: 6000,
  leaderKillToGrantMs: 3000,
  leaderElectedToGrantMs: 1000,
  waitingWithoutGrantMs: 12_000,
};

let tokens = 100n;
/** A grant of `name` by `worker` believed held over [from, to), in `mode`. */
function grant(
  id: string,
  name: string,
  mode: LockMode,
  from: number,
  to: number | undefined,
  extra: Partial<GrantRecord> = {},
): GrantRecord {
  tokens += 1n;
  return {
    id,
    worker: id.split('#')[0],
    name,
    mode,
    asked: mode,
    permits: name === 'pool' ? 2 : 1,
    token: tokens,
    requestedAt: from,
    grantedAt: from,
    ...(to === undefined ? {} : { releasedAt: to }),
    ...extra,
  };
}

function history(grants: GrantRecord[], more: Partial<ChaosHistory> = {}): ChaosHistory {
  return {
    ttlSeconds: 5,
    locks: [ACCT, POOL, CATALOG],
    grants,
    operations: [],
    finalValues: new Map(),
    faults: [],
    kills: [],
    pauses: [],
    heldWrites: new Map(),
    acquireErrors: [],
    startedAt: 0,
    endedAt: 10_000,
    ...more,
  };
}

/** Grants that make every rule's coverage non-zero, on names of their own time span. */
function covered(): GrantRecord[] {
  return [
    grant('w8.1#1', 'pool', 'semaphore', 9000, 9100),
    grant('w9.1#1', 'pool', 'semaphore', 9010, 9100),
    grant('w8.1#2', 'catalog', 'shared', 9000, 9100),
    grant('w9.1#2', 'catalog', 'shared', 9010, 9100),
    grant('w7.1#1', 'catalog', 'exclusive', 9200, 9300, { requestedAt: 9050 }),
  ];
}

describe('chaos checker: semaphores', () => {
  it('a third holder of a 2-permit semaphore, none of them lost, is an over-admission', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 2000);
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 2000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 1200, 1300);
    const report = checkChaosHistory(history([a, b, c, ...covered()]), LIMITS);
    const over = report.overAdmissions.filter((o) => !o.explained);
    assert.equal(over.length, 1);
    assert.equal(over[0].grant.id, c.id);
    assert.deepEqual(
      over[0].held.map((h) => h.grant.id),
      [a.id, b.id],
    );
    assert.equal(report.totals.overAdmissions, 1);
    assert.deepEqual(report.totals.overAdmissionsBy, { semaphore: 1, shared: 0 });
    const violation = report.violations.find((v) => v.startsWith('over-admission on pool'));
    assert.ok(violation?.includes(a.id) && violation.includes(b.id) && violation.includes(c.id));
    const totals = formatChaosReport(report).find((line) => line.includes('totals'));
    assert.match(totals ?? '', /over-admissions 1 \(semaphore 1, shared 0\)/);
  });

  it('two holders of a 2-permit semaphore are no over-admission, and count as at its permits', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 2000);
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 2000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 2000, 2100);
    const h = history([a, b, c]);
    assert.deepEqual(findOverAdmissions(h), []);
    assert.equal(ruleCoverage(h).find((entry) => entry.spec.name === 'pool')?.atPermits, 1);
  });

  it('a third holder granted after one holder’s lost signal fired is explained', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 3000, { lostAt: 1150 });
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 2000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 1200, 1300);
    const report = checkChaosHistory(history([a, b, c, ...covered()]), LIMITS);
    assert.deepEqual(report.violations, []);
    assert.equal(report.overAdmissions.length, 1);
    assert.equal(report.overAdmissions[0].explained, true);
    assert.deepEqual(
      report.overAdmissions[0].held.map((h) => h.explanation),
      ['signalled-before-next-grant', undefined],
    );
    assert.equal(report.totals.overAdmissionsExplained, 1);
  });

  it('a third holder granted while a holder was paused, signalled on resuming, is explained', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 8100, { lostAt: 8050 });
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 7000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 6500, 6600);
    const pauses: PauseRecord[] = [{ worker: 'w1.1', from: 1050, to: 8000 }];
    const report = checkChaosHistory(history([a, b, c, ...covered()], { pauses }), LIMITS);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(
      report.overAdmissions.map((o) => o.held[0].explanation),
      ['paused-signalled-on-resume'],
    );
  });

  it('a lost signal that fired only after the third grant, without a pause, explains nothing', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 3000, { lostAt: 1250 });
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 2000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 1200, 1300);
    const report = checkChaosHistory(history([a, b, c, ...covered()]), LIMITS);
    assert.equal(report.totals.overAdmissions, 1);
  });

  it('a holder SIGKILLed before the third grant no longer counts as held', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, undefined);
    const b = grant('w2.1#1', 'pool', 'semaphore', 1100, 9000);
    const c = grant('w3.1#1', 'pool', 'semaphore', 6000, 6100);
    const h = history([a, b, c], { kills: [{ worker: 'w1.1', at: 1200 }] });
    assert.deepEqual(findOverAdmissions(h), []);
  });

  it('a semaphore never granted at its permits makes the run vacuous, hence a violation', () => {
    const a = grant('w1.1#1', 'pool', 'semaphore', 1000, 1100);
    const b = grant('w2.1#1', 'pool', 'semaphore', 1200, 1300);
    const rest = covered().filter((g) => g.name !== 'pool');
    const report = checkChaosHistory(history([a, b, ...rest]), LIMITS);
    assert.deepEqual(report.violations, [
      'vacuous: semaphore pool was never granted at its 2 permits (2 grants)',
    ]);
  });
});

describe('chaos checker: shared locks', () => {
  it('readers together, then a writer alone, pass and are counted', () => {
    const r1 = grant('w1.1#1', 'catalog', 'shared', 1000, 2000);
    const r2 = grant('w2.1#1', 'catalog', 'shared', 1100, 2000);
    const w = grant('w3.1#1', 'catalog', 'exclusive', 2000, 2100, { requestedAt: 1500 });
    const r3 = grant('w1.1#2', 'catalog', 'shared', 2100, 2200, { requestedAt: 1600 });
    const pool = covered().filter((g) => g.name === 'pool');
    const report = checkChaosHistory(history([r1, r2, w, r3, ...pool]), LIMITS);
    assert.deepEqual(report.violations, []);
    const entry = report.coverage.find((c) => c.spec.name === 'catalog');
    assert.deepEqual(
      [entry?.readers, entry?.readersTogether, entry?.writers, entry?.writersAfterReaders],
      [3, 1, 1, 1],
    );
    assert.ok(
      formatChaosReport(report).includes(
        '[chaos] shared catalog: 3 reader grants, 1 of them while another reader held; ' +
          '1 writer grants, 1 of them asked while readers held',
      ),
    );
  });

  it('a writer granted while a reader holds is an over-admission, and so is a reader granted while a writer holds', () => {
    const r = grant('w1.1#1', 'catalog', 'shared', 1000, 2000);
    const w = grant('w2.1#1', 'catalog', 'exclusive', 1500, 3000);
    const r2 = grant('w3.1#1', 'catalog', 'shared', 2500, 2600);
    const report = checkChaosHistory(history([r, w, r2, ...covered()]), LIMITS);
    assert.deepEqual(
      report.overAdmissions.filter((o) => !o.explained).map((o) => o.grant.id),
      [w.id, r2.id],
    );
    assert.deepEqual(report.totals.overAdmissionsBy, { semaphore: 0, shared: 2 });
    assert.ok(
      report.violations.some(
        (v) =>
          v.startsWith('over-admission on catalog (shared): w2.1#1') &&
          v.includes('writer') &&
          v.includes('w1.1#1') &&
          v.includes('reader'),
      ),
    );
  });

  it('two writers together are an over-admission', () => {
    const w1 = grant('w1.1#1', 'catalog', 'exclusive', 1000, 2000);
    const w2 = grant('w2.1#1', 'catalog', 'exclusive', 1500, 2500);
    assert.deepEqual(
      findOverAdmissions(history([w1, w2]))
        .filter((o) => !o.explained)
        .map((o) => o.grant.id),
      [w2.id],
    );
  });

  it('a writer granted after the reader ahead of it was signalled lost is explained', () => {
    const r = grant('w1.1#1', 'catalog', 'shared', 1000, 7000, { lostAt: 4000 });
    const w = grant('w2.1#1', 'catalog', 'exclusive', 5000, 5100, { requestedAt: 1500 });
    const report = checkChaosHistory(history([r, w, ...covered()]), LIMITS);
    assert.deepEqual(report.violations, []);
    assert.equal(report.totals.overAdmissionsExplained, 1);
  });

  it('a shared name whose readers never held together makes the run vacuous', () => {
    const r1 = grant('w1.1#1', 'catalog', 'shared', 1000, 1100);
    const w = grant('w2.1#1', 'catalog', 'exclusive', 1100, 1200, { requestedAt: 1050 });
    const pool = covered().filter((g) => g.name === 'pool');
    const report = checkChaosHistory(history([r1, w, ...pool]), LIMITS);
    assert.deepEqual(report.violations, [
      'vacuous: no reader of catalog was granted while another held (1 reader grants)',
    ]);
  });

  it('a grant whose mode is not what was asked is a violation', () => {
    const r = grant('w1.1#1', 'catalog', 'exclusive', 1000, 1100, { asked: 'shared' });
    const report = checkChaosHistory(history([r, ...covered()]), LIMITS);
    assert.deepEqual(report.violations, [
      'wrong mode on catalog: w1.1#1 (token ' + r.token + ') asked shared, granted exclusive',
    ]);
  });
});

describe('chaos checker: fencing order by rule, and exclusive names as before', () => {
  it('readers, and a semaphore’s holders, may see their grants out of token order', () => {
    const r1 = { ...grant('w1.1#1', 'catalog', 'shared', 1010, 2000), token: 20n };
    const r2 = { ...grant('w2.1#1', 'catalog', 'shared', 1000, 2000), token: 21n };
    const p1 = { ...grant('w1.1#2', 'pool', 'semaphore', 1010, 2000), token: 30n };
    const p2 = { ...grant('w2.1#2', 'pool', 'semaphore', 1000, 2000), token: 31n };
    assert.deepEqual(findFencingInversions([r1, r2, p1, p2], [POOL, CATALOG]), []);
    // The same on an exclusive name is an inversion, as it always was.
    assert.equal(findFencingInversions([r1, r2]).length, 1);
  });

  it('a reader with a higher token granted before a writer (it jumped the queue) is an inversion', () => {
    const w = { ...grant('w1.1#1', 'catalog', 'exclusive', 2000, 2100), token: 40n };
    const r = { ...grant('w2.1#1', 'catalog', 'shared', 1000, 1100), token: 41n };
    assert.deepEqual(
      findFencingInversions([w, r], [CATALOG]).map((i) => [i.earlier.id, i.later.id]),
      [[r.id, w.id]],
    );
  });

  it('a reader granted after a writer with a lower token is an inversion', () => {
    const w = { ...grant('w1.1#1', 'catalog', 'exclusive', 1000, 1100), token: 41n };
    const r = { ...grant('w2.1#1', 'catalog', 'shared', 2000, 2100), token: 40n };
    assert.equal(findFencingInversions([w, r], [CATALOG]).length, 1);
  });

  it('one token granted twice is an inversion under every rule', () => {
    const p1 = { ...grant('w1.1#1', 'pool', 'semaphore', 1000, 1100), token: 50n };
    const p2 = { ...grant('w2.1#1', 'pool', 'semaphore', 2000, 2100), token: 50n };
    assert.equal(findFencingInversions([p1, p2], [POOL]).length, 1);
  });

  it('an exclusive name is judged by pairwise overlaps, unexplained ones violations', () => {
    const a = grant('w1.1#1', 'acct-0', 'exclusive', 1000, 2000);
    const b = grant('w2.1#1', 'acct-0', 'exclusive', 1500, 1600);
    const h = history([a, b, ...covered()]);
    assert.deepEqual(
      findOverlaps(h).map((o) => [o.earlier.id, o.later.id, o.explanation]),
      [[a.id, b.id, undefined]],
    );
    assert.ok(checkChaosHistory(h, LIMITS).violations[0].startsWith('unexplained overlap'));
    // Semaphore and shared names are not judged pairwise.
    assert.deepEqual(findOverlaps(history(covered())), []);
  });
});

describe('chaos checker: the next grant a dead holder’s key blocked', () => {
  it('for a semaphore, the grant that brings the others to its permits, not one a free permit allowed', () => {
    const dead = grant('w1.1#1', 'pool', 'semaphore', 1000, undefined);
    const kills = [{ worker: 'w1.1', at: 2000 }];
    const other = grant('w2.1#1', 'pool', 'semaphore', 1500, 3000);
    const soon = grant('w3.1#1', 'pool', 'semaphore', 3000, 3100); // the free permit
    const freed = grant('w2.1#2', 'pool', 'semaphore', 6000, 6500);
    const second = grant('w3.1#2', 'pool', 'semaphore', 6200, 6300); // two held by others
    const grants = [dead, other, soon, freed, second];
    assert.equal(firstGrantBlockedBy([dead], 2000, grants, kills, POOL)?.id, second.id);
  });

  it('for a semaphore, also a grant with a waiter ahead of it (a lower token granted later)', () => {
    const dead = grant('w1.1#1', 'pool', 'semaphore', 1000, undefined);
    const waiter = grant('w2.1#1', 'pool', 'semaphore', 1500, 6400, { grantedAt: 6300 });
    const behind = grant('w3.1#1', 'pool', 'semaphore', 1600, 6250, { grantedAt: 6200 });
    const grants = [dead, waiter, behind];
    // behind was granted while waiter (queued ahead of it) still waited: no dead key was left.
    assert.equal(firstGrantBlockedBy([dead], 2000, grants, [], POOL)?.id, behind.id);
    // The same grant with the waiter already gone proves nothing.
    const gone = { ...waiter, releasedAt: 6100, grantedAt: 6000 };
    assert.equal(firstGrantBlockedBy([dead], 2000, [dead, gone, behind], [], POOL), undefined);
  });

  it('for a semaphore whose every permit the dead process held, the next grant of any kind', () => {
    const dead1 = grant('w1.1#1', 'pool', 'semaphore', 1000, undefined);
    const dead2 = grant('w1.1#2', 'pool', 'semaphore', 1100, undefined);
    const next = grant('w2.1#1', 'pool', 'semaphore', 6000, 6100);
    const grants = [dead1, dead2, next];
    assert.equal(firstGrantBlockedBy([dead1], 2000, grants, [], POOL), undefined);
    assert.equal(firstGrantBlockedBy([dead1, dead2], 2000, grants, [], POOL)?.id, next.id);
  });

  it('for a reader, the next writer’s grant; for a writer, the next grant of any mode', () => {
    const reader = grant('w1.1#1', 'catalog', 'shared', 1000, undefined);
    const r = grant('w2.1#1', 'catalog', 'shared', 2500, 2600);
    const w = grant('w3.1#1', 'catalog', 'exclusive', 6000, 6100);
    assert.equal(firstGrantBlockedBy([reader], 2000, [reader, r, w], [], CATALOG)?.id, w.id);
    // Granted at 1000, so its key is older (a lower token) than r's and w's.
    const writer = { ...grant('w1.1#2', 'catalog', 'exclusive', 1000, undefined), token: 1n };
    assert.equal(firstGrantBlockedBy([writer], 2000, [writer, r, w], [], CATALOG)?.id, r.id);
  });

  it('for a mutex, the next grant by another worker', () => {
    const dead = grant('w1.1#1', 'acct-0', 'exclusive', 1000, undefined);
    const mine = grant('w1.1#2', 'acct-0', 'exclusive', 2500, 2600);
    const next = grant('w2.1#1', 'acct-0', 'exclusive', 6000, 6100);
    assert.equal(firstGrantBlockedBy([dead], 2000, [dead, mine, next], [], ACCT)?.id, next.id);
  });
});

describe('chaos checker: the store’s rule for readers', () => {
  const op = (
    seq: number,
    kind: 'read' | 'write',
    token: bigint,
    outcome: 'accepted' | 'stale',
    shared = false,
    versionBefore = 0,
  ): StoreOperation => ({
    seq,
    kind,
    resource: 'catalog',
    token,
    ...(shared ? { shared } : {}),
    grantId: `g${token}`,
    at: seq,
    outcome,
    versionBefore,
    ...(kind === 'write' ? { baseVersion: versionBefore } : {}),
  });

  it('a reader’s read below another reader’s token is accepted rightly', () => {
    const findings = checkStore(
      [op(0, 'read', 12n, 'accepted', true), op(1, 'read', 10n, 'accepted', true)],
      new Map(),
    );
    assert.deepEqual([findings.staleAccepted, findings.wronglyRejected], [[], []]);
  });

  it('a reader’s read below a writer’s token must be rejected, and a write below a reader’s too', () => {
    const accepted = checkStore(
      [op(0, 'read', 20n, 'accepted'), op(1, 'read', 15n, 'accepted', true)],
      new Map(),
    );
    assert.equal(accepted.staleAccepted.length, 1);
    const writeAfterReader = checkStore(
      [op(0, 'read', 25n, 'accepted', true), op(1, 'write', 20n, 'accepted')],
      new Map([['catalog', 1]]),
    );
    assert.equal(writeAfterReader.staleAccepted.length, 1);
    const rejected = checkStore(
      [op(0, 'read', 12n, 'accepted', true), op(1, 'read', 10n, 'stale', true)],
      new Map(),
    );
    assert.equal(rejected.wronglyRejected.length, 1);
  });
});

describe('chaos checker: liveness', () => {
  const long = { startedAt: 0, endedAt: 40_000 };
  /** Grants of acct-0 every 100 ms over [from, to): a lock that keeps moving. */
  function steady(from: number, to: number): GrantRecord[] {
    const grants: GrantRecord[] = [];
    for (let at = from; at < to; at += 100) {
      grants.push(grant(`w5.1#${at}`, 'acct-0', 'exclusive', at, at + 20));
    }
    return grants;
  }

  it('a name ungranted past the limit while others wait is a violation, naming its waiters', () => {
    // pool is granted at 1000, then not again until 30 000 while w1 and w2 wait from 2000.
    const grants = [
      grant('w3.1#1', 'pool', 'semaphore', 1000, 1100),
      grant('w1.1#1', 'pool', 'semaphore', 30_000, 30_100, { requestedAt: 2000 }),
      ...steady(1000, 39_000),
    ];
    const h = history(grants, {
      ...long,
      acquireErrors: [
        { worker: 'w2.1', code: 'ZZLOCK_TIMEOUT', name: 'pool', requestedAt: 2000, at: 32_000 },
      ],
    });
    const starved = findStarvations(h, 12_000);
    assert.equal(starved.length, 1);
    assert.equal(starved[0].name, 'pool');
    assert.equal(starved[0].from, 1000);
    assert.equal(starved[0].gapMs, 28_000);
    assert.deepEqual(starved[0].waiters, ['w1.1', 'w2.1']);
    const report = checkChaosHistory(h, LIMITS);
    assert.ok(
      report.violations.some((v) => v.startsWith('pool: a waiter went 28000 ms without a grant')),
    );
    assert.ok(report.violations.some((v) => v.startsWith('1 acquires spent their whole wait')));
    assert.equal(report.totals.starvations, 1);
  });

  it('a waiter paused by SIGSTOP is not starved by the time it was stopped', () => {
    const grants = [
      grant('w3.1#1', 'acct-0', 'exclusive', 1000, 1100),
      grant('w1.1#1', 'acct-0', 'exclusive', 15_000, 15_100, { requestedAt: 1050 }),
    ];
    const pauses: PauseRecord[] = [{ worker: 'w1.1', from: 2000, to: 9000 }];
    assert.deepEqual(findStarvations(history(grants, { pauses }), 12_000), []);
    assert.equal(findStarvations(history(grants), 12_000).length, 1);
  });

  it('no grant of any lock for longer than the limit is a violation', () => {
    const grants = [...steady(1000, 5000), ...steady(25_000, 39_000)];
    const report = checkChaosHistory(history(grants, long), LIMITS);
    assert.ok(report.violations.some((v) => v.startsWith('no grant of any lock for 20100 ms')));
  });

  it('waits granted within the limit, however many, are no violation', () => {
    const grants = [
      ...steady(1000, 39_000),
      grant('w1.1#1', 'pool', 'semaphore', 11_000, 11_100, { requestedAt: 1000 }),
      ...covered(),
    ];
    const report = checkChaosHistory(history(grants, long), LIMITS);
    assert.deepEqual(findStarvations(history(grants, long), 12_000), []);
    assert.equal(report.violations.filter((v) => v.includes('without a grant')).length, 0);
  });
});

describe('chaos checker: grants after a leader kill', () => {
  /** A leader kill at 1000 ms, etcd's new leader `electedMs` later, a fresh grant `grantMs` later. */
  function verdict(electedMs: number, grantMs: number): string[] {
    const fault: FaultRecord = {
      kind: 'leader-kill',
      target: 'etcd-2',
      startedAt: 1000,
      healedAt: 1000,
      electedAt: 1000 + electedMs,
    };
    const fresh = grant('w1.1#1', 'acct-0', 'exclusive', 1000 + grantMs, 1000 + grantMs + 20, {
      requestedAt: 1100,
    });
    const report = checkChaosHistory(history([fresh, ...covered()], { faults: [fault] }), LIMITS);
    return report.violations.filter((v) => v.startsWith('leader-kill'));
  }

  it('holds grants to 3 s after the kill when etcd elects in time', () => {
    assert.deepEqual(verdict(1200, 2900), []);
    assert.equal(verdict(1200, 3100).length, 1);
    assert.equal(verdict(1900, 3100).length, 1, 'an election within 2 s leaves 1 s: no excuse');
  });

  it('holds the library to 1 s from the new leader when etcd’s election took over 2 s (a split vote)', () => {
    assert.deepEqual(verdict(3068, 3335), []);
    assert.equal(verdict(3068, 4200).length, 1);
    assert.match(verdict(3068, 4200)[0]!, /or 1000 ms after etcd's slow election/);
  });
});
