// The packed tarball in the two kinds of Nest app users have (nest-app-sources.ts): a Nest 11
// CommonJS app and a Nest 12 ES module app, each installed from npm in a temporary folder, built
// with tsc and started against a real etcd. In each, a @Locked route answers 200, and 423 while
// another process holds its lock; a @Cron job under @Locked runs, and skips while the lock is held
// elsewhere; terminus's health endpoint reports etcd up; both module systems get one copy of
// zzlock; SIGTERM leaves no keys. Proves the peer ranges `^11 || ^12` and the CommonJS entry.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockClient } from '../../lib/core/index.js';
import { etcdForFile, leftovers, waitFor } from '../support/index.js';
import { startApp, type AppProcess } from './app-process.js';
import { installProject, type InstalledProject } from './installed-project.js';
import { APP_LINES, nestAppFiles, type NestAppKind } from './nest-app-sources.js';
import { packedTarball, run } from './packed-tarball.js';

const store = etcdForFile();
let tarball: string;
before(() => {
  tarball = packedTarball();
});

const kinds: (NestAppKind & { title: string })[] = [
  { title: 'a Nest 11 CommonJS app', nest: 11, esm: false },
  { title: 'a Nest 12 ES module app', nest: 12, esm: true },
];

for (const kind of kinds) {
  describe(`zzlock in ${kind.title}`, () => {
    const namespace = `nest${kind.nest}/`;
    let project: InstalledProject;
    let app: AppProcess;
    let holder: LockClient;
    const get = (path: string) => fetch(`http://127.0.0.1:${app.port}${path}`);

    before(async () => {
      project = installProject(`nest${kind.nest}`, nestAppFiles(kind, tarball));
      run('npm', ['run', 'build'], project.dir);
      app = await startApp(
        project.dir,
        'dist/main.js',
        { ZZ_ENDPOINTS: store.etcd.endpoints.join(','), ZZ_NAMESPACE: namespace },
        APP_LINES.ready,
      );
      holder = new LockClient({ endpoints: store.etcd.endpoints, namespace });
    });
    after(async () => {
      await app?.stop();
      await holder?.close();
      project?.remove();
    });

    it('compiles to its module system, and require() and import give one copy of zzlock', async () => {
      project.write(
        'entries.mjs',
        `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const common = JSON.parse(readFileSync(require.resolve('@nestjs/common/package.json'), 'utf8'));
const required = require('zzlock');
const imported = await import('zzlock');
const core = await import('zzlock/core');
console.log(JSON.stringify({
  nest: common.version,
  sameModule: required.ZZLockModule === imported.ZZLockModule && required.LockClient === core.LockClient,
  sameTokens: required.ZZLOCK_MANAGER === imported.ZZLOCK_MANAGER,
}));
`,
      );
      const installed = await project.node(['entries.mjs']);
      assert.equal(installed.code, 0, installed.stderr);
      const found = JSON.parse(installed.stdout) as Record<string, unknown>;
      assert.match(String(found['nest']), new RegExp(`^${kind.nest}\\.`));
      assert.equal(found['sameModule'], true, 'require() and import() load two copies of zzlock');
      assert.equal(found['sameTokens'], true);
      const compiled = readFileSync(join(project.dir, 'dist', 'app.module.js'), 'utf8');
      assert.match(compiled, kind.esm ? /^import .* from 'zzlock';$/m : /= require\("zzlock"\);$/m);
    });

    it('answers 200 on the @Locked route, and 423 while another process holds its lock', async () => {
      const free = await get('/invoice');
      const body = await free.text();
      assert.equal(free.status, 200, body);
      assert.deepEqual(JSON.parse(body), { sent: true });

      const held = await holder.acquire('invoice');
      try {
        const busy = await get('/invoice');
        assert.equal(busy.status, 423, await busy.text());
      } finally {
        await held.release();
      }
      assert.equal((await get('/invoice')).status, 200);
    });

    it('runs the @Cron job under @Locked, and skips it while another process holds the lock', async () => {
      const count = (pattern: RegExp, from = 0) =>
        app.lines.slice(from).filter((line) => pattern.test(line)).length;
      await waitFor('the cron job to run', () => count(APP_LINES.run) > 0, 15_000);

      const held = await holder.acquire('report');
      const heldFrom = app.lines.length;
      try {
        await waitFor('a tick skipped', () => count(APP_LINES.skip, heldFrom) > 0, 15_000);
      } finally {
        await held.release();
      }
      const releasedFrom = app.lines.length;
      await waitFor('a run once released', () => count(APP_LINES.run, releasedFrom) > 0, 15_000);
    });

    it("reports etcd up on terminus's health endpoint", async () => {
      const health = await get('/health');
      const body = (await health.json()) as {
        status: string;
        info?: { etcd?: { status: string; reachable: number } };
      };
      assert.equal(health.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'ok');
      assert.equal(body.info?.etcd?.status, 'up');
      assert.equal(body.info?.etcd?.reachable, 1);
    });

    it('shuts down on SIGTERM, leaving no keys', async () => {
      const { code, signal } = await app.stop();
      assert.ok(code === 0 || signal === 'SIGTERM', `exited ${code ?? signal}: ${app.stderr()}`);
      assert.deepEqual((await leftovers(store.etcd.endpoints, namespace)).keys, []);
      assert.equal(app.stderr(), '', 'the app logged errors or warnings');
    });
  });
}
