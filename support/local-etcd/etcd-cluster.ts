import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { fetchMemberStatus, isMemberHealthy, type EtcdMemberStatus } from './etcd-http.js';
import { getFreePorts, LOOPBACK_HOST } from './free-port.js';

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_LEADER_TIMEOUT_MS = 10_000;
/**
 * How long `stop()` lets a member shut down after SIGTERM before it sends SIGKILL. Short on
 * purpose: the data is thrown away, and a leader whose followers are stopping with it spends ~7 s
 * trying to hand over leadership.
 */
const STOP_GRACE_MS = 300;
/** How long a SIGKILLed member may take to be reaped before we call it a harness bug. */
const EXIT_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const POLL_INTERVAL_MS = 50;
const STDERR_TAIL_CHARS = 4_000;
/** Attempts at starting a cluster when a port we picked was taken before etcd could bind it. */
const START_ATTEMPTS = 3;

/**
 * One etcd process of a harness cluster. The object stays the same across `kill` and `restart`
 * (same name, ports and data dir); `pid`, `running` and `frozen` follow the current process.
 */
export interface EtcdMember {
  /** etcd `--name`, e.g. `'etcd-0'`. */
  readonly name: string;
  /** Client URL to give an etcd client, e.g. `'http://127.0.0.1:40123'`. */
  readonly clientUrl: string;
  /** Peer (Raft) URL. */
  readonly peerUrl: string;
  /** The member's throwaway `--data-dir`, removed by `stop()`. */
  readonly dataDir: string;
  /** Process id while the member runs, `undefined` after `kill` or `stop`. */
  readonly pid: number | undefined;
  /** Whether the process is alive (a frozen member is alive). */
  readonly running: boolean;
  /** Whether the process is stopped by SIGSTOP (`freeze`) and not yet resumed (`thaw`). */
  readonly frozen: boolean;
}

/** How to start a harness cluster. */
export interface EtcdClusterOptions {
  /**
   * Number of members.
   * @default 3 for `startEtcdCluster`, always 1 for `startEtcd`
   */
  members?: number;
  /**
   * Bound for every member to become healthy, at start and at `restart`.
   * @default 20_000
   */
  readyTimeoutMs?: number;
  /**
   * Extra flags for every member, after the harness's own; etcd keeps the last value of a repeated
   * flag, so this can override them.
   * @example ['--heartbeat-interval', '50', '--election-timeout', '500']
   * @default []
   */
  extraArgs?: readonly string[];
  /**
   * The etcd executable.
   * @default process.env.ETCD_BIN ?? 'etcd'
   */
  etcdBinary?: string;
  /**
   * Serves the client port over TLS: client URLs become `https://…` (peers stay `http://`). The
   * harness then asks each member for `/health` on a plain-HTTP `--listen-metrics-urls` port,
   * since it holds no client certificate; `leader()` reads the JSON gateway on the client port and
   * throws on such a cluster.
   * @example
   * const etcd = await startEtcd({ tls: { certFile: 'server.pem', keyFile: 'server-key.pem' } });
   * new Etcd3({ hosts: etcd.endpoints, credentials: { rootCertificate: readFileSync('ca.pem') } });
   * @default undefined (plain HTTP)
   */
  tls?: EtcdServerTlsOptions;
  /**
   * Keeps every member's log at info level in `<logDir>/<member name>.log` (appended to across
   * restarts), to see what Raft did during a fault run. The harness does not remove it.
   * @default undefined (errors only, the last few KiB kept for failure messages)
   */
  logDir?: string;
}

/** TLS of a harness member's client port: PEM file paths, passed to etcd as they are. */
export interface EtcdServerTlsOptions {
  /** Server certificate (`--cert-file`); its subjectAltName must cover `IP:127.0.0.1`. */
  certFile: string;
  /** Private key of `certFile` (`--key-file`). */
  keyFile: string;
  /**
   * CA that clients' certificates must chain to (`--trusted-ca-file`). etcd 3.4 then requires a
   * client certificate from every client, whatever `clientCertAuth` says, so leave it out to
   * serve TLS with the server certificate only.
   * @default undefined (no client certificates asked)
   */
  caFile?: string;
  /**
   * Requires every client to present a certificate signed by `caFile` (`--client-cert-auth`);
   * needs `caFile`.
   * @default false
   */
  clientCertAuth?: boolean;
}

/**
 * A running etcd cluster on loopback, with fault controls for tests. Stop it with `stop()` (or
 * `await using`); if a test forgets, the process 'exit' and signal handlers still kill it.
 */
export interface EtcdCluster extends AsyncDisposable {
  /** Every member's client URL, in member order; pass as the etcd3 `hosts`. */
  readonly endpoints: string[];
  /** The members, in the order of `endpoints`. */
  readonly members: readonly EtcdMember[];
  /**
   * Suspends a member with SIGSTOP and waits until the kernel reports it stopped. Its sockets stay
   * open but nothing answers: calls through it hang until their deadline, as with a stuck host.
   */
  freeze(member: EtcdMember): Promise<void>;
  /** Resumes a frozen member with SIGCONT. */
  thaw(member: EtcdMember): Promise<void>;
  /** SIGKILLs a member (frozen or not) and waits until it has exited; no-op if not running. */
  kill(member: EtcdMember): Promise<void>;
  /**
   * Starts a member again with the same data dir and ports (killing it first if it runs) and waits
   * until it is healthy, which in etcd 3.4 needs a quorum: to bring back two killed members of
   * three, restart both at once (`Promise.all`).
   */
  restart(member: EtcdMember): Promise<void>;
  /**
   * The current leader, as reported by the running, unfrozen members (the newest Raft term wins,
   * and the leader must confirm it). Waits until there is one, up to `timeoutMs`. Throws on a
   * cluster started with `tls`, whose JSON gateway the harness cannot read.
   * @default timeoutMs 10_000
   */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /**
   * Stops every member (SIGCONT if frozen, SIGTERM, SIGKILL after a short grace), waits for them
   * to exit and removes their data dirs. Idempotent: later calls return the same promise. The
   * fault controls throw once `stop()` was called.
   */
  stop(): Promise<void>;
}

/**
 * Starts a single etcd member on free loopback ports with a throwaway data dir and waits until it
 * is healthy.
 *
 * @example
 * let etcd: EtcdCluster;
 * before(async () => (etcd = await startEtcd()));
 * after(() => etcd.stop());
 * it('works', async () => {
 *   const client = new Etcd3({ hosts: etcd.endpoints });
 *   // ...
 * });
 */
export function startEtcd(options: Omit<EtcdClusterOptions, 'members'> = {}): Promise<EtcdCluster> {
  return startEtcdCluster({ ...options, members: 1 });
}

/**
 * Starts an etcd cluster (3 members unless told otherwise) on free loopback ports, each with a
 * throwaway data dir, and waits until every member is healthy. Retries with new ports if one was
 * taken before etcd could bind it.
 *
 * @example
 * const cluster = await startEtcdCluster({ members: 3 });
 * const leader = await cluster.leader();
 * await cluster.kill(leader);
 * await cluster.leader(); // a new one
 * await cluster.restart(leader);
 * await cluster.stop();
 */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const memberCount = options.members ?? 3;
  if (!Number.isInteger(memberCount) || memberCount < 1) {
    throw new RangeError(`members must be a positive integer, got ${memberCount}`);
  }
  for (let attempt = 1; ; attempt += 1) {
    const cluster = await launchCluster(memberCount, options);
    try {
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      if (attempt >= START_ATTEMPTS || !isPortTakenError(error)) {
        throw error;
      }
    }
  }
}

async function launchCluster(
  memberCount: number,
  options: EtcdClusterOptions,
): Promise<HarnessCluster> {
  const { tls } = options;
  // Client and peer port, and a plain-HTTP health port when the client port speaks TLS.
  const portsPerMember = tls === undefined ? 2 : 3;
  const ports = await getFreePorts(memberCount * portsPerMember);
  const clusterToken = `zzlock-${process.pid}-${randomUUID()}`;
  const clientScheme = tls === undefined ? 'http' : 'https';
  const plans = Array.from({ length: memberCount }, (_, index) => {
    const [clientPort, peerPort, metricsPort] = ports.slice(
      index * portsPerMember,
      (index + 1) * portsPerMember,
    );
    return {
      name: `etcd-${index}`,
      clientUrl: `${clientScheme}://${LOOPBACK_HOST}:${clientPort}`,
      peerUrl: `http://${LOOPBACK_HOST}:${peerPort}`,
      metricsUrl: metricsPort === undefined ? undefined : `http://${LOOPBACK_HOST}:${metricsPort}`,
    };
  });
  const initialCluster = plans.map((plan) => `${plan.name}=${plan.peerUrl}`).join(',');
  const members: HarnessMember[] = [];
  for (const plan of plans) {
    const dataDir = await mkdtemp(join(tmpdir(), `zzlock-${plan.name}-`));
    const args = [
      ...['--name', plan.name, '--data-dir', dataDir],
      ...['--listen-client-urls', plan.clientUrl, '--advertise-client-urls', plan.clientUrl],
      ...['--listen-peer-urls', plan.peerUrl, '--initial-advertise-peer-urls', plan.peerUrl],
      ...['--initial-cluster', initialCluster, '--initial-cluster-state', 'new'],
      ...['--initial-cluster-token', clusterToken],
      ...['--logger', 'zap'],
      ...(options.logDir === undefined
        ? ['--log-level', 'error', '--log-outputs', 'stderr']
        : [
            '--log-level',
            'info',
            '--log-outputs',
            `stderr,${join(options.logDir, `${plan.name}.log`)}`,
          ]),
      ...(tls === undefined ? [] : clientTlsArgs(tls, plan.metricsUrl)),
      ...(options.extraArgs ?? []),
    ];
    const binary = options.etcdBinary ?? process.env['ETCD_BIN'] ?? 'etcd';
    members.push(
      new HarnessMember(
        plan.name,
        plan.clientUrl,
        plan.peerUrl,
        dataDir,
        binary,
        args,
        plan.metricsUrl ?? plan.clientUrl,
      ),
    );
  }
  const cluster = new HarnessCluster(members, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  registerForCleanup(cluster);
  for (const member of members) {
    member.start();
  }
  return cluster;
}

/** etcd flags that put the client port behind TLS and open a plain-HTTP `/health` port. */
function clientTlsArgs(tls: EtcdServerTlsOptions, metricsUrl: string | undefined): string[] {
  if (metricsUrl === undefined) {
    throw new Error('A TLS member needs a plain-HTTP metrics URL for its health probe.');
  }
  if (tls.clientCertAuth === true && tls.caFile === undefined) {
    throw new Error('tls.clientCertAuth needs tls.caFile, the CA of the client certificates.');
  }
  return [
    ...['--cert-file', tls.certFile, '--key-file', tls.keyFile],
    ...(tls.caFile === undefined ? [] : ['--trusted-ca-file', tls.caFile]),
    ...(tls.clientCertAuth === true ? ['--client-cert-auth'] : []),
    ...['--listen-metrics-urls', metricsUrl],
  ];
}

function isPortTakenError(error: unknown): boolean {
  return error instanceof Error && error.message.includes('address already in use');
}

class HarnessCluster implements EtcdCluster {
  readonly endpoints: string[];
  private stopping: Promise<void> | undefined;

  constructor(
    readonly members: readonly HarnessMember[],
    private readonly readyTimeoutMs: number,
  ) {
    this.endpoints = members.map((member) => member.clientUrl);
  }

  async waitUntilHealthy(): Promise<void> {
    const deadlineAt = Date.now() + this.readyTimeoutMs;
    await Promise.all(this.members.map((member) => member.waitUntilHealthy(deadlineAt)));
  }

  async freeze(member: EtcdMember): Promise<void> {
    await this.own(member).freeze();
  }

  async thaw(member: EtcdMember): Promise<void> {
    this.own(member).thaw();
  }

  async kill(member: EtcdMember): Promise<void> {
    await this.own(member).kill();
  }

  async restart(member: EtcdMember): Promise<void> {
    const own = this.own(member);
    await own.kill();
    own.start();
    await own.waitUntilHealthy(Date.now() + this.readyTimeoutMs);
  }

  async leader(timeoutMs = DEFAULT_LEADER_TIMEOUT_MS): Promise<EtcdMember> {
    if (this.endpoints.some((endpoint) => endpoint.startsWith('https:'))) {
      throw new Error('leader() reads the JSON gateway over plain HTTP: not on a TLS cluster.');
    }
    const deadlineAt = Date.now() + timeoutMs;
    for (;;) {
      const reachable = this.members.filter((member) => member.running && !member.frozen);
      const answers = await Promise.all(reachable.map(readStatus));
      const statuses = answers.filter((answer) => answer !== undefined);
      const newestTerm = statuses.reduce(
        (max, { status }) => (status.raftTerm > max ? status.raftTerm : max),
        0n,
      );
      const leaderIds = statuses
        .filter(({ status }) => status.raftTerm === newestTerm && status.leaderId !== '0')
        .map(({ status }) => status.leaderId);
      const leader = statuses.find(
        ({ status }) => leaderIds.includes(status.memberId) && status.leaderId === status.memberId,
      );
      if (leader !== undefined) {
        return leader.member;
      }
      if (Date.now() >= deadlineAt) {
        const seen = statuses.map(({ member, status }) => `${member.name}→${status.leaderId}`);
        throw new Error(
          `No etcd leader within ${timeoutMs} ms ` +
            `(member→leader id seen: ${seen.join(', ') || 'none answered'}).`,
        );
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopMembers();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Synchronous last-resort cleanup for process 'exit' and signals; returns the exits. */
  killNow(): Promise<void>[] {
    return this.members.map((member) => {
      const exited = member.killNow();
      rmSync(member.dataDir, { recursive: true, force: true, maxRetries: 3 });
      return exited;
    });
  }

  private async stopMembers(): Promise<void> {
    try {
      await Promise.all(this.members.map((member) => member.terminate()));
    } finally {
      await Promise.all(
        this.members.map((member) =>
          rm(member.dataDir, { recursive: true, force: true, maxRetries: 3 }),
        ),
      );
      liveClusters.delete(this);
    }
  }

  private own(member: EtcdMember): HarnessMember {
    const own = this.members.find((candidate) => candidate === member);
    if (own === undefined) {
      throw new Error(`etcd member ${member.name} does not belong to this cluster.`);
    }
    if (this.stopping !== undefined) {
      throw new Error(`This etcd cluster was stopped; start a new one.`);
    }
    return own;
  }
}

async function readStatus(
  member: HarnessMember,
): Promise<{ member: HarnessMember; status: EtcdMemberStatus } | undefined> {
  try {
    return { member, status: await fetchMemberStatus(member.clientUrl, PROBE_TIMEOUT_MS) };
  } catch {
    return undefined;
  }
}

class HarnessMember implements EtcdMember {
  private process: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private exitDescription = 'was never started';
  private stderrTail = '';
  private stopped = false;

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    private readonly binary: string,
    private readonly args: readonly string[],
    /** Where `GET /health` is asked: the client URL, or the metrics URL under TLS. */
    private readonly healthUrl: string,
  ) {}

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  get frozen(): boolean {
    return this.stopped;
  }

  start(): void {
    const child = spawn(this.binary, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.process = child;
    this.stopped = false;
    this.stderrTail = '';
    this.exited = new Promise((resolve) => {
      const onGone = (description: string): void => {
        if (this.process === child) {
          this.process = undefined;
          this.stopped = false;
          this.exitDescription = description;
          this.stopWatchdog();
        }
        resolve();
      };
      // 'close', not 'exit': by then all of stderr has been read into the tail.
      child.once('close', (code, signal) =>
        onGone(signal === null ? `exited with code ${code}` : `was killed by ${signal}`),
      );
      child.on('error', (error) => onGone(`failed to start (${error.message})`));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    // A forgotten cluster must not keep the test process alive: the 'exit' hook kills it.
    child.unref();
    if (child.stderr instanceof Socket) {
      child.stderr.unref();
    }
    if (child.pid !== undefined) {
      this.watchdog = spawnWatchdog(child.pid, this.dataDir);
    }
  }

  async waitUntilHealthy(deadlineAt: number): Promise<void> {
    const startedAt = Date.now();
    for (;;) {
      if (!this.running) {
        throw new Error(
          `etcd member ${this.name} ${this.exitDescription} before it became healthy.` +
            this.describeStderr(),
        );
      }
      const remainingMs = deadlineAt - Date.now();
      if (remainingMs <= 0) {
        throw new Error(
          `etcd member ${this.name} (${this.healthUrl}) was not healthy within ` +
            `${Date.now() - startedAt} ms: ` +
            `GET /health never answered {"health":"true"}.${this.describeStderr()}`,
        );
      }
      if (await isMemberHealthy(this.healthUrl, Math.min(PROBE_TIMEOUT_MS, remainingMs))) {
        return;
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  async freeze(): Promise<void> {
    const pid = this.signal('SIGSTOP');
    this.stopped = true;
    await waitUntilProcessStopped(pid);
  }

  thaw(): void {
    this.signal('SIGCONT');
    this.stopped = false;
  }

  async kill(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.stopWatchdog();
    this.signal('SIGKILL');
    await this.waitForExitOrThrow();
  }

  /** SIGCONT if frozen, SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async terminate(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.stopWatchdog();
    if (this.stopped) {
      this.signal('SIGCONT');
    }
    this.signal('SIGTERM');
    if (await settlesWithin(this.exited, STOP_GRACE_MS)) {
      return;
    }
    this.signal('SIGKILL');
    await this.waitForExitOrThrow();
  }

  /** SIGKILLs the process without waiting; returns when it has exited. */
  killNow(): Promise<void> {
    this.stopWatchdog();
    const pid = this.process?.pid;
    if (pid !== undefined) {
      sendSignal(pid, 'SIGKILL');
    }
    return this.exited;
  }

  private signal(signal: NodeJS.Signals): number {
    const pid = this.process?.pid;
    if (pid === undefined) {
      throw new Error(`etcd member ${this.name} is not running (it ${this.exitDescription}).`);
    }
    sendSignal(pid, signal);
    return pid;
  }

  private async waitForExitOrThrow(): Promise<void> {
    if (!(await settlesWithin(this.exited, EXIT_TIMEOUT_MS))) {
      throw new Error(
        `etcd member ${this.name} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGKILL.`,
      );
    }
  }

  private stopWatchdog(): void {
    this.watchdog?.kill('SIGKILL');
    this.watchdog = undefined;
  }

  private describeStderr(): string {
    const tail = this.stderrTail.trim();
    return tail === '' ? ' (stderr was empty)' : `\n--- ${this.name} stderr (tail) ---\n${tail}`;
  }
}

/** Waits for `promise` at most `timeoutMs`; true if it settled in time. */
async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  const timeout = new AbortController();
  const timedOut = delay(timeoutMs, false, { signal: timeout.signal }).catch(() => false);
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    timeout.abort();
  }
}

function sendSignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    // ESRCH: it exited and the 'exit' event is on its way.
    if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) {
      throw error;
    }
  }
}

/**
 * A `sh` that blocks reading a pipe only we hold. When our process dies in any way (even SIGKILL,
 * when no handler runs) the pipe closes, `read` returns and it kills etcd and removes its data dir.
 * On an orderly stop we kill the watchdog first.
 */
function spawnWatchdog(etcdPid: number, dataDir: string): ChildProcess {
  const script =
    'read _ignored; kill -KILL "$1" 2>/dev/null; ' +
    'rm -rf "$2" 2>/dev/null || { sleep 0.2; rm -rf "$2"; }';
  const watchdog = spawn('/bin/sh', ['-c', script, 'zzlock-etcd-watchdog', `${etcdPid}`, dataDir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) {
    watchdog.stdin.unref();
  }
  return watchdog;
}

/** Waits (bounded) until /proc says the process is stopped; returns at once without /proc. */
async function waitUntilProcessStopped(pid: number): Promise<void> {
  const deadlineAt = Date.now() + 1_000;
  while (Date.now() < deadlineAt) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    // Format: "<pid> (<comm>) <state> ...", and comm may itself contain ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'T' || state === 't') {
      return;
    }
    await delay(5);
  }
  throw new Error(`Process ${pid} did not stop within 1000 ms of SIGSTOP.`);
}

const liveClusters = new Set<HarnessCluster>();
let cleanupHooksInstalled = false;

function registerForCleanup(cluster: HarnessCluster): void {
  liveClusters.add(cluster);
  if (cleanupHooksInstalled) {
    return;
  }
  cleanupHooksInstalled = true;
  process.on('exit', killEveryClusterNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      process.removeListener(signal, onSignal);
      const exits = killEveryClusterNow();
      // Reap the killed members (bounded) so none is left behind as a zombie, then re-raise for
      // the default action (die by this signal) unless someone else handles the signal.
      void settlesWithin(Promise.all(exits), EXIT_TIMEOUT_MS).then(() => {
        if (process.listenerCount(signal) === 0) {
          process.kill(process.pid, signal);
        }
      });
    };
    process.on(signal, onSignal);
  }
}

/** SIGKILLs every member of every live cluster and removes the data dirs, synchronously. */
function killEveryClusterNow(): Promise<void>[] {
  const exits = [...liveClusters].flatMap((cluster) => cluster.killNow());
  liveClusters.clear();
  return exits;
}
