// zzlock for plain Node, as a user gets it: the packed tarball installed into a project without
// Nest installs no Nest (every peer is optional); the README's plain-Node example runs there as
// plain JavaScript against a real etcd, as an ES module, and LockClient works from CommonJS too;
// the Nest entry, loaded without its peers, fails naming them (require) or the first (import);
// `npx zzlock locks` lists a held lock there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockClient } from '../../lib/core/index.js';
import { etcdForFile, leftovers } from '../support/index.js';
import { installProject, type InstalledProject } from './installed-project.js';
import { npmEnv, packedTarball } from './packed-tarball.js';
import { readmeSnippets } from './readme-snippets.js';
import { repositoryRoot } from './repository-root.js';

/** The endpoint the README's example names; the test gives it its own etcd instead. */
const README_ENDPOINT = 'http://127.0.0.1:2379';
/** The peers the Nest entry loads as it is imported (terminus and prom-client: only when used). */
const NEST_ENTRY_PEERS = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'];

describe('zzlock in a plain Node project (no Nest)', () => {
  const store = etcdForFile();
  let project: InstalledProject;

  before(() => {
    project = installProject(
      'plain-node',
      {
        'package.json': JSON.stringify({ name: 'plain-node-app', private: true, type: 'module' }),
      },
      [packedTarball()],
    );
  });
  after(() => project?.remove());

  it('installs zzlock without any of its peers: no Nest, rxjs, reflect-metadata or prom-client', () => {
    assert.ok(existsSync(join(project.dir, 'node_modules', 'zzlock', 'package.json')));
    const pkg = JSON.parse(
      readFileSync(join(repositoryRoot(import.meta.url), 'package.json'), 'utf8'),
    ) as {
      peerDependencies: Record<string, string>;
    };
    const peers = Object.keys(pkg.peerDependencies);
    assert.ok(peers.length >= 6, `peers: ${peers}`);
    const installed = [...peers, '@nestjs'].filter((peer) =>
      existsSync(join(project.dir, 'node_modules', peer)),
    );
    assert.deepEqual(installed, []);
  });

  it("runs the README's plain-Node example, as plain JavaScript, against etcd", async () => {
    const [example] = readmeSnippets('Plain Node: LockClient', 'js');
    assert.ok(example, 'README.md has no js block under "## Plain Node: LockClient"');
    assert.equal(
      example.split(README_ENDPOINT).length,
      2,
      `the example names ${README_ENDPOINT} once`,
    );
    project.write('example.mjs', example.replace(README_ENDPOINT, store.etcd.endpoints[0]!));

    const result = await project.node(['example.mjs']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^report built under fencing token \d+$/m);
    assert.match(result.stdout, /^sending invoice 42 under fencing token \d+$/m);
    assert.deepEqual((await leftovers(store.etcd.endpoints, 'jobs/')).keys, []);
  });

  it("takes the example's busy branch while another process holds invoice:42", async () => {
    const other = new LockClient({ endpoints: store.etcd.endpoints, namespace: 'jobs/' });
    try {
      const held = await other.acquire('invoice:42');
      const result = await project.node(['example.mjs']);
      await held.release();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^report built under fencing token \d+$/m);
      assert.match(result.stdout, /^invoice 42 is busy, try later$/m);
      assert.doesNotMatch(result.stdout, /sending invoice 42/);
    } finally {
      await other.close();
    }
  });

  it("uses zzlock/core's LockClient from CommonJS", async () => {
    project.write(
      'locked.cjs',
      `const { LockClient } = require('zzlock/core');
async function main() {
  const locks = new LockClient({ endpoints: [process.env.ZZ_ENDPOINT], namespace: 'cjs/' });
  await locks.withLock('job', (lock) => console.log('token ' + lock.fencingToken));
  await locks.close();
}
main();
`,
    );
    const result = await project.node(['locked.cjs'], { ZZ_ENDPOINT: store.etcd.endpoints[0]! });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^token \d+$/m);
    assert.deepEqual((await leftovers(store.etcd.endpoints, 'cjs/')).keys, []);
  });

  it('runs `npx zzlock locks`, the package’s bin, with no Nest installed', async () => {
    const other = new LockClient({ endpoints: store.etcd.endpoints, namespace: 'bin/' });
    try {
      const held = await other.acquire('report');
      const listed = await new Promise<{ code: number; stdout: string; stderr: string }>(
        (resolve) =>
          execFile(
            'npx',
            [
              '--no',
              'zzlock',
              'locks',
              '--endpoints',
              store.etcd.endpoints[0]!,
              '--namespace',
              'bin/',
              '--json',
            ],
            { cwd: project.dir, env: npmEnv({}), encoding: 'utf8' },
            (error, stdout, stderr) =>
              resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
          ),
      );
      await held.release();
      assert.equal(listed.code, 0, listed.stderr);
      const [lock] = JSON.parse(listed.stdout) as {
        name: string;
        holders: { fencingToken: string }[];
      }[];
      assert.equal(lock.name, 'report');
      assert.equal(lock.holders[0].fencingToken, String(held.fencingToken));
    } finally {
      await other.close();
    }
  });

  it("fails require('zzlock') with PeerDependencyMissingError, naming every missing peer and zzlock/core", async () => {
    project.write(
      'nest-entry.cjs',
      `try { require('zzlock'); } catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, entry: error.entry, missing: error.missing, message: error.message }));
}
`,
    );
    const result = await project.node(['nest-entry.cjs']);
    assert.equal(result.code, 0, result.stderr);
    const error = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(error['name'], 'PeerDependencyMissingError');
    assert.equal(error['code'], 'ZZLOCK_PEER_MISSING');
    assert.equal(error['entry'], 'zzlock');
    assert.deepEqual(error['missing'], NEST_ENTRY_PEERS);
    assert.match(
      String(error['message']),
      /npm install @nestjs\/common @nestjs\/core reflect-metadata rxjs/,
    );
    assert.match(String(error['message']), /'zzlock\/core'/);
  });

  it("fails import('zzlock') in Node's loader, naming a missing Nest package", async () => {
    project.write(
      'nest-entry.mjs',
      `await import('zzlock').then(() => console.log('loaded'), (error) => console.log(error.code + ' ' + error.message));\n`,
    );
    const result = await project.node(['nest-entry.mjs']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^ERR_MODULE_NOT_FOUND Cannot find package '@nestjs\/(common|core)' imported from .*node_modules\/zzlock\/dist\/lib\//,
    );
  });
});
