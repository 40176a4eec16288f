// The sample app is used as a user would use zzlock (DESIGN §2): no file under sample-app/ imports
// from test/, and the library is reached through its public entry (lib/index.ts) only. Reads the
// TypeScript sources; starts no etcd.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { repositoryRoot } from './repository-root.js';

/** Every module specifier in `source`: static and dynamic imports, re-exports, require(). */
function specifiersOf(source: string): string[] {
  const pattern =
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\bimport\s+['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]/g;
  return [...source.matchAll(pattern)].map((match) => match.slice(1).find(Boolean) as string);
}

/** Every .ts file under `dir`. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourcesUnder(path);
    return /\.[cm]?tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** [file, specifier, path it resolves to] of every relative import of the files under `dir`. */
function relativeImports(root: string, dir: string): [string, string, string][] {
  return sourcesUnder(join(root, dir)).flatMap((file) =>
    specifiersOf(readFileSync(file, 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier): [string, string, string] => [
        relative(root, file),
        specifier,
        relative(root, resolve(dirname(file), specifier)),
      ]),
  );
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(folder + sep);

describe('sample-app imports', () => {
  const root = repositoryRoot(import.meta.url);
  const imports = relativeImports(root, 'sample-app');

  it('finds the imports it checks (the scan is not vacuous)', () => {
    assert.deepEqual(
      specifiersOf(
        "import { a,\n  b } from '../../test/support/index.js';\nexport * from './x.js';\n" +
          "import 'reflect-metadata';\nconst m = await import('../y.js');",
      ),
      ['../../test/support/index.js', './x.js', 'reflect-metadata', '../y.js'],
    );
    assert.ok(
      imports.length > 10,
      `only ${imports.length} relative imports found under sample-app/`,
    );
    assert.ok(
      imports.some(([, , target]) => inside(target, 'lib')),
      'no import of lib/ found',
    );
  });

  it('has no file that imports from test/', () => {
    const fromTest = imports.filter(([, , target]) => inside(target, 'test'));
    assert.deepEqual(fromTest, [], 'sample-app/ must not import test/ (move what it needs out)');
  });

  it('reaches the library through its public entry only (lib/index.js)', () => {
    const deep = imports.filter(
      ([, , target]) => inside(target, 'lib') && target !== join('lib', 'index.js'),
    );
    assert.deepEqual(deep, [], 'sample-app/ imports zzlock as a user would: lib/index.js only');
  });
});
