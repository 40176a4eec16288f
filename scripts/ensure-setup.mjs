#!/usr/bin/env node
// Installs what a fresh machine lacks before the demo or the tests run:
// npm dependencies (npm ci) when node_modules is missing or stale, Debian's etcd-server when no
// `etcd` binary is on PATH, Debian's etcd-client when no `etcdctl` is (the interop test drives
// `etcdctl lock`), Debian's docker-compose when no compose CLI is (the docker-compose.yml test
// runs `docker-compose config`, offline, no Docker engine) and Debian's prometheus when no
// `promtool` is (the alert rules are checked and unit-tested with it); not with --no-etcd: the
// unit tier needs none of them. Plain Node, no dependencies: it runs before `npm ci`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  console.log(`[setup] ${command} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

function onPath(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** True when Docker's compose plugin answers (`docker compose`), which serves as well as v1. */
function hasComposePlugin() {
  return spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
}

// The binaries the etcd tier needs, and the Debian package of each (etcd 3.4.23 and compose 1.29.2
// on bookworm; docker-compose without recommends brings no Docker engine).
const etcdBinaries = [
  { binary: 'etcd', pkg: 'etcd-server' },
  { binary: 'etcdctl', pkg: 'etcd-client' },
  { binary: 'docker-compose', pkg: 'docker-compose', present: hasComposePlugin },
  // docs/prometheus/zzlock-rules.yml is checked by the real promtool (Debian ships it here).
  { binary: 'promtool', pkg: 'prometheus' },
];
const missing = process.argv.includes('--no-etcd')
  ? []
  : etcdBinaries.filter(({ binary, present }) => !onPath(binary) && !present?.());
if (missing.length > 0) {
  const names = missing.map(({ binary }) => binary).join(' and ');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!onPath('apt-get')) {
    console.error(
      `[setup] ${names} missing and apt-get is not available: install etcd 3.4+ (etcd and etcdctl) and docker-compose (or Docker's compose plugin), and put them on PATH.`,
    );
    process.exit(1);
  }
  const apt = (args) => (isRoot ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', '--no-install-recommends', ...missing.map(({ pkg }) => pkg)]);
  for (const { binary, pkg } of missing) {
    if (!onPath(binary)) {
      console.error(`[setup] ${pkg} was installed but \`${binary}\` is still not on PATH.`);
      process.exit(1);
    }
  }
}
