import { setTimeout as delay } from 'node:timers/promises';
import type { RedPacket } from '../packets/red-packet.js';
import type { ReplicaProcess } from './replica-process.js';

/** Which grab endpoint a load drives. */
export type GrabEndpoint = 'grab' | 'grab-unlocked';

/** How one grab request ended. */
export type GrabStatus =
  /** 200: a share was granted. */
  | 'granted'
  /** 409 `empty`: no share left. */
  | 'empty'
  /** 409 `stale-fence` / `concurrent-write` / `lock-lost`: the write was refused. */
  | 'refused'
  /** 423 after every retry: the lock stayed busy. */
  | 'busy'
  /** No answer from any replica, or an unexpected status. */
  | 'failed';

/** The result of one grab request. */
export interface GrabAttempt {
  /** How it ended. */
  readonly status: GrabStatus;
  /** The replica that gave the final answer (undefined when none did). */
  readonly replica?: string;
  /** Cents granted, for `granted`. */
  readonly amount?: number;
  /** The grab id the replica wrote in the ledger, for `granted`. */
  readonly grabId?: string;
  /** Requests that died with their replica (their outcome is unknown; the ledger has the truth). */
  readonly lostInFlight: number;
  /** `Date.now()` when the final answer came. */
  readonly answeredAt: number;
  /** Details of a `failed` grab. */
  readonly error?: string;
}

/** A load of concurrent grabs on one packet. */
export interface GrabLoadOptions {
  /** The packet. */
  readonly packetId: string;
  /** Locked or unlocked endpoint. */
  readonly endpoint: GrabEndpoint;
  /** The replicas to spread requests over (round robin over those still alive). */
  readonly replicas: readonly ReplicaProcess[];
  /** Number of grab requests. */
  readonly requests: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Called after each request completes. */
  readonly onProgress?: (done: number, attempt: GrabAttempt) => void;
  /** Stops starting new requests when it fires. */
  readonly signal?: AbortSignal;
}

/** Retries of a request answered 423, and of one whose replica went away. */
const MAX_ATTEMPTS = 5;
/** Longest pause before retrying a 423, whatever `Retry-After` says, in ms. */
const MAX_RETRY_PAUSE_MS = 500;
/** Deadline of one HTTP request, in ms (above the app's lock wait). */
const REQUEST_TIMEOUT_MS = 20_000;

/**
 * Fires `requests` grabs, `concurrency` at a time, spread round robin over the live replicas.
 * A request whose replica dies (or refuses the connection) is sent again to another replica; a
 * 423 is retried after its `Retry-After`. Every loop is bounded.
 */
export async function runGrabLoad(options: GrabLoadOptions): Promise<GrabAttempt[]> {
  const results: GrabAttempt[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.requests && options.signal?.aborted !== true) {
      const index = next;
      next += 1;
      const attempt = await grabOnce(options, index);
      results.push(attempt);
      options.onProgress?.(results.length, attempt);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, options.requests));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

async function grabOnce(options: GrabLoadOptions, index: number): Promise<GrabAttempt> {
  let lostInFlight = 0;
  let lastError = 'no live replica';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const live = options.replicas.filter((replica) => replica.alive);
    if (live.length === 0) break;
    const replica = live[(index + attempt) % live.length];
    let response: Response;
    try {
      response = await fetch(`${replica.url}/packets/${options.packetId}/${options.endpoint}`, {
        method: 'POST',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      // The replica died (or was dying) with our request: its outcome is unknown, try another.
      lostInFlight += 1;
      lastError = `${replica.id}: ${error instanceof Error ? error.message : String(error)}`;
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as {
      amount?: number;
      grabId?: string;
      reason?: string;
      message?: string;
    };
    const answeredAt = Date.now();
    const base = { replica: replica.id, lostInFlight, answeredAt };
    if (response.status === 200) {
      return { ...base, status: 'granted', amount: body.amount, grabId: body.grabId };
    }
    if (response.status === 409) {
      return {
        ...base,
        status: body.reason === 'empty' ? 'empty' : 'refused',
        error: body.message,
      };
    }
    if (response.status === 423) {
      const retryAfterSeconds = Number(response.headers.get('retry-after') ?? '1');
      lastError = `${replica.id}: 423 ${body.message ?? ''}`;
      if (attempt === MAX_ATTEMPTS - 1) return { ...base, status: 'busy', error: lastError };
      await delay(Math.min(MAX_RETRY_PAUSE_MS, Math.max(0, retryAfterSeconds * 1000)));
      continue;
    }
    return { ...base, status: 'failed', error: `HTTP ${response.status} ${JSON.stringify(body)}` };
  }
  return { status: 'failed', lostInFlight, answeredAt: Date.now(), error: lastError };
}

/** POSTs JSON and returns the parsed answer; throws with the body on a non-2xx status. */
export async function postJson<T>(url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** GETs JSON; throws with the body on a non-2xx status. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** GETs text; throws on a non-2xx status. */
export async function getText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  return text;
}

/** Reads a packet (and its ledger) from the first live replica. */
export function fetchPacket(replicas: readonly ReplicaProcess[], id: string): Promise<RedPacket> {
  const replica = replicas.find((candidate) => candidate.alive);
  if (replica === undefined) throw new Error('no replica is alive to read the packet');
  return getJson<RedPacket>(`${replica.url}/packets/${id}`);
}
