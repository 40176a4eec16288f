/**
 * docker-compose.yml is checked by the compose CLI itself (`config -q`): `docker compose` (v2
 * plugin) or `docker-compose` (v1, which scripts/ensure-setup.mjs installs from Debian when neither
 * is there). No Docker engine is needed. Skipped on a machine without either, never in CI (CI=true):
 * there a missing CLI fails the run rather than leave the file unchecked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const composeFile = fileURLToPath(new URL('../../../docker-compose.yml', import.meta.url));

/** How to call compose here: `docker compose` or `docker-compose`; undefined when neither works. */
function findComposeCli(): { command: string; args: string[] } | undefined {
  const works = (command: string, args: string[]): boolean =>
    spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;
  if (works('docker', ['compose', 'version'])) return { command: 'docker', args: ['compose'] };
  if (works('docker-compose', ['version'])) return { command: 'docker-compose', args: [] };
  return undefined;
}

const cli = findComposeCli();
const skip =
  cli === undefined && process.env['CI'] !== 'true'
    ? 'neither `docker compose` nor `docker-compose` is installed'
    : false;

function compose(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  assert.ok(
    cli !== undefined,
    'neither `docker compose` nor `docker-compose` is installed: run scripts/ensure-setup.mjs',
  );
  const result = spawnSync(cli.command, [...cli.args, '-f', composeFile, ...args], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docker-compose.yml', () => {
  it('is a valid compose file (`config -q`)', { skip }, () => {
    const result = compose('config', '-q');
    assert.equal(result.status, 0, result.stderr);
  });

  it('declares three etcd members and three sample-app replicas', { skip }, () => {
    const result = compose('config', '--services');
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(result.stdout.split('\n').filter(Boolean).sort(), [
      'etcd-0',
      'etcd-1',
      'etcd-2',
      'replica-1',
      'replica-2',
      'replica-3',
    ]);
  });

  it(
    'gives every etcd member an etcdctl healthcheck and every replica its own port',
    { skip },
    () => {
      const result = compose('config');
      assert.equal(result.status, 0, result.stderr);
      const healthchecks = result.stdout.match(/- endpoint\n\s*- health/g) ?? [];
      assert.equal(healthchecks.length, 3, 'etcdctl endpoint health, once per member');
      for (const port of ['3001', '3002', '3003']) {
        assert.match(
          result.stdout,
          new RegExp(`published: "?${port}"?|${port}:3000`),
          `port ${port}`,
        );
      }
    },
  );
});
