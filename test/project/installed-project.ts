import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { npmEnv, run } from './packed-tarball.js';

/** What a finished `node` run printed, and how it ended. */
export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A user's project in a temporary folder, with its dependencies installed from npm. */
export interface InstalledProject {
  readonly dir: string;
  /** Runs `node ...args` in the project to its end (asynchronously: the test's clients go on). */
  node(args: string[], env?: Record<string, string>): Promise<NodeRun>;
  /** Writes a file of the project (`path` relative to it). */
  write(path: string, text: string): void;
  /** Removes the folder. */
  remove(): void;
}

/**
 * Writes `files` (`package.json` among them) into a new temporary folder and runs `npm install`
 * there, from npm's cache where it can (`--prefer-offline`: a package already fetched, by this
 * repository's `npm ci` or an earlier run, is not fetched again).
 * @example
 * const app = installProject('plain', { 'package.json': '{"type":"module"}' }, [tarball]);
 */
export function installProject(
  name: string,
  files: Record<string, string>,
  installArgs: string[] = [],
): InstalledProject {
  const dir = mkdtempSync(join(tmpdir(), `zzlock-${name}-`));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  try {
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...installArgs], dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    write,
    node: (args, env = {}) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          args,
          { cwd: dir, env: npmEnv(env), encoding: 'utf8' },
          (error, stdout, stderr) =>
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
              stdout,
              stderr,
            }),
        );
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
