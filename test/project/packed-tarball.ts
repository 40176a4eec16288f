import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repositoryRoot } from './repository-root.js';

const root = repositoryRoot(import.meta.url);
/** What the copy leaves out: installs, builds, the git checkout, local scratch (see .gitignore). */
const LEFT_OUT = new Set(['node_modules', 'dist', '.git', '.etcd-data', '.scratch']);
const CACHE = join(root, 'node_modules', '.cache', 'zzlock-tarball');

const leftOut = (name: string): boolean => LEFT_OUT.has(name) || name.endsWith('.log');

/** Every file of the repository the copy takes, relative to the root, sorted. */
function sourceFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !leftOut(entry.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? sourceFiles(path) : [relative(root, path)];
    })
    .sort();
}

/**
 * The environment for npm run by a test: the caller's, without what `npm test` itself set for its
 * own package (`npm_package_*`, `npm_lifecycle_*`), which would leak into another project's run.
 */
export function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^npm_(package|lifecycle)_/i.test(key) && key !== 'INIT_CWD',
    ),
  );
  return { ...env, ...extra };
}

/** Runs a command to its end, its output kept for the error when it fails. */
export function run(command: string, args: string[], cwd: string, env = npmEnv()): string {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    );
  }
}

/**
 * The package as `npm publish` would make it: the repository copied to a temporary folder (no
 * node_modules, dist/ or .git; node_modules linked), `npm run build` there, then `npm pack`. The
 * tarball is kept under node_modules/.cache/zzlock-tarball/, keyed by a hash of every copied file,
 * so the test files of one run, and later runs on the same sources, build and pack once.
 * @returns the path of the `.tgz`.
 * @example
 * const tarball = packedTarball(); // …/zzlock-0.1.0.tgz
 */
export function packedTarball(): string {
  const files = sourceFiles();
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(root, file)));
  const key = hash.digest('hex').slice(0, 16);
  const cached = join(CACHE, key);
  const tarballIn = (dir: string) => readdirSync(dir).find((name) => name.endsWith('.tgz'));
  if (existsSync(cached)) {
    const name = tarballIn(cached);
    if (name !== undefined) return join(cached, name);
  }

  const stage = mkdtempSync(join(tmpdir(), 'zzlock-stage-'));
  try {
    cpSync(root, stage, {
      recursive: true,
      filter: (source) => source === root || !leftOut(relative(root, source).split('/').at(-1)!),
    });
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    run('npm', ['run', 'build'], stage);
    const packed = join(stage, 'packed');
    mkdirSync(packed);
    run('npm', ['pack', '--pack-destination', packed], stage);
    // Older keys are sources that changed since: keep the cache to one tarball.
    rmSync(CACHE, { recursive: true, force: true });
    mkdirSync(CACHE, { recursive: true });
    cpSync(packed, cached, { recursive: true });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return join(cached, tarballIn(cached)!);
}

/**
 * The tarball's contents, unpacked into a new temporary folder (remove it when done).
 * @returns the unpacked `package/` folder.
 */
export function unpackTarball(tarball: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'zzlock-unpacked-'));
  run('tar', ['-xzf', tarball, '-C', dir], dir);
  return join(dir, 'package');
}
