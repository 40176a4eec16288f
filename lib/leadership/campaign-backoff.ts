import { ZZLOCK_NEST_DEFAULTS } from '../zzlock.constants.js';

/**
 * How long a candidacy waits before campaigning again, in ms, after `failures` failures in a row
 * (a campaign that failed, or a leadership lost before it lasted its TTL): `campaignRetryMs`
 * doubled at each failure, capped at `campaignRetryMaxMs`, then drawn in its upper half so that
 * replicas that lost together (an etcd outage) do not campaign again in step. Never 0: a
 * candidacy never loops tightly, whatever the store does.
 * @internal not exported from the package
 * @example
 * campaignRetryDelayMs(1); // 500 to 1000
 * campaignRetryDelayMs(10); // 15 000 to 30 000
 */
export function campaignRetryDelayMs(failures: number, random: () => number = Math.random): number {
  const { campaignRetryMs, campaignRetryMaxMs } = ZZLOCK_NEST_DEFAULTS;
  const doublings = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(campaignRetryMaxMs, campaignRetryMs * 2 ** doublings);
  return ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random(), 0), 1);
}
