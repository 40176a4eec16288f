// The Grafana dashboard and the Prometheus rules name only series that zzlock really exports: a
// Nest app with zzlock's metrics in a registry of its own takes, waits for and is refused real
// locks on a real etcd, and the series its registry exposes (each histogram's _bucket, _sum and
// _count) are the names every panel query, variable query, rule expression and rule-test input
// series may use, besides the rules' own recorded series. A metric renamed in
// lib/metrics/zzlock-metrics.ts without the docs fails here.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Test, type TestingModule } from '@nestjs/testing';
import { Registry } from 'prom-client';
import { LockClient, LockService, ZZLOCK_METRIC_NAMES, ZZLockModule } from '../../lib/index.js';
import { etcdForFile, waitFor } from '../support/index.js';
import { repositoryRoot } from '../project/repository-root.js';
import { metricNamesIn } from './promql-metric-names.js';
import { dashboardQueries, yamlValues, type SourcedQuery } from './query-sources.js';

const root = repositoryRoot(import.meta.url);
const namespace = 'exported-metrics/';

/** Series names of a Prometheus text exposition: every sample's, and each type's own suffixes. */
function exposedSeries(text: string): { declared: Set<string>; sampled: Set<string> } {
  const declared = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (type) {
      const [, name, kind] = type;
      const suffixes =
        kind === 'histogram'
          ? ['_bucket', '_sum', '_count']
          : kind === 'summary'
            ? ['', '_sum', '_count']
            : [''];
      for (const suffix of suffixes) declared.add(`${name}${suffix}`);
    } else if (line !== '' && !line.startsWith('#')) {
      sampled.add(/^[^{\s]+/.exec(line)![0]);
    }
  }
  return { declared, sampled };
}

describe('the series the dashboard and the rules name', () => {
  const store = etcdForFile();
  let moduleRef: TestingModule;
  let exported: Set<string>;

  before(async () => {
    const registry = new Registry();
    moduleRef = await Test.createTestingModule({
      imports: [
        ZZLockModule.forRoot({ endpoints: store.etcd.endpoints, namespace, metrics: { registry } }),
      ],
    }).compile();
    await moduleRef.init();
    const locks = moduleRef.get(LockService);
    const other = new LockClient({ endpoints: store.etcd.endpoints, namespace });
    try {
      // Granted at once, refused while another holds it, then granted after waiting.
      await (await locks.acquire('report', { label: 'report' })).release();
      const held = await other.acquire('report');
      assert.equal(await locks.tryAcquire('report', { label: 'report' }), null);
      const waiting = locks.acquire('report', { label: 'report', waitMs: 20_000 });
      await waitFor(
        'the waiter to queue',
        async () => (await store.inspector.getAll().prefix(namespace).count()) === 2,
      );
      await held.release();
      await (await waiting).release();
      await (await locks.acquire('export', { label: 'export', permits: 2 })).release();
    } finally {
      await other.close();
    }
    const { declared, sampled } = exposedSeries(await registry.metrics());
    for (const name of sampled)
      assert.ok(declared.has(name), `${name} is sampled but has no # TYPE`);
    for (const name of [
      'zzlock_acquire_duration_seconds_count',
      'zzlock_wait_duration_seconds_bucket',
      'zzlock_hold_duration_seconds_sum',
      'zzlock_held_locks',
      'zzlock_contended_total',
    ]) {
      assert.ok(sampled.has(name), `the lock activity exposed no sample of ${name}`);
    }
    exported = declared;
  });
  after(() => moduleRef?.close());

  /** The names `queries` read that are neither exported nor `alsoKnown`, with where they are. */
  function unknownNames(
    queries: SourcedQuery[],
    alsoKnown: ReadonlySet<string> = new Set(),
  ): string[] {
    return queries.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !exported.has(name) && !alsoKnown.has(name))
        .map((name) => `${name} (${where}: ${expr})`),
    );
  }

  const rulesText = readFileSync(join(root, 'docs', 'prometheus', 'zzlock-rules.yml'), 'utf8');
  const recorded = () => new Set(yamlValues(rulesText, 'record').map(({ expr }) => expr));

  it('exports each metric of ZZLOCK_METRIC_NAMES under its prefix, and nothing else', () => {
    const metrics = new Set([...exported].map((name) => name.replace(/_(bucket|sum|count)$/, '')));
    const named = Object.values(ZZLOCK_METRIC_NAMES).map((suffix) => `zzlock_${suffix}`);
    assert.deepEqual([...metrics].sort(), [...new Set(named)].sort());
  });

  it('the Grafana dashboard’s panels and variables query only exported series', () => {
    const dashboard: unknown = JSON.parse(
      readFileSync(join(root, 'docs', 'grafana', 'zzlock-dashboard.json'), 'utf8'),
    );
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 20, `found ${queries.length} queries in the dashboard`);
    assert.ok(
      queries.every(({ expr }) => metricNamesIn(expr).length > 0),
      'every query reads a metric',
    );
    assert.deepEqual(unknownNames(queries, recorded()), []);
  });

  it('the rules read only exported series (or recorded ones), and their tests feed only those', () => {
    const expressions = yamlValues(rulesText, 'expr');
    const rules = [...rulesText.matchAll(/^\s*- (?:record|alert): /gm)].length;
    assert.equal(expressions.length, rules, 'one expression read per rule');
    assert.deepEqual(unknownNames(expressions, recorded()), []);
    const tests = readFileSync(join(root, 'docs', 'prometheus', 'zzlock-rules.test.yml'), 'utf8');
    const inputs = yamlValues(tests, 'series');
    assert.ok(inputs.length >= 20, `found ${inputs.length} input series`);
    assert.deepEqual(unknownNames(inputs), []);
  });

  it('would name a metric that does not exist', () => {
    assert.deepEqual(
      unknownNames([{ where: 'a test', expr: 'sum(rate(zzlock_acquire_total[5m]))' }]),
      ['zzlock_acquire_total (a test: sum(rate(zzlock_acquire_total[5m])))'],
    );
  });
});
