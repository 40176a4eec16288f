// docs/prometheus/zzlock-rules.yml is judged by the real Prometheus tools: `promtool check rules`
// accepts it, and `promtool test rules` passes its unit tests (zzlock-rules.test.yml: each alert
// fires on the series that should raise it, and not on a healthy neighbour's). Both tools are
// also seen to fail on a broken copy, so a pass means they read these files. Starts no etcd;
// promtool comes from Debian's prometheus package (scripts/ensure-setup.mjs installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repositoryRoot } from '../project/repository-root.js';

const rulesDir = join(repositoryRoot(import.meta.url), 'docs', 'prometheus');
const RULES = 'zzlock-rules.yml';
const TESTS = 'zzlock-rules.test.yml';

/** Runs promtool in `cwd`: its exit code and everything it printed. */
function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.error, undefined, `promtool could not run: ${String(result.error)}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the Prometheus rules', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'zzlock-rules-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('pass promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', RULES], rulesDir);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS: 13 rules found/);
  });

  it('pass their unit tests with promtool test rules', () => {
    const { status, output } = promtool(['test', 'rules', TESTS], rulesDir);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS/);
  });

  it('cover every alert in the unit tests', () => {
    const alerts = [...readFileSync(join(rulesDir, RULES), 'utf8').matchAll(/- alert: (\w+)/g)];
    const tests = readFileSync(join(rulesDir, TESTS), 'utf8');
    assert.equal(alerts.length, 5);
    for (const [, alert] of alerts) {
      assert.match(tests, new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`));
    }
  });

  it('fail, both tools, on a broken copy', () => {
    copyFileSync(join(rulesDir, TESTS), join(scratch, TESTS));
    const rules = readFileSync(join(rulesDir, RULES), 'utf8');
    // An alert that no longer fires where its test expects it: promtool test rules fails.
    writeFileSync(
      join(scratch, RULES),
      rules.replace('zzlock_lost_total[5m])) > 0', 'zzlock_lost_total[5m])) > 1'),
    );
    const tested = promtool(['test', 'rules', TESTS], scratch);
    assert.equal(tested.status, 1, tested.output);
    assert.match(tested.output, /FAILED[\s\S]*ZZLockLockLost/);
    // A query that does not parse: promtool check rules fails.
    writeFileSync(
      join(scratch, RULES),
      rules.replace(
        'sum by (job, election) (zzlock_leader) == 0',
        'sum by (job, election) (zzlock_leader) ==',
      ),
    );
    const checked = promtool(['check', 'rules', RULES], scratch);
    assert.equal(checked.status, 1, checked.output);
    assert.match(checked.output, /FAILED/);
  });
});
