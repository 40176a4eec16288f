// The package build (DESIGN §5, as nestjs/throttler does it): `npm run build` compiles lib/ alone
// with tsconfig.build.json (declarations, no source maps, no *.spec.ts) into the paths package.json's
// main, types and exports name, which `files` ships; every script that compiles cleans dist/ first,
// so a deleted test never runs again from a stale dist/. Reads the configs; starts no etcd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { repositoryRoot } from './repository-root.js';

interface PackageJson {
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  scripts: Record<string, string>;
}

const root = repositoryRoot(import.meta.url);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
const CLEAN = 'node scripts/clean-dist.mjs';

/** tsconfig.build.json as tsc reads it (its `extends` applied). */
function buildConfig(): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  assert.ok(parsed, 'tsconfig.build.json could not be read');
  assert.deepEqual(parsed.errors, []);
  return parsed;
}

describe('the package build', () => {
  it('npm run build and prepublishOnly compile with tsconfig.build.json, after cleaning dist/', () => {
    assert.equal(pkg.scripts['build'], `${CLEAN} && tsc -p tsconfig.build.json`);
    assert.equal(pkg.scripts['prepublishOnly'], 'npm run build');
  });

  it('every script that compiles cleans dist/ first', () => {
    const compiling = Object.entries(pkg.scripts).filter(([, script]) => /\btsc\b/.test(script));
    assert.ok(compiling.length >= 5, `only ${compiling.map(([name]) => name)} compile`);
    for (const [name, script] of compiling) {
      const steps = script.split('&&').map((step) => step.trim());
      const tsc = steps.findIndex((step) => /^(npx )?tsc\b/.test(step));
      assert.ok(steps.slice(0, tsc).includes(CLEAN), `script "${name}" compiles without ${CLEAN}`);
    }
  });

  it('compiles lib/ only, without specs, with declarations and without source maps', () => {
    const config = buildConfig();
    const sources = config.fileNames.map((file) => relative(root, file));
    assert.ok(sources.includes(join('lib', 'index.ts')));
    assert.deepEqual(
      sources.filter((file) => !file.startsWith(`lib${sep}`)),
      [],
      'outside lib/',
    );
    assert.deepEqual(
      sources.filter((file) => /\.(spec|test)\.ts$/.test(file)),
      [],
      'specs',
    );
    assert.equal(config.options.declaration, true);
    // As NestJS's own packages: no maps, which would name lib/*.ts, a source the package lacks.
    assert.equal(config.options.sourceMap, false);
    assert.equal(config.options.inlineSourceMap ?? false, false);
    assert.equal(config.options.declarationMap ?? false, false);
  });

  it("emits the files package.json's main, types and exports name, inside what `files` ships", () => {
    const config = buildConfig();
    const emitted = new Set(
      config.fileNames.flatMap((file) =>
        ts.getOutputFileNames(config, file, false).map((output) => relative(root, output)),
      ),
    );
    const named = [
      pkg.main,
      pkg.types,
      ...Object.entries(pkg.exports)
        .filter(([subpath]) => subpath !== './package.json')
        .flatMap(([, target]) => (typeof target === 'string' ? [target] : Object.values(target))),
    ].map((path) => join(path));
    assert.ok(named.length >= 6, `package.json names ${named}`);
    for (const path of named) {
      assert.ok(emitted.has(path), `package.json names ${path}, which the build does not emit`);
      assert.ok(
        pkg.files.some(
          (shipped) => !shipped.startsWith('!') && path.startsWith(join(shipped) + sep),
        ),
        `${path} is not in package.json files`,
      );
    }
  });

  it('scripts/clean-dist.mjs removes dist/ with whatever is in it, and runs with no dist/', () => {
    const fake = mkdtempSync(join(tmpdir(), 'zzlock-clean-'));
    try {
      mkdirSync(join(fake, 'scripts'));
      copyFileSync(
        join(root, 'scripts', 'clean-dist.mjs'),
        join(fake, 'scripts', 'clean-dist.mjs'),
      );
      mkdirSync(join(fake, 'dist', 'test', 'core'), { recursive: true });
      writeFileSync(join(fake, 'dist', 'test', 'core', 'deleted.test.js'), 'throw new Error();');
      writeFileSync(join(fake, 'keep.txt'), 'not dist');
      const clean = () => execFileSync(process.execPath, [join(fake, 'scripts', 'clean-dist.mjs')]);
      clean();
      assert.equal(existsSync(join(fake, 'dist')), false, 'a stale dist/ survived');
      assert.equal(existsSync(join(fake, 'keep.txt')), true, 'clean-dist removed more than dist/');
      clean(); // nothing to remove: still fine
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
