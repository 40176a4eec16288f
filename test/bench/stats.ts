/** Latency percentiles of a sample, in milliseconds. */
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
}

/** The `q` quantile (0..1) of an ascending-sorted sample (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** p50, p99 and max of `samples` (any order). */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    n: sorted.length,
  };
}

/**
 * Milliseconds on a clock shared by every process of this machine (epoch-based, sub-millisecond),
 * so grant and release times from different worker processes can be ordered.
 */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}
