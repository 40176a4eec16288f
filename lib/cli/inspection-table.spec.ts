// Unit spec of the tables `zzlock` prints: columns aligned, a line per holder, a semaphore's
// permits in its mode, '-' for what a store has not (leases in memory, a lease gone), control
// characters escaped, long leader values shortened; and the JSON, whose tokens are strings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionInfo, LockInfo } from '../core/lock-inspection.js';
import { electionsJson, locksJson } from './inspection-json.js';
import { electionsTable, locksTable } from './inspection-table.js';

const locks: LockInfo[] = [
  {
    name: 'export',
    mode: 'semaphore',
    permits: 3,
    holders: [
      { owner: 'api-1:4242', lease: '694d8a2f1c3b7e01', fencingToken: 1043n, ttlLeft: 14 },
      { owner: 'api-2:77', lease: '694d8a2f1c3b7e09', fencingToken: 1044n, ttlLeft: null },
    ],
    waiting: 1,
  },
  {
    name: 'evil\u001b[2J',
    mode: 'exclusive',
    permits: 1,
    holders: [{ owner: '', lease: null, fencingToken: 9007199254740993n, ttlLeft: null }],
    waiting: 0,
  },
];

describe('locksTable', () => {
  it('aligns a line per holder under one header', () => {
    assert.equal(
      locksTable(locks, 'zzlock/'),
      [
        'LOCK           MODE          HOLDER      LEASE             TOKEN             TTL LEFT  WAITING',
        'export         semaphore(3)  api-1:4242  694d8a2f1c3b7e01  1043              14s       1',
        '                             api-2:77    694d8a2f1c3b7e09  1044              -',
        'evil\\u001b[2J  exclusive     -           -                 9007199254740993  -         0',
        '',
      ].join('\n'),
    );
  });

  it('says when there is nothing', () => {
    assert.equal(locksTable([], 'shop/'), 'No locks under "shop/".\n');
  });
});

describe('electionsTable', () => {
  const election = (value: string): ElectionInfo => ({
    name: 'ingest',
    leader: { value, term: 2051n, lease: 'ab', ttlLeft: 3 },
    waiting: 2,
  });

  it('shows the leader, its term, lease and time left, and the candidates waiting', () => {
    assert.equal(
      electionsTable([election('replica-1')], 'zzlock/'),
      'ELECTION  LEADER     TERM  LEASE  TTL LEFT  WAITING\ningest    replica-1  2051  ab     3s        2\n',
    );
    assert.equal(electionsTable([], 'zzlock/'), 'No elections under "zzlock/".\n');
  });

  it('shortens a long value to 40 characters', () => {
    const [, row] = electionsTable([election('x'.repeat(100))], 'zzlock/').split('\n');
    assert.match(row, new RegExp(`^ingest    ${'x'.repeat(39)}…  2051`));
  });
});

describe('locksJson and electionsJson', () => {
  it('print tokens and terms as decimal strings, every digit kept', () => {
    const [, evil] = JSON.parse(JSON.stringify(locksJson(locks))) as ReturnType<typeof locksJson>;
    assert.deepEqual(evil.holders, [
      { owner: '', lease: null, fencingToken: '9007199254740993', ttlLeft: null },
    ]);
    assert.deepEqual(
      electionsJson([
        { name: 'e', leader: { value: 'v', term: 7n, lease: null, ttlLeft: null }, waiting: 0 },
      ]),
      [{ name: 'e', leader: { value: 'v', term: '7', lease: null, ttlLeft: null }, waiting: 0 }],
    );
  });
});
