import { variableQueryExpr } from './promql-metric-names.js';

/** One PromQL expression and where it came from, for failure messages. */
export interface SourcedQuery {
  readonly where: string;
  readonly expr: string;
}

/**
 * Every PromQL expression of a Grafana dashboard: each `expr` anywhere in it (panel targets,
 * rows' nested panels, annotations) and each query variable's `query` and `definition`.
 * @example
 * dashboardQueries(JSON.parse(readFileSync('docs/grafana/zzlock-dashboard.json', 'utf8')));
 */
export function dashboardQueries(dashboard: unknown): SourcedQuery[] {
  const found: SourcedQuery[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${where}[${i}]`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    const title = typeof object.title === 'string' ? ` "${object.title}"` : '';
    for (const [key, value] of Object.entries(object)) {
      if (key === 'expr' && typeof value === 'string') {
        found.push({ where: `${where}${title}.expr`, expr: value });
      } else if (object.type === 'query' && (key === 'query' || key === 'definition')) {
        const query =
          typeof value === 'string' ? value : (value as { query?: unknown } | null)?.query;
        if (typeof query === 'string') {
          found.push({
            where: `${where} variable ${String(object.name)}.${key}`,
            expr: variableQueryExpr(query),
          });
        }
      } else {
        walk(value, `${where}.${key}`);
      }
    }
  };
  walk(dashboard, 'dashboard');
  return found;
}

/**
 * The values of `key:` in a YAML file of Prometheus rules or rule tests, as this project writes
 * them: a plain or quoted scalar on the line, or a folded/literal block (`>-`, `|`) below it.
 * Not a YAML parser: the caller checks that it found as many as the file has rules.
 * @example
 * yamlValues(readFileSync('docs/prometheus/zzlock-rules.yml', 'utf8'), 'expr');
 */
export function yamlValues(text: string, key: string): SourcedQuery[] {
  const lines = text.split('\n');
  const found: SourcedQuery[] = [];
  const keyLine = new RegExp(`^(\\s*)(?:- )?${key}:\\s*(.*)$`);
  lines.forEach((line, i) => {
    const match = keyLine.exec(line);
    if (match === null) return;
    const [, indent, rest] = match;
    const where = `line ${i + 1}`;
    if (/^[>|][-+]?$/.test(rest)) {
      const block: string[] = [];
      for (const next of lines.slice(i + 1)) {
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent.length) break;
        block.push(next.trim());
      }
      found.push({ where, expr: block.join(rest.startsWith('>') ? ' ' : '\n').trim() });
    } else {
      const quoted = /^'(.*)'$|^"(.*)"$/.exec(rest);
      found.push({ where, expr: quoted ? (quoted[1] ?? quoted[2]).replace(/''/g, "'") : rest });
    }
  });
  return found;
}
