import { after, before } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Etcd3 } from 'etcd3';
import { startEtcd, type EtcdCluster } from '../../support/local-etcd/index.js';

/** The single-member etcd of one test file, and a plain client to look into it. */
export interface EtcdForFile {
  /** The running member (only inside the file's tests and hooks). */
  readonly etcd: EtcdCluster;
  /** A plain etcd3 client on it, for reading what the tests left. */
  readonly inspector: Etcd3;
}

/** What a file does with its etcd around its tests. */
export interface EtcdForFileHooks {
  /** Once etcd runs, before the tests: open the file's clients, say. */
  setUp?: (etcd: EtcdCluster) => unknown;
  /** After the tests, before etcd stops: close them. */
  cleanUp?: () => unknown;
}

/**
 * Starts one etcd member before the file's tests and stops it after, with a plain inspecting
 * client; the file's own set-up runs once etcd is up and its clean-up before etcd goes.
 *
 * @example
 * let locks: LockClient;
 * const store = etcdForFile({
 *   setUp: (etcd) => (locks = new LockClient({ endpoints: etcd.endpoints })),
 *   cleanUp: () => locks?.close(),
 * });
 */
export function etcdForFile(hooks: EtcdForFileHooks = {}): EtcdForFile {
  let etcd: EtcdCluster | undefined;
  let inspector: Etcd3 | undefined;
  before(async () => {
    etcd = await startEtcd();
    inspector = new Etcd3({ hosts: etcd.endpoints });
    await hooks.setUp?.(etcd);
  });
  after(async () => {
    await hooks.cleanUp?.();
    inspector?.close();
    await etcd?.stop();
  });
  return {
    get etcd() {
      if (etcd === undefined) throw new Error('etcdForFile: etcd runs only during the tests');
      return etcd;
    },
    get inspector() {
      if (inspector === undefined) throw new Error('etcdForFile: etcd runs only during the tests');
      return inspector;
    },
  };
}

/** SIGKILLs every child still running and waits until each has exited. */
export async function killAll(children: Iterable<ChildProcess>): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
