import { createServer, type Server } from 'node:net';

/** The loopback address every harness server listens on. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * Asks the kernel for `count` distinct free TCP ports on 127.0.0.1.
 *
 * Every port is held (bound to port 0) until all are known, so one call never returns the same
 * port twice; then they are released for the caller to bind. Another process may still take a
 * port between release and bind, so a caller that binds later should retry on `EADDRINUSE`.
 *
 * @example
 * const [clientPort, peerPort] = await getFreePorts(2);
 */
export async function getFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnRandomPort(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}

/**
 * Asks the kernel for one free TCP port on 127.0.0.1.
 *
 * @example
 * const port = await getFreePort();
 */
export async function getFreePort(): Promise<number> {
  const [port] = await getFreePorts(1);
  return port;
}

function listenOnRandomPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`Expected a TCP address, got ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
