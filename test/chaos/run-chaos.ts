// `npm run chaos -- --minutes M [--no-pre-vote] [--leader-freeze-ms MS] [--keep]`: the chaos run for M
// minutes (default: one round of every fault, about a minute), on etcd members with Raft's
// pre-vote on unless told otherwise, the leader frozen for half the TTL unless told otherwise (see
// ChaosRunOptions). Prints one line per fault and the totals; exits 1 when a property is broken.
// The history and the members' logs are kept when it fails, or with --keep.
import { parseArgs } from 'node:util';

import { runChaos } from './chaos-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    'no-pre-vote': { type: 'boolean', default: false },
    'leader-freeze-ms': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const minutes = values.minutes === undefined ? 0 : Number(values.minutes);
if (!Number.isFinite(minutes) || minutes < 0) {
  console.error(`--minutes must be a non-negative number, got '${values.minutes}'`);
  process.exit(2);
}
const startedAt = performance.now();
const { report } = await runChaos({
  durationMs: minutes * 60_000,
  keepRecords: values.keep,
  ...(values['no-pre-vote'] ? { etcdArgs: [] } : {}),
  ...(values['leader-freeze-ms'] === undefined
    ? {}
    : { leaderFreezeMs: Number(values['leader-freeze-ms']) }),
});
console.log(`[chaos] wall time ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
process.exitCode = report.violations.length === 0 ? 0 : 1;
