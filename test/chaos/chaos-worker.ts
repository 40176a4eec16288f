// A chaos worker process: several concurrent acquirers, each looping over "acquire a random lock
// → read the resource it guards from the fencing store → pause → write it back + 1 → release",
// passing the fencing token on every store call and checking the lost signal before each one, as
// the README tells users to. It reports every grant, lost signal and release to the orchestrator
// over IPC, and obeys its hold/proceed/stop commands (see worker-protocol.ts).
// Config: JSON in CHAOS_WORKER (WorkerConfig).
import { setTimeout as delay } from 'node:timers/promises';

import { LockClient, ZZLockError, type LockHandle } from '../../lib/core/index.js';
import { chaosClockMs } from './chaos-history.js';
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

locks.observe({
  storeError: ({ operation }) => send({ type: 'storeError', operation, at: chaosClockMs() }),
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

/** One read-modify-write of the lock's resource under `lock`. */
async function operate(lock: LockHandle, id: string): Promise<void> {
  const caught = hold?.name === lock.name ? hold : undefined;
  if (caught !== undefined) hold = undefined;
  if (lock.signal.aborted) return;
  const request = { resource: lock.name, token: lock.fencingToken.toString(), grantId: id };
  const read = await storeCall('read', request);
  if (read === 'stale') return;
  if (caught !== undefined) {
    const resumed = new Promise<void>((resolve) => (proceed = resolve));
    send({ type: 'holding', id });
    await resumed;
    proceed = undefined;
    if (!caught.blind && lock.signal.aborted) {
      send({ type: 'write', id, outcome: 'skipped' });
      return;
    }
    const written = await storeCall('write', { ...request, baseVersion: read.version });
    send({ type: 'write', id, outcome: written === 'stale' ? 'stale' : 'accepted' });
    return;
  }
  await delay(random(config.holdMs));
  if (lock.signal.aborted) return;
  await storeCall('write', { ...request, baseVersion: read.version });
}

async function acquirer(): Promise<void> {
  while (!stopping) {
    const name = config.names[random(config.names.length - 1)];
    const requestedAt = chaosClockMs();
    let lock: LockHandle;
    try {
      lock = await locks.acquire(name, { waitMs: config.waitMs });
    } catch (error) {
      if (stopping) return;
      const code = error instanceof ZZLockError ? error.code : String(error);
      send({ type: 'acquireError', code, at: chaosClockMs() });
      await delay(50 + random(100));
      continue;
    }
    const grantedAt = chaosClockMs();
    sequence += 1;
    const id = `${config.id}#${sequence}`;
    send({ type: 'grant', id, name, token: lock.fencingToken.toString(), requestedAt, grantedAt });
    const onLost = (): void => send({ type: 'lost', id, at: chaosClockMs() });
    if (lock.signal.aborted) onLost();
    else lock.signal.addEventListener('abort', onLost, { once: true });
    try {
      await operate(lock, id);
    } catch (error) {
      process.stderr.write(`[${config.id}] ${id}: ${String(error)}\n`);
    } finally {
      // A last look at the lock before giving it up, as a careful holder would: a lease that ran
      // out while this process was paused is signalled here at the latest.
      void lock.signal.aborted;
      send({ type: 'released', id, at: chaosClockMs() });
      lock.signal.removeEventListener('abort', onLost);
      await lock.release();
    }
    await delay(random(config.thinkMs));
  }
}

let running: Promise<unknown> = Promise.resolve();

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  proceed?.();
  locks.stopAcquiring(); // ends the waits at once
  await running;
  await locks.close();
  send({ type: 'stopped' });
  process.disconnect?.();
}

send({ type: 'ready' });
running = Promise.allSettled(Array.from({ length: config.acquirers }, acquirer)).then((results) => {
  for (const result of results) {
    if (result.status === 'rejected') {
      process.stderr.write(`[${config.id}] acquirer failed: ${String(result.reason)}\n`);
    }
  }
});
