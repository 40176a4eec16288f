import { connect, createServer, type Socket } from 'node:net';

import { LOOPBACK_HOST } from '../../support/local-etcd/index.js';

/** What a {@link TcpProxy} does with traffic right now. */
export type TcpProxyMode = 'forwarding' | 'cut' | 'stalled';

/**
 * A loopback TCP proxy in front of one target, for cutting or stalling a client's connection
 * (e.g. an etcd3 client's gRPC channel to one member) without touching the server.
 */
export interface TcpProxy {
  /** URL to give the client instead of the target's, e.g. `'http://127.0.0.1:40123'`. */
  readonly endpoint: string;
  /** The proxy's listening port on 127.0.0.1. */
  readonly port: number;
  /** Current mode. */
  readonly mode: TcpProxyMode;
  /** Connections accepted so far (a client's new TCP connections, also those cut at once). */
  readonly accepted: number;
  /**
   * Bytes moved so far, over every connection: `toTarget` from the client to the target,
   * `fromTarget` back. Counts what the proxy forwarded (read from one side), for tests that
   * measure how much a client talks.
   */
  readonly bytes: { readonly toTarget: number; readonly fromTarget: number };
  /**
   * Resets every open connection (TCP RST) and resets every new one as soon as it is accepted,
   * until `restore()`: the client sees its connection drop and reconnects fail.
   */
  cut(): void;
  /**
   * Keeps every connection open but stops moving bytes both ways (they wait in the sockets'
   * buffers), until `restore()`; new connections are accepted and stalled too. The client sees a
   * silent, hung peer: calls hang until their deadline.
   */
  stall(): void;
  /** Forwards again: stalled connections resume (buffered bytes are delivered), new ones work. */
  restore(): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on a free 127.0.0.1 port that forwards to `target`.
 *
 * @param target `'host:port'` or a URL with a port, e.g. an etcd member's `clientUrl`.
 * @example
 * const proxy = await startTcpProxy(cluster.members[0].clientUrl);
 * const client = new Etcd3({ hosts: [proxy.endpoint] });
 * proxy.cut();     // calls through the proxy now fail
 * proxy.restore(); // and work again after the client reconnects
 * await proxy.close();
 */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { host, port: targetPort } = parseTarget(target);
  const connections = new Set<ProxiedConnection>();
  let mode: TcpProxyMode = 'forwarding';
  let accepted = 0;
  const bytes = { toTarget: 0, fromTarget: 0 };
  let closing: Promise<void> | undefined;

  const server = createServer((client) => {
    accepted += 1;
    client.on('error', () => undefined);
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, host);
    // Extra 'data' listeners only observe: pipe() and pause() keep governing the flow.
    client.on('data', (chunk: Buffer) => (bytes.toTarget += chunk.length));
    upstream.on('data', (chunk: Buffer) => (bytes.fromTarget += chunk.length));
    const connection = new ProxiedConnection(client, upstream);
    connections.add(connection);
    const forget = (): void => {
      connection.destroy();
      connections.delete(connection);
    };
    client.on('close', forget);
    upstream.on('close', forget);
    upstream.on('error', () => undefined);
    if (mode === 'forwarding') {
      connection.forward();
    } else {
      connection.stall(); // the 'data' listeners would otherwise start the flow (into nowhere)
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error(`Expected a TCP address, got ${String(address)}`);
  }

  return {
    endpoint: `http://${LOOPBACK_HOST}:${address.port}`,
    port: address.port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    get bytes() {
      return { ...bytes };
    },
    cut() {
      mode = 'cut';
      for (const connection of connections) {
        connection.reset();
      }
      connections.clear();
    },
    stall() {
      mode = 'stalled';
      for (const connection of connections) {
        connection.stall();
      }
    },
    restore() {
      mode = 'forwarding';
      for (const connection of connections) {
        connection.forward();
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) {
          connection.destroy();
        }
        connections.clear();
      });
      return closing;
    },
  };
}

/** One accepted client socket and its upstream socket. */
class ProxiedConnection {
  private forwarding = false;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
  ) {}

  forward(): void {
    if (this.forwarding) {
      return;
    }
    this.forwarding = true;
    this.client.pipe(this.upstream);
    this.upstream.pipe(this.client);
  }

  stall(): void {
    this.forwarding = false;
    this.client.unpipe(this.upstream);
    this.upstream.unpipe(this.client);
    // After unpipe, pause explicitly so neither side reads (and nothing resumes them).
    this.client.pause();
    this.upstream.pause();
  }

  reset(): void {
    if (!this.client.destroyed) {
      this.client.resetAndDestroy();
    }
    this.upstream.destroy();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

function parseTarget(target: string): { host: string; port: number } {
  const url = new URL(target.includes('://') ? target : `tcp://${target}`);
  const port = Number(url.port);
  if (url.hostname === '' || !Number.isInteger(port) || port <= 0) {
    throw new Error(`Expected 'host:port' or a URL with a port, got '${target}'.`);
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}
