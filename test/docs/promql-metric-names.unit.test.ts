// The metric-name extraction that test/docs/exported-metrics.test.ts relies on: every metric an
// expression reads is found, and no function, aggregation, label, keyword, number, duration,
// string or Grafana variable is taken for one; dashboards and rules files give up every query.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricNamesIn, variableQueryExpr } from './promql-metric-names.js';
import { dashboardQueries, yamlValues } from './query-sources.js';

describe('metricNamesIn', () => {
  const cases: [string, string[]][] = [
    ['zzlock_held_locks', ['zzlock_held_locks']],
    [
      'sum by (lock, mode, instance) (zzlock_held_locks{instance=~"$instance", lock=~"$lock"})',
      ['zzlock_held_locks'],
    ],
    [
      'sum(increase(zzlock_lost_total{instance=~"$instance"}[$__range])) or vector(0)',
      ['zzlock_lost_total'],
    ],
    [
      'histogram_quantile(0.99, sum by (lock, le) (rate(zzlock_wait_duration_seconds_bucket{outcome="a{b}[c]"}[5m])))',
      ['zzlock_wait_duration_seconds_bucket'],
    ],
    [
      '(sum by (job) (rate(a_total[2m])) > 0) unless on (job) (sum without (le) (rate(b_count[2m])) > bool 1e3)',
      ['a_total', 'b_count'],
    ],
    ['rate(x_total[5m] offset 1h) / ignoring(code) group_left y_total', ['x_total', 'y_total']],
    [
      'max_over_time(zzlock:held_locks:sum[1h:5m]) * on (job) group_left (team) up',
      ['zzlock:held_locks:sum', 'up'],
    ],
    ['sum by (election) (zzlock_leader) == 0', ['zzlock_leader']],
    ['-Inf < NaN', []],
  ];
  for (const [expr, names] of cases) {
    it(`reads ${JSON.stringify(names)} from ${expr}`, () => {
      assert.deepEqual(metricNamesIn(expr), names);
    });
  }
});

describe('variableQueryExpr', () => {
  it('reads the selector of label_values(selector, label), nothing of label_values(label)', () => {
    assert.equal(
      variableQueryExpr('label_values(zzlock_x{a="1", b=~"$b"}, lock)'),
      'zzlock_x{a="1", b=~"$b"}',
    );
    assert.equal(variableQueryExpr('label_values(instance)'), '');
    assert.equal(variableQueryExpr('up{job="api"}'), 'up{job="api"}');
  });
});

describe('dashboardQueries', () => {
  it('finds every expr (nested panels too) and every query variable', () => {
    const dashboard = {
      templating: {
        list: [
          { name: 'ds', type: 'datasource', query: 'prometheus' },
          {
            name: 'lock',
            type: 'query',
            query: { query: 'label_values(m_one, lock)' },
            definition: 'label_values(m_one, lock)',
          },
        ],
      },
      panels: [
        { title: 'A', targets: [{ expr: 'm_two' }] },
        {
          type: 'row',
          panels: [{ title: 'B', targets: [{ expr: 'm_three' }, { expr: 'm_four' }] }],
        },
      ],
    };
    assert.deepEqual(
      dashboardQueries(dashboard).map(({ expr }) => expr),
      ['m_one', 'm_one', 'm_two', 'm_three', 'm_four'],
    );
  });
});

describe('yamlValues', () => {
  it('reads plain, quoted and block values', () => {
    const yaml = [
      'rules:',
      '  - record: a:b',
      '    expr: sum(m_one)',
      '  - alert: X',
      '    expr: >-',
      '      sum(m_two)',
      '      > 0',
      '    for: 1m',
      '  - series: \'m_three{a="b"}\'',
      '    expr: "m_four"',
    ].join('\n');
    assert.deepEqual(
      yamlValues(yaml, 'expr').map(({ expr }) => expr),
      ['sum(m_one)', 'sum(m_two) > 0', 'm_four'],
    );
    assert.deepEqual(
      yamlValues(yaml, 'series').map(({ expr }) => expr),
      ['m_three{a="b"}'],
    );
    assert.deepEqual(
      yamlValues(yaml, 'record').map(({ expr }) => expr),
      ['a:b'],
    );
  });
});
