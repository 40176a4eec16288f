// The wait between two campaigns of one election: bounded, growing with failures in a row,
// jittered, never 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZZLOCK_NEST_DEFAULTS } from '../zzlock.constants.js';
import { campaignRetryDelayMs } from './campaign-backoff.js';

const { campaignRetryMs, campaignRetryMaxMs } = ZZLOCK_NEST_DEFAULTS;

describe('campaignRetryDelayMs', () => {
  it('doubles with each failure in a row, up to the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 50, 1_000_000].map((failures) =>
      campaignRetryDelayMs(failures, () => 1),
    );
    assert.deepEqual(
      ceilings.slice(0, 5),
      [1, 2, 4, 8, 16].map((k) => k * campaignRetryMs),
    );
    for (let i = 1; i < ceilings.length; i += 1) assert.ok(ceilings[i]! >= ceilings[i - 1]!);
    assert.equal(ceilings.at(-1), campaignRetryMaxMs);
    assert.equal(ceilings.at(-2), campaignRetryMaxMs);
  });

  it('draws in the upper half of the ceiling, never 0', () => {
    assert.equal(
      campaignRetryDelayMs(1, () => 0),
      campaignRetryMs / 2,
    );
    assert.equal(
      campaignRetryDelayMs(0, () => 0),
      campaignRetryMs / 2,
      'no failure yet: as one',
    );
    assert.equal(
      campaignRetryDelayMs(-3, () => 2),
      campaignRetryMs,
      'out-of-range input clamped',
    );
    const draws = new Set(Array.from({ length: 20 }, () => campaignRetryDelayMs(3)));
    assert.ok(draws.size > 1, 'jittered');
    for (const draw of draws) assert.ok(draw >= 2 * campaignRetryMs && draw <= 4 * campaignRetryMs);
  });
});
