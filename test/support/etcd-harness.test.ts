import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { Etcd3 } from 'etcd3';

import {
  isMemberHealthy,
  startEtcd,
  startEtcdCluster,
  startTcpProxy,
  type EtcdCluster,
  type EtcdMember,
} from './index.js';

/** Deadline for a call expected to fail: long enough to show it hangs, short enough for CI. */
const FAILING_CALL_MS = 500;
const CALL_MS = 5_000;

const openClients = new Set<Etcd3>();

/** An etcd3 client with a deadline on every unary call (etcd3 ignores dialTimeout). */
function connect(hosts: string[]): Etcd3 {
  const client = new Etcd3({
    hosts,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_MS }),
    // Reconnect quickly after a cut, so "restore" is observed without waiting out grpc's backoff.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 },
  });
  openClients.add(client);
  return client;
}

function failingCallDeadline(): { deadline: number } {
  return { deadline: Date.now() + FAILING_CALL_MS };
}

after(() => {
  for (const client of openClients) {
    client.close();
  }
});

/** Retries `check` until it passes or `timeoutMs` elapses, then rethrows its last failure. */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadlineAt = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() >= deadlineAt) {
        throw error;
      }
      await delay(50);
    }
  }
}

/** True while the process exists and is not a zombie. */
function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

function assertGone(members: readonly { pid: number; dataDir: string }[]): void {
  for (const { pid, dataDir } of members) {
    assert.equal(isProcessAlive(pid), false, `etcd pid ${pid} is still alive`);
    assert.equal(existsSync(dataDir), false, `data dir ${dataDir} still exists`);
  }
}

function snapshot(members: readonly EtcdMember[]): { pid: number; dataDir: string }[] {
  return members.map(({ pid, dataDir }) => {
    assert.ok(pid !== undefined);
    return { pid, dataDir };
  });
}

describe('startEtcd (one member)', () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd.stop());

  it('serves a KV put/get through the etcd3 client', async () => {
    assert.equal(etcd.members.length, 1);
    assert.match(etcd.endpoints[0] ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = connect(etcd.endpoints);
    await client.put('harness/single').value('v1');
    assert.equal(await client.get('harness/single').string(), 'v1');
  });

  it('a cut proxy fails calls and restore makes them work again', async () => {
    const proxy = await startTcpProxy(etcd.endpoints[0] ?? '');
    try {
      const client = connect([proxy.endpoint]);
      await client.put('harness/proxy').value('through-proxy');

      proxy.cut();
      assert.equal(proxy.mode, 'cut');
      await assert.rejects(client.get('harness/proxy').options(failingCallDeadline()).string());

      proxy.restore();
      // A fresh client: the failed call's 3 retries opened etcd3's per-host circuit breaker, which
      // keeps the old client off this host for 5 s whatever the proxy does.
      const afterRestore = connect([proxy.endpoint]);
      assert.equal(await afterRestore.get('harness/proxy').string(), 'through-proxy');
    } finally {
      await proxy.close();
    }
  });

  it('a stalled proxy hangs calls and restore delivers them', async () => {
    const proxy = await startTcpProxy(etcd.endpoints[0] ?? '');
    try {
      const client = connect([proxy.endpoint]);
      await client.put('harness/stall').value('before');

      proxy.stall();
      await assert.rejects(
        client.get('harness/stall').options(failingCallDeadline()).string(),
        (error: Error) => /deadline/i.test(`${error.name} ${error.message}`),
      );
      // Bytes sent while stalled wait in the proxy and arrive on restore.
      const pendingPut = connect([proxy.endpoint]).put('harness/stall').value('during');
      proxy.restore();
      await pendingPut;
      assert.equal(await connect(etcd.endpoints).get('harness/stall').string(), 'during');
    } finally {
      await proxy.close();
    }
  });

  it('stop() ends the process, removes the data dir and is idempotent', async () => {
    const before = snapshot(etcd.members);
    await etcd.stop();
    await etcd.stop();
    assertGone(before);
    assert.equal(etcd.members[0]?.running, false);
    assert.equal(etcd.members[0]?.pid, undefined);
  });
});

describe('startEtcdCluster (three members)', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster({ members: 3 });
  });
  after(() => cluster.stop());

  it('has three distinct members and one leader', async () => {
    assert.equal(cluster.members.length, 3);
    assert.equal(new Set(cluster.endpoints).size, 3);
    const leader = await cluster.leader();
    assert.ok(cluster.members.includes(leader));
  });

  it('survives killing the leader, and the restarted member serves again', async () => {
    const oldLeader = await cluster.leader();
    const oldPid = oldLeader.pid;
    await cluster.kill(oldLeader);
    assert.equal(oldLeader.running, false);
    assert.equal(oldLeader.pid, undefined);
    assert.equal(existsSync(oldLeader.dataDir), true, 'kill keeps the data dir');

    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, oldLeader);
    const survivors = cluster.members.filter((member) => member !== oldLeader);
    await connect(survivors.map((member) => member.clientUrl))
      .put('harness/after-kill')
      .value('written');

    await cluster.restart(oldLeader);
    assert.equal(oldLeader.running, true);
    assert.notEqual(oldLeader.pid, oldPid);
    const throughRestarted = connect([oldLeader.clientUrl]);
    assert.equal(await throughRestarted.get('harness/after-kill').string(), 'written');
    await throughRestarted.put('harness/after-restart').value('ok');
  });

  it('freeze makes a call through that member time out, and thaw restores it', async () => {
    const leader = await cluster.leader();
    const follower = cluster.members.find((member) => member !== leader);
    assert.ok(follower !== undefined);
    const client = connect([follower.clientUrl]);
    await client.put('harness/freeze').value('before');

    await cluster.freeze(follower);
    assert.equal(follower.frozen, true);
    await assert.rejects(
      client.get('harness/freeze').options(failingCallDeadline()).string(),
      (error: Error) => /deadline/i.test(`${error.name} ${error.message}`),
    );

    await cluster.thaw(follower);
    assert.equal(follower.frozen, false);
    assert.equal(await isMemberHealthy(follower.clientUrl), true);
    // A fresh client: etcd3's circuit breaker keeps the old one off this host for 5 s.
    assert.equal(await connect([follower.clientUrl]).get('harness/freeze').string(), 'before');
  });

  it('stop() ends every member, frozen ones included, and removes the data dirs', async () => {
    await cluster.freeze(cluster.members[0] as EtcdMember);
    const before = snapshot(cluster.members);
    await cluster.stop();
    assertGone(before);
    await assert.rejects(cluster.restart(cluster.members[0] as EtcdMember), /stopped/);
  });
});

describe('cleanup when the test process dies without stop()', () => {
  const harnessUrl = new URL('./index.js', import.meta.url).href;
  /** Starts etcd, prints its pid and data dir, and never calls stop(). */
  const orphanScript = (keepAlive: boolean): string => `
    import { startEtcd } from ${JSON.stringify(harnessUrl)};
    const etcd = await startEtcd();
    const [member] = etcd.members;
    console.log(JSON.stringify({ pid: member.pid, dataDir: member.dataDir }));
    ${keepAlive ? 'setInterval(() => {}, 60_000);' : ''}
  `;

  const endings = [
    { title: 'ends on its own', signal: undefined },
    { title: 'gets SIGTERM', signal: 'SIGTERM' },
    { title: 'gets SIGKILL', signal: 'SIGKILL' },
  ] as const;

  for (const { title, signal } of endings) {
    it(`kills etcd and removes its data dir when the process ${title}`, async () => {
      const script = orphanScript(signal !== undefined);
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      let output = '';
      child.stdout.setEncoding('utf8');
      const started = await new Promise<{ pid: number; dataDir: string }>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('\n')) {
            resolve(JSON.parse(output) as { pid: number; dataDir: string });
          }
        });
        child.once('close', (code) => reject(new Error(`child exited early (${code}): ${output}`)));
      });

      if (signal !== undefined) {
        assert.equal(isProcessAlive(started.pid), true);
        child.kill(signal);
      }
      await exited;
      await eventually(async () => assertGone([started]));
    });
  }
});
