// The Nest layer reaches the lock store only through the LockBackend port: lease states and
// member health come from whatever backend the manager behind ZZLOCK_MANAGER sits on (here a
// stand-in with canned answers), and no Nest source file imports the etcd backend's internals or
// downcasts a backend. Pure module mechanics: no etcd.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import {
  LockManager,
  LockService,
  MemoryBackend,
  ZZLOCK_MANAGER,
  ZZLockHealthIndicator,
  ZZLockModule,
  type AcquireRequest,
  type EtcdMemberHealth,
  type LeaseState,
  type LockBackend,
  type Leader,
  type LockGrant,
  type StoreInspection,
} from '../../lib/index.js';

const lease: LeaseState = { ttl: 7, leaseId: 'abc', sinceKeepaliveMs: 12, lost: false };
const member: EtcdMemberHealth = {
  endpoint: 'canned://member',
  reachable: true,
  latencyMs: 1,
  memberId: 'aa',
  leaderId: 'aa',
  raftTerm: 3,
  dbSize: 4096,
  version: '3.6.0',
  errors: [],
};

/** A memory store that answers the port's capability calls with canned values. */
class CannedBackend implements LockBackend {
  readonly #memory = new MemoryBackend();
  readonly probed: number[] = [];

  acquire(request: AcquireRequest): Promise<LockGrant | null> {
    return this.#memory.acquire(request);
  }
  release(grant: LockGrant): Promise<void> {
    return this.#memory.release(grant);
  }
  close(): Promise<void> {
    return this.#memory.close();
  }
  proclaim(grant: LockGrant, value: string): Promise<void> {
    return this.#memory.proclaim(grant, value);
  }
  leader(name: string): Promise<Leader | null> {
    return this.#memory.leader(name);
  }
  observeLeader(name: string, signal: AbortSignal): AsyncIterable<Leader | null> {
    return this.#memory.observeLeader(name, signal);
  }
  inspect(): Promise<StoreInspection> {
    return this.#memory.inspect();
  }
  leaseStates(): LeaseState[] {
    return [lease];
  }
  async probeMembers(timeoutMs: number): Promise<EtcdMemberHealth[]> {
    this.probed.push(timeoutMs);
    return [member];
  }
}

/** Every TypeScript source under `dir`. */
async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sources(path);
      return Promise.resolve(entry.name.endsWith('.ts') ? [path] : []);
    }),
  );
  return nested.flat();
}

describe('the LockBackend port', () => {
  it('gives LockService and the health indicator what the backend reports, whatever it is', async () => {
    const backend = new CannedBackend();
    const moduleRef = await Test.createTestingModule({
      // An etcd store whose endpoint nobody listens on: every answer must come from the backend.
      imports: [ZZLockModule.forRoot({ endpoints: ['http://127.0.0.1:9'], metrics: false })],
    })
      .overrideProvider(ZZLOCK_MANAGER)
      .useValue(new LockManager(backend, { ttl: 7, waitMs: 1_000, shutdownGraceMs: 0 }))
      .compile();
    try {
      assert.deepEqual(moduleRef.get(LockService).leaseStates(), [lease]);
      const { locks } = await moduleRef
        .get(ZZLockHealthIndicator)
        .isHealthy('locks', { probeTimeoutMs: 250 });
      assert.deepEqual(locks, {
        status: 'up',
        store: 'etcd',
        reachable: 1,
        total: 1,
        leaderId: 'aa',
        members: [member],
        leases: [lease],
      });
      assert.deepEqual(backend.probed, [250], 'one probe, with the deadline asked for');
    } finally {
      await moduleRef.close();
    }
  });

  it('is the only way the Nest layer reaches a store: no etcd import, no downcast', async () => {
    // The sources, not dist/ (which may keep the output of a deleted file): dist/test/nest → lib/.
    const lib = fileURLToPath(new URL('../../../lib/', import.meta.url));
    const core = join(lib, 'core');
    const nestFiles = (await sources(lib)).filter((file) => !file.startsWith(core));
    assert.ok(nestFiles.length > 10, `found ${nestFiles.length} Nest source files`);
    for (const file of nestFiles) {
      const source = await readFile(file, 'utf8');
      const where = relative(lib, file);
      assert.doesNotMatch(source, /['"][./]*core\/etcd\//, `${where} imports core/etcd/`);
      assert.doesNotMatch(source, /instanceof EtcdBackend/, `${where} downcasts a backend`);
    }
  });
});
