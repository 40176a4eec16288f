// A chaos worker process: several concurrent acquirers, each looping over "acquire a random lock
// → do the operation its mode guards → release", passing the fencing token on every store call and
// checking the lost signal before each one, as the README tells users to. What each mode does:
// - exclusive (a mutex, or a writer of a shared name): read the resource from the fencing store →
//   pause → write it back + 1 (a read-modify-write that a second holder would turn into a lost
//   update).
// - shared (a reader): one fenced read, marked shared, then a pause (the reading). The store
//   rejects it only below the highest token of an exclusive holder's operation: readers hold
//   together, so their reads arrive in any token order, but a reader granted before a writer
//   must not read after that writer has touched the resource.
// - semaphore (one of N permits): no store call, only the pause (the use of the permit). A token
//   cannot fence a semaphore's resource by "reject below the highest": N holders at once send
//   theirs in any order. What proves the semaphore is the checker's count of grants believed
//   held at once, judged against N.
// With an election configured, one more loop campaigns for it, and leads like an exclusive holder
// (a fenced read-modify-write with the term as the token) before it resigns: a term is reported
// as a grant of the election's name, so the checker judges leaders by the mutex's rules.
// It reports every grant (with the handle's mode), lost signal and release to the orchestrator
// over IPC, and obeys its hold/proceed/stop commands (see worker-protocol.ts).
// Config: JSON in CHAOS_WORKER (WorkerConfig).
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';

import {
  LockClient,
  ZZLockError,
  type AcquireOptions,
  type Leadership,
  type LockHandle,
  type LockMode,
} from '../../lib/core/index.js';
import { chaosClockMs, type LockSpec } from './chaos-history.js';
import type { FencedReply, FencedRequest } from './fencing-store.js';
import type { OrchestratorMessage, WorkerConfig, WorkerMessage } from './worker-protocol.js';

const config = JSON.parse(process.env['CHAOS_WORKER'] ?? '') as WorkerConfig;

const send = (message: WorkerMessage): void => {
  // The orchestrator may be gone (it then SIGKILLs us, or we exit on 'disconnect').
  process.send?.(message, undefined, {}, () => undefined);
};

const locks = new LockClient({
  endpoints: config.endpoints,
  namespace: config.namespace,
  ttl: config.ttl,
  callTimeoutMs: config.callTimeoutMs,
  shutdownGraceMs: 1_000,
});

/**
 * When the library granted the acquire running in this call chain: its `acquired` event, emitted
 * in the acquirer's own call chain right after the grant. A SIGSTOP that lands between the grant
 * and the moment `acquire()` resolves in our code must not move the grant to after the pause (it
 * would look like a grant made after the lease ran out, and its token like an inversion).
 */
const grantMoment = new AsyncLocalStorage<{ grantedAt?: number }>();

locks.observe({
  storeError: ({ operation }) => send({ type: 'storeError', operation, at: chaosClockMs() }),
  acquired: () => {
    const moment = grantMoment.getStore();
    if (moment !== undefined) moment.grantedAt ??= chaosClockMs();
  },
});

let hold: { name: string; blind: boolean } | undefined;
let proceed: (() => void) | undefined;
let stopping = false;
let sequence = 0;

process.on('message', (message: OrchestratorMessage) => {
  if (message.type === 'hold') hold = { name: message.name, blind: message.blind };
  else if (message.type === 'proceed') proceed?.();
  else if (message.type === 'stop') void stop();
});
// Orphaned (the orchestrator died without killing us): leave, and let the TTL free our locks.
process.on('disconnect', () => process.exit(1));

const random = (upTo: number): number => Math.floor(Math.random() * (upTo + 1));

async function storeCall(
  kind: 'read' | 'write',
  body: FencedRequest,
): Promise<FencedReply | 'stale'> {
  const response = await fetch(`${config.storeUrl}/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status === 409) {
    await response.arrayBuffer();
    return 'stale';
  }
  if (!response.ok) throw new Error(`store ${kind}: HTTP ${response.status}`);
  return (await response.json()) as FencedReply;
}

/** What a grant gives the operation it guards: a lock's handle, or a term of leadership. */
type Guard = Pick<LockHandle, 'name' | 'mode' | 'signal' | 'fencingToken'>;

/** What the store said to a store call, or `skipped` when the holder saw its lost signal first. */
type Outcome = 'accepted' | 'stale' | 'skipped';

/**
 * The operation `lock` guards, by its mode (see the top of this file), with the lost signal
 * looked at before each store call. A grant caught by a `hold` stops after its first operation
 * until `proceed`, then makes its last one (a writer's write, a reader's second read; a semaphore
 * holder has none) blindly or after a look, and reports what became of it.
 */
async function operate(lock: Guard, id: string): Promise<void> {
  const caught = hold?.name === lock.name ? hold : undefined;
  if (caught !== undefined) hold = undefined;
  if (lock.signal.aborted) return;
  const request: FencedRequest = {
    resource: lock.name,
    token: lock.fencingToken.toString(),
    grantId: id,
    ...(lock.mode === 'shared' ? { shared: true } : {}),
  };
  // The first operation: a read, except for a semaphore holder.
  const read = lock.mode === 'semaphore' ? undefined : await storeCall('read', request);
  if (read === 'stale') return;
  // The last operation, if any.
  const last = async (): Promise<Outcome | 'none'> => {
    if (read === undefined) return 'none';
    if (lock.mode === 'shared') return reply(await storeCall('read', request));
    return reply(await storeCall('write', { ...request, baseVersion: read.version }));
  };
  if (caught !== undefined) {
    const resumed = new Promise<void>((resolve) => (proceed = resolve));
    send({ type: 'holding', id });
    await resumed;
    proceed = undefined;
    if (!caught.blind && lock.signal.aborted) {
      send({ type: 'write', id, outcome: read === undefined ? 'none' : 'skipped' });
      return;
    }
    send({ type: 'write', id, outcome: await last() });
    return;
  }
  await delay(random(config.holdMs));
  // A reader's work is its read and this pause; a writer writes now.
  if (lock.mode !== 'exclusive' || lock.signal.aborted) return;
  await last();
}

function reply(answer: FencedReply | 'stale'): Outcome {
  return answer === 'stale' ? 'stale' : 'accepted';
}

/** A random lock of the config, and what to ask for it. */
function pick(): { spec: LockSpec; asked: LockMode; options: AcquireOptions } {
  const spec = config.locks[random(config.locks.length - 1)];
  const base = { waitMs: config.waitMs };
  if (spec.rule === 'semaphore') {
    return { spec, asked: 'semaphore', options: { ...base, permits: spec.permits } };
  }
  if (spec.rule === 'shared' && Math.random() >= config.writerShare) {
    return { spec, asked: 'shared', options: { ...base, shared: true } };
  }
  return { spec, asked: 'exclusive', options: base };
}

/** How a grant came about, for its report. */
interface GrantFacts {
  readonly asked: LockMode;
  readonly permits: number;
  readonly requestedAt: number;
  readonly grantedAt: number;
}

/**
 * Reports a grant, does the operation it guards (reporting its lost signal), then reports its end
 * and gives it up with `giveUp` (a release, a resignation).
 */
async function guardAndGiveUp(
  guard: Guard,
  facts: GrantFacts,
  giveUp: () => Promise<void>,
): Promise<void> {
  sequence += 1;
  const id = `${config.id}#${sequence}`;
  send({
    type: 'grant',
    id,
    name: guard.name,
    mode: guard.mode,
    ...facts,
    token: guard.fencingToken.toString(),
  });
  const onLost = (): void => send({ type: 'lost', id, at: chaosClockMs() });
  if (guard.signal.aborted) onLost();
  else guard.signal.addEventListener('abort', onLost, { once: true });
  try {
    await operate(guard, id);
  } catch (error) {
    process.stderr.write(`[${config.id}] ${id}: ${String(error)}\n`);
  } finally {
    // A last look before giving it up, as a careful holder would: a lease that ran out while this
    // process was paused is signalled here at the latest.
    void guard.signal.aborted;
    send({ type: 'released', id, at: chaosClockMs() });
    guard.signal.removeEventListener('abort', onLost);
    await giveUp();
  }
}

/** Ends the campaign of {@link candidate} at shutdown. */
const stopCampaigning = new AbortController();

/**
 * Campaigns for `name` in a loop; each term leads like an exclusive holder (the term is the
 * fencing token), then resigns. A term is reported as a grant of `name`.
 */
async function candidate(name: string): Promise<void> {
  const election = locks.election(name);
  while (!stopping) {
    const requestedAt = chaosClockMs();
    let leadership: Leadership;
    try {
      leadership = await election.campaign({ value: config.id, signal: stopCampaigning.signal });
    } catch (error) {
      if (stopping) return;
      const code = error instanceof ZZLockError ? error.code : String(error);
      send({ type: 'acquireError', code, name, requestedAt, at: chaosClockMs() });
      await delay(50 + random(100));
      continue;
    }
    const term: Guard = {
      name,
      mode: 'exclusive',
      get signal() {
        return leadership.signal;
      },
      fencingToken: leadership.term,
    };
    const facts = {
      asked: 'exclusive' as const,
      permits: 1,
      requestedAt,
      grantedAt: chaosClockMs(),
    };
    await guardAndGiveUp(term, facts, () => leadership.resign());
    await delay(random(config.thinkMs));
  }
}

async function acquirer(): Promise<void> {
  while (!stopping) {
    const { spec, asked, options } = pick();
    const name = spec.name;
    const requestedAt = chaosClockMs();
    const moment: { grantedAt?: number } = {};
    let lock: LockHandle;
    try {
      lock = await grantMoment.run(moment, () => locks.acquire(name, options));
    } catch (error) {
      if (stopping) return;
      const code = error instanceof ZZLockError ? error.code : String(error);
      send({ type: 'acquireError', code, name, requestedAt, at: chaosClockMs() });
      await delay(50 + random(100));
      continue;
    }
    const grantedAt = moment.grantedAt ?? chaosClockMs();
    await guardAndGiveUp(lock, { asked, permits: lock.permits, requestedAt, grantedAt }, () =>
      lock.release(),
    );
    await delay(random(config.thinkMs));
  }
}

let running: Promise<unknown> = Promise.resolve();

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  proceed?.();
  locks.stopAcquiring(); // ends the waits at once
  stopCampaigning.abort();
  await running;
  await locks.close();
  send({ type: 'stopped' });
  process.disconnect?.();
}

send({ type: 'ready' });
const loops = Array.from({ length: config.acquirers }, acquirer);
if (config.election !== undefined) loops.push(candidate(config.election));
running = Promise.allSettled(loops).then((results) => {
  for (const result of results) {
    if (result.status === 'rejected') {
      process.stderr.write(`[${config.id}] acquirer failed: ${String(result.reason)}\n`);
    }
  }
});
