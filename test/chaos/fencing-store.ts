import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { LOOPBACK_HOST } from '../support/index.js';
import { chaosClockMs, type StoreOperation } from './chaos-history.js';

/** The body of a read or a write sent to the {@link FencingStore}. */
export interface FencedRequest {
  /** The resource (a lock name). */
  resource: string;
  /** The holder's fencing token, as a decimal string. */
  token: string;
  /** The grant the operation is made under (for the record). */
  grantId: string;
  /** A read made under a shared hold (a reader); see {@link FencingStore}. */
  shared?: boolean;
  /** A write's base: the version its read returned. Required on writes. */
  baseVersion?: number;
}

/** The store's answer to an accepted read or write: the resource's value and version after it. */
export interface FencedReply {
  /** The counter's value. */
  value: number;
  /** How many writes it has accepted. */
  version: number;
}

/**
 * A small fencing-checking store, the shared resource of a chaos run: one counter per resource,
 * served over HTTP on loopback. It rejects (409, "stale") any read or write whose fencing token is
 * lower than the highest token it has accepted for that resource — on reads too, so a paused
 * holder that resumes after a newer holder read cannot write back what it read before — and
 * records every operation in decision order. A read marked `shared` (a reader's) is rejected only
 * when its token is lower than the highest token the store accepted from an exclusive holder's
 * operation: readers hold together and their reads arrive in any token order, so one reader's
 * read must not fence out another's; but a reader granted before a writer must not read once that
 * writer has read or written. A reader's accepted read still raises the resource's highest token,
 * so a writer paused since before that reader was granted cannot write after it read. A write adds 1 to the counter; it is accepted even
 * when its base version is no longer current, so that a lost update shows in the record instead of
 * being hidden (the checker counts those).
 *
 * @example
 * const store = await startFencingStore();
 * await fetch(`${store.url}/read`, { method: 'POST', body: JSON.stringify({ resource: 'a', token: '9', grantId: 'w0.1#1' }) });
 * store.operations(); // [{ kind: 'read', outcome: 'accepted', … }]
 * await store.close();
 */
export interface FencingStore {
  /** Base URL, e.g. `http://127.0.0.1:40123`; POST `/read` and `/write` with a {@link FencedRequest}. */
  readonly url: string;
  /** Every operation so far, in decision order. */
  operations(): readonly StoreOperation[];
  /** Each resource's current value. */
  values(): ReadonlyMap<string, number>;
  /** Stops the server. Idempotent. */
  close(): Promise<void>;
}

interface Resource {
  value: number;
  version: number;
  highestToken: bigint;
  /** The highest token accepted from an operation not marked `shared`. */
  highestExclusiveToken: bigint;
}

/**
 * Starts a {@link FencingStore} on a free 127.0.0.1 port.
 * @example
 * const store = await startFencingStore();
 */
export async function startFencingStore(): Promise<FencingStore> {
  const resources = new Map<string, Resource>();
  const log: StoreOperation[] = [];

  const decide = (kind: 'read' | 'write', request: FencedRequest): FencedReply | undefined => {
    const token = BigInt(request.token);
    let resource = resources.get(request.resource);
    if (resource === undefined) {
      resource = { value: 0, version: 0, highestToken: 0n, highestExclusiveToken: 0n };
      resources.set(request.resource, resource);
    }
    const shared = kind === 'read' && request.shared === true;
    const stale = token < (shared ? resource.highestExclusiveToken : resource.highestToken);
    log.push({
      seq: log.length,
      kind,
      resource: request.resource,
      token,
      ...(shared ? { shared } : {}),
      grantId: request.grantId,
      at: chaosClockMs(),
      outcome: stale ? 'stale' : 'accepted',
      versionBefore: resource.version,
      ...(kind === 'write' ? { baseVersion: request.baseVersion } : {}),
    });
    if (stale) return undefined;
    if (token > resource.highestToken) resource.highestToken = token;
    if (!shared && token > resource.highestExclusiveToken) resource.highestExclusiveToken = token;
    if (kind === 'write') {
      resource.value += 1;
      resource.version += 1;
    }
    return { value: resource.value, version: resource.version };
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      reply(res, 500, { error: String(error) });
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const kind = req.url === '/read' ? 'read' : req.url === '/write' ? 'write' : undefined;
    if (req.method !== 'POST' || kind === undefined) {
      reply(res, 404, { error: 'POST /read or /write' });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FencedRequest;
    if (kind === 'write' && typeof request.baseVersion !== 'number') {
      reply(res, 400, { error: 'a write needs baseVersion' });
      return;
    }
    const answer = decide(kind, request);
    if (answer === undefined) reply(res, 409, { stale: true });
    else reply(res, 200, answer);
  };
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${LOOPBACK_HOST}:${port}`,
    operations: () => log,
    values: () => new Map([...resources].map(([name, resource]) => [name, resource.value])),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': text.length });
  res.end(text);
}
