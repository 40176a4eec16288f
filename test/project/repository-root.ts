import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest folder above `from` (a module's `import.meta.url`) with
 * zzlock's package.json. The project checks read the sources from there, wherever dist/ is.
 * @example
 * const root = repositoryRoot(import.meta.url);
 */
export function repositoryRoot(from: string): string {
  let dir = dirname(fileURLToPath(from));
  while (
    !existsSync(join(dir, 'package.json')) ||
    !readFileSync(join(dir, 'package.json'), 'utf8').includes('"name": "zzlock"')
  ) {
    const parent = dirname(dir);
    assert.notEqual(parent, dir, 'no zzlock package.json above this file');
    dir = parent;
  }
  return dir;
}
