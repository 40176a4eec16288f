/**
 * The metric names a PromQL expression reads, found without a PromQL parser: strings, label
 * matchers, range and subquery brackets, grouping clauses and Grafana variables are cut out,
 * and of the identifiers left, those that call (a function or an aggregation, followed by `(`)
 * and PromQL's keywords are no metric. Enough for the queries zzlock ships (a dashboard and a
 * rules file); its unit test keeps it honest.
 * @example
 * metricNamesIn('sum by (lock) (rate(zzlock_contended_total{lock=~"$lock"}[5m])) or vector(0)');
 * // ['zzlock_contended_total']
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // strings first: they may hold { [ (
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  // Numbers and durations (0.99, 1e3, 5m) first, so that no identifier is read out of one.
  for (const match of stripped.matchAll(/[0-9][\w.]*|([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, identifier, calls] = match;
    if (identifier === undefined || calls !== undefined || KEYWORDS.has(identifier.toLowerCase())) {
      continue;
    }
    names.add(identifier);
  }
  return [...names];
}

/** PromQL's words that are no metric: binary operators, modifiers, and the float literals. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The PromQL of a Grafana variable query: `label_values(<expr>, <label>)` reads `<expr>`;
 * `label_values(<label>)` reads no metric. Other queries are PromQL as they are.
 * @example
 * variableQueryExpr('label_values(zzlock_held_locks{job="api"}, lock)'); // 'zzlock_held_locks{job="api"}'
 */
export function variableQueryExpr(query: string): string {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*(?:,\s*\w+\s*)?\)\s*$/s.exec(query);
  if (labelValues === null) return query;
  const [, inner] = labelValues;
  // One argument alone is a label name, not a selector.
  return /^\w+$/.test(inner) && !query.includes(',') ? '' : inner;
}
