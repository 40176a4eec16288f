/**
 * Just enough of the Prometheus text format to read zzlock's metrics back in the demo: samples,
 * histograms merged across replicas, and quantiles estimated as PromQL's `histogram_quantile` does.
 */

/** One sample line: `name{label="value",…} 12.5`. */
export interface PrometheusSample {
  /** Metric name, with its `_bucket` / `_sum` / `_count` suffix if any. */
  readonly name: string;
  /** Label values by label name. */
  readonly labels: Readonly<Record<string, string>>;
  /** The sample value. */
  readonly value: number;
}

/** A histogram series: cumulative bucket counts by upper bound (seconds), sorted by bound. */
export interface HistogramSeries {
  /** `[upper bound, cumulative count]`, ascending; the last bound is `Infinity`. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  /** Number of observations. */
  readonly count: number;
  /** Sum of observations. */
  readonly sum: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses every sample of a scrape; comments and blank lines are skipped. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line.trim());
    if (match === null) continue;
    const [, name, labelText = '', rawValue] = match;
    const labels: Record<string, string> = {};
    for (const [, key, value] of labelText.matchAll(LABEL_PAIR)) {
      labels[key] = value.replace(/\\(["\\n])/g, (_, escaped: string) =>
        escaped === 'n' ? '\n' : escaped,
      );
    }
    samples.push({ name, labels, value: parseSampleValue(rawValue) });
  }
  return samples;
}

function parseSampleValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return Number(raw);
}

/** Sum of every sample named `name` whose labels include `where`. */
export function sumSamples(
  samples: readonly PrometheusSample[],
  name: string,
  where: Readonly<Record<string, string>> = {},
): number {
  return samples
    .filter((sample) => sample.name === name && matches(sample.labels, where))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * Merges the histogram `name` over every scrape given (one per replica) and every series whose
 * labels include `where`: bucket counts, sums and counts are added, as `sum by (le)` would.
 * `undefined` when no such series exists.
 */
export function mergeHistogram(
  scrapes: ReadonlyArray<readonly PrometheusSample[]>,
  name: string,
  where: Readonly<Record<string, string>> = {},
): HistogramSeries | undefined {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let found = false;
  for (const samples of scrapes) {
    for (const sample of samples) {
      if (!matches(sample.labels, where)) continue;
      if (sample.name === `${name}_bucket`) {
        const bound = parseSampleValue(sample.labels['le'] ?? '+Inf');
        buckets.set(bound, (buckets.get(bound) ?? 0) + sample.value);
        found = true;
      } else if (sample.name === `${name}_count`) {
        count += sample.value;
      } else if (sample.name === `${name}_sum`) {
        sum += sample.value;
      }
    }
  }
  if (!found) return undefined;
  return { buckets: [...buckets.entries()].sort(([a], [b]) => a - b), count, sum };
}

/**
 * Estimates the `q` quantile (0…1) of a histogram like PromQL's `histogram_quantile`: finds the
 * bucket holding the rank and interpolates linearly inside it. `undefined` without observations.
 */
export function histogramQuantile(q: number, histogram: HistogramSeries): number | undefined {
  const total = histogram.buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, cumulative] of histogram.buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = cumulative - lowerCount;
      return inBucket === 0
        ? bound
        : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = cumulative;
  }
  return lowerBound;
}

/** The distinct values of `label` among samples named `name`. */
export function labelValues(
  samples: readonly PrometheusSample[],
  name: string,
  label: string,
): string[] {
  const values = new Set<string>();
  for (const sample of samples) {
    const value = sample.labels[label];
    if (sample.name === name && value !== undefined) values.add(value);
  }
  return [...values].sort();
}

function matches(
  labels: Readonly<Record<string, string>>,
  where: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(where).every(([key, value]) => labels[key] === value);
}
