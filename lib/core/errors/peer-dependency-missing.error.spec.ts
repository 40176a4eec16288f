// Unit spec of PeerDependencyMissingError: its code and fields, and a message that names every
// missing peer, the install command and what to use instead. What `require('zzlock')` throws in a
// project without Nest is test/project/plain-node-install.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerDependencyMissingError } from './peer-dependency-missing.error.js';
import { ZZLockError } from './zzlock.error.js';

describe('PeerDependencyMissingError', () => {
  it('carries its code, the entry and the missing peers', () => {
    const error = new PeerDependencyMissingError('zzlock', ['@nestjs/core', 'rxjs'], 'Or not.');
    assert.ok(error instanceof ZZLockError);
    assert.equal(error.name, 'PeerDependencyMissingError');
    assert.equal(error.code, 'ZZLOCK_PEER_MISSING');
    assert.equal(error.entry, 'zzlock');
    assert.deepEqual(error.missing, ['@nestjs/core', 'rxjs']);
    assert.equal(
      error.message,
      "'zzlock' needs the peer dependencies @nestjs/core and rxjs, which are not installed: " +
        'npm install @nestjs/core rxjs. Or not.',
    );
  });

  it('lists one, two or more peers as a sentence does', () => {
    const message = (missing: string[]) => new PeerDependencyMissingError('x', missing).message;
    assert.equal(
      message(['a']),
      "'x' needs the peer dependency a, which is not installed: npm install a.",
    );
    assert.match(message(['a', 'b', 'c']), /dependencies a, b and c, which are not/);
  });
});
