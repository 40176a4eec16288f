// What the published package holds (`npm pack` of a fresh build): a LICENSE, where it comes from
// (repository, homepage, bugs), no tests or specs, no source map naming a file it lacks, README
// links that lead somewhere from the unpacked package, the entries package.json names, and only
// optional peers (plain Node installs no Nest). Builds and packs; starts no etcd.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packedTarball, unpackTarball } from './packed-tarball.js';

interface PackageJson {
  license: string;
  homepage?: string;
  repository?: { type: string; url: string };
  bugs?: { url: string };
  engines: { node: string };
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

/** Every file under `dir`, relative to it, with `/` separators. */
function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory()
      ? filesUnder(path, base)
      : [relative(base, path).split(sep).join('/')];
  });
}

/** The targets of the Markdown links and images in `markdown` that are not URLs or anchors. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(target))
    .map((target) => decodeURIComponent(target.replace(/[#?].*$/, '')));
}

describe('the packed package', () => {
  let unpacked: string;
  let files: string[];
  let pkg: PackageJson;
  const ships = (path: string) => files.includes(path.split(sep).join('/'));

  before(() => {
    unpacked = unpackTarball(packedTarball());
    files = filesUnder(unpacked);
    pkg = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as PackageJson;
  });
  after(() => rmSync(dirname(unpacked), { recursive: true, force: true }));

  it('ships an MIT LICENSE and says where the project lives', () => {
    assert.ok(ships('LICENSE'), `no LICENSE in ${files.length} files`);
    assert.match(
      readFileSync(join(unpacked, 'LICENSE'), 'utf8'),
      /^MIT License\n\nCopyright \(c\)/,
    );
    assert.equal(pkg.license, 'MIT');
    assert.equal(pkg.repository?.type, 'git');
    const repository = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+)\.git$/.exec(
      pkg.repository?.url ?? '',
    )?.[1];
    assert.ok(repository, `repository.url ${pkg.repository?.url} is not a GitHub git URL`);
    assert.equal(pkg.homepage, `${repository}#readme`);
    assert.equal(pkg.bugs?.url, `${repository}/issues`);
  });

  it('ships no tests, specs or TypeScript sources', () => {
    const unwanted = files.filter(
      (file) =>
        /^(test|sample-app|support|lib)\//.test(file) ||
        /\.(spec|test)\.[cm]?[jt]s$/.test(file) ||
        (/\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file)),
    );
    assert.deepEqual(unwanted, []);
    assert.ok(ships('dist/lib/index.js') && ships('dist/lib/core/index.d.ts'), 'no build shipped');
  });

  it('ships every map its code names and every source a map names (the build makes none)', () => {
    const code = files.filter((file) => /\.(c|m)?js$|\.d\.[cm]?ts$/.test(file));
    assert.ok(code.length > 50, `only ${code.length} code files`);
    for (const file of code) {
      const text = readFileSync(join(unpacked, file), 'utf8');
      for (const [, url] of text.matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
        assert.ok(
          url!.startsWith('data:') || ships(join(dirname(file), url!)),
          `${file} names the map ${url}, which is not shipped`,
        );
      }
    }
    for (const map of files.filter((file) => file.endsWith('.map'))) {
      const { sources, sourceRoot = '' } = JSON.parse(
        readFileSync(join(unpacked, map), 'utf8'),
      ) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        const path = relative(unpacked, resolve(unpacked, dirname(map), sourceRoot, source));
        assert.ok(!path.startsWith('..') && ships(path), `${map} names ${source}, not shipped`);
      }
    }
  });

  it('has README links that lead to files the package ships', () => {
    assert.ok(ships('README.md'));
    const links = relativeLinks(readFileSync(join(unpacked, 'README.md'), 'utf8'));
    assert.ok(links.length > 0, 'the README has no relative link: is the scan broken?');
    const broken = links.filter((link) => !ships(join(link)));
    assert.deepEqual(broken, [], 'README links to files the package does not ship');
  });

  it('ships the files main, types and every exports condition name', () => {
    const targets = [
      pkg.main,
      pkg.types,
      ...Object.values(pkg.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
    ];
    for (const target of targets) {
      assert.ok(existsSync(join(unpacked, target)), `package.json names ${target}, not shipped`);
    }
    const root = pkg.exports['.'] as Record<string, string>;
    assert.deepEqual(Object.keys(root), ['types', 'require', 'default']);
  });

  it('marks every peer optional: installing zzlock for zzlock/core pulls in no Nest', () => {
    const peers = Object.keys(pkg.peerDependencies);
    assert.ok(peers.includes('@nestjs/common') && peers.includes('rxjs'), `peers: ${peers}`);
    for (const peer of peers) {
      assert.equal(pkg.peerDependenciesMeta[peer]?.optional, true, `${peer} is not optional`);
    }
    assert.equal(pkg.peerDependencies['@nestjs/common'], '^11.0.0 || ^12.0.0');
    assert.equal(pkg.peerDependencies['@nestjs/core'], '^11.0.0 || ^12.0.0');
  });

  it('names the first Node versions where CommonJS apps can require() it (require(esm) unflagged)', () => {
    assert.equal(pkg.engines.node, '^20.19.0 || ^22.12.0 || >=23.0.0');
    assert.equal(process.features.require_module, true, 'this Node cannot require(esm)');
  });
});
