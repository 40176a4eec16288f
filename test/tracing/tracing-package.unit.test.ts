// How the package ships tracing: `@opentelemetry/api` an optional peer dependency (no SDK among
// the dependencies: the SDK is the application's), and the tracer named after the package and
// its version. Reads package.json; starts no etcd.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ZZLOCK_TRACING } from '../../lib/core/index.js';
import { repositoryRoot } from '../project/repository-root.js';

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(
  readFileSync(join(repositoryRoot(import.meta.url), 'package.json'), 'utf8'),
) as PackageJson;

describe('the tracing of the package', () => {
  it('names its tracer after the package and its version', () => {
    assert.deepEqual(ZZLOCK_TRACING.scope, { name: pkg.name, version: pkg.version });
  });

  it('has @opentelemetry/api as an optional peer, and no OpenTelemetry dependency', () => {
    assert.match(pkg.peerDependencies?.['@opentelemetry/api'] ?? '', /^\^1\.\d+\.\d+$/);
    assert.equal(pkg.peerDependenciesMeta?.['@opentelemetry/api']?.optional, true);
    const shipped = Object.keys(pkg.dependencies ?? {});
    assert.deepEqual(
      shipped.filter((name) => name.startsWith('@opentelemetry/')),
      [],
    );
    for (const testedWith of [
      '@opentelemetry/sdk-trace-base',
      '@opentelemetry/context-async-hooks',
    ]) {
      assert.ok(pkg.devDependencies?.[testedWith], `${testedWith} is a devDependency`);
    }
  });
});
