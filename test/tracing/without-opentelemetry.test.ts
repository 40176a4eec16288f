// zzlock without `@opentelemetry/api` (an optional peer dependency, imported on first use): a
// child process whose module resolution cannot find the package locks on real etcd as usual
// (withLock, tryAcquire, current), and the diagnostics channel is still published.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { etcdForFile } from '../support/index.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const store = etcdForFile();

/** Runs the locking fixture, with `@opentelemetry/api` hidden or not, and parses its line. */
async function runFixture(hidden: boolean): Promise<Record<string, unknown>> {
  const hide = hidden ? ['--import', fixture('hide-opentelemetry-register')] : [];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...hide, fixture('without-opentelemetry')],
    { env: { ...process.env, ZZLOCK_ENDPOINTS: store.etcd.endpoints.join(',') } },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('without @opentelemetry/api', () => {
  it('the fixture finds the package unless it is hidden', async () => {
    assert.equal((await runFixture(false)).hidden, 'imported');
  });

  it('locks as usual, and publishes the diagnostics channel', async () => {
    const seen = await runFixture(true);
    assert.equal(seen.hidden, 'ERR_MODULE_NOT_FOUND', 'the package is really out of reach');
    assert.match(String(seen.token), /^\d+$/);
    assert.equal(seen.busy, null);
    assert.equal(seen.current, 'job:1');
    assert.deepEqual(seen.published, ['job:acquired', 'job-held:acquired', 'job-try:busy']);
  });
});
