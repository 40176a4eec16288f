import { readFileSync } from 'node:fs';
import type { ConfigService } from '@nestjs/config';

/**
 * The sample app's configuration, all from the environment.
 *
 * | variable                   | meaning                                         | default                   |
 * | -------------------------- | ----------------------------------------------- | ------------------------- |
 * | `ZZLOCK_ENDPOINTS`         | etcd client URLs, comma separated               | `http://127.0.0.1:2379`   |
 * | `ZZLOCK_NAMESPACE`         | key prefix of the locks                         | `zzlock-sample/`          |
 * | `ZZLOCK_USERNAME`/`_PASSWORD` | etcd auth                                    | none                      |
 * | `ZZLOCK_CA_FILE`, `ZZLOCK_CERT_FILE`, `ZZLOCK_KEY_FILE` | TLS (PEM files)    | none                      |
 * | `PORT`, `HOST`             | where the HTTP server listens                   | `3000`, `127.0.0.1`       |
 * | `REPLICA_ID`               | this replica's name in logs and responses       | `replica-<pid>`           |
 * | `GRAB_LOCK_TTL_SECONDS`    | lease TTL of a packet lock                      | `5`                       |
 * | `GRAB_LOCK_WAIT_MS`        | how long a grab waits for its packet's lock     | `10000`                   |
 * | `GRAB_WORK_MS`             | simulated work between read and write of a grab | `2`                       |
 * | `SETTLEMENT_CRON`          | schedule of the settlement job (6 fields)       | `*\/2 * * * * *`          |
 * | `SETTLEMENT_TTL_SECONDS`   | lease TTL of the settlement lock                | `10`                      |
 * | `SETTLEMENT_MIN_HOLD_MS`   | how long a settlement run keeps its lock        | `1500`                    |
 * | `ELECTION_TTL_SECONDS`     | lease TTL of the sweeper election               | `10`                      |
 * | `SWEEP_INTERVAL_MS`        | how often the leader sweeps expired packets     | `5000`                    |
 * | `PACKET_EXPIRY_SECONDS`    | age past which an open packet is closed         | `86400`                   |
 */

/** Default etcd endpoint when `ZZLOCK_ENDPOINTS` is not set. */
const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
/** Default lock namespace of the sample app. */
const DEFAULT_NAMESPACE = 'zzlock-sample/';

/** Reads a whole number ≥ `min` from the environment, or the default when the variable is unset. */
function integerFromEnv(variable: string, fallback: number, min: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${variable} must be a whole number ≥ ${min}, got "${raw}"`);
  }
  return value;
}

/**
 * Lock settings used as decorator arguments. Decorators are evaluated when their class is
 * defined, before Nest's ConfigService exists, so these few are read from `process.env` when this
 * module is first imported.
 */
export const LOCK_SETTINGS = {
  /** Lease TTL of a packet's lock, in seconds. */
  grabTtlSeconds: integerFromEnv('GRAB_LOCK_TTL_SECONDS', 5, 1),
  /** How long a grab waits for its packet's lock before answering 423, in ms. */
  grabWaitMs: integerFromEnv('GRAB_LOCK_WAIT_MS', 10_000, 0),
  /** Simulated business work between reading the packet and writing it back, in ms. */
  grabWorkMs: integerFromEnv('GRAB_WORK_MS', 2, 0),
  /** Cron expression (with seconds) of the settlement job. */
  settlementCron: process.env['SETTLEMENT_CRON'] ?? '*/2 * * * * *',
  /** Lease TTL of the settlement lock, in seconds. */
  settlementTtlSeconds: integerFromEnv('SETTLEMENT_TTL_SECONDS', 10, 1),
  /**
   * How long a settlement run keeps its lock, in ms: longer than the replicas' clock skew and
   * cron jitter, shorter than the cron period, so each tick runs on exactly one replica.
   */
  settlementMinHoldMs: integerFromEnv('SETTLEMENT_MIN_HOLD_MS', 1_500, 0),
  /**
   * Lease TTL of the sweeper election, in seconds: a leader that dies is replaced this long after
   * its last renewal.
   */
  electionTtlSeconds: integerFromEnv('ELECTION_TTL_SECONDS', 10, 1),
  /** How often the sweeper's leader looks for expired packets, in ms. */
  sweepIntervalMs: integerFromEnv('SWEEP_INTERVAL_MS', 5_000, 100),
  /** Age past which the sweeper closes an open packet and refunds what is left, in seconds. */
  packetExpirySeconds: integerFromEnv('PACKET_EXPIRY_SECONDS', 86_400, 1),
} as const;

/** Where and as whom this replica serves HTTP. */
export interface ServerSettings {
  /** TCP port. */
  readonly port: number;
  /** Interface to bind (`0.0.0.0` inside a container). */
  readonly host: string;
  /** This replica's name. */
  readonly replicaId: string;
}

/** How the app reaches etcd, for the lock module and for its own data. */
export interface EtcdSettings {
  /** etcd client URLs. */
  readonly endpoints: string[];
  /** Key prefix of the locks. */
  readonly namespace: string;
  /**
   * Key prefix of the app's data (packets, settlement ticks): the namespace with its trailing
   * `/` turned into `.data/`, so no data key falls inside a lock's queue range.
   */
  readonly dataPrefix: string;
  /** etcd user, when auth is on. */
  readonly auth?: { username: string; password: string };
  /** TLS material (PEM), when the endpoints are `https://`. */
  readonly tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** Reads the HTTP settings through Nest's ConfigService. */
export function readServerSettings(config: ConfigService): ServerSettings {
  const port = Number(config.get<string>('PORT') ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be a TCP port number, got "${config.get<string>('PORT')}"`);
  }
  return {
    port,
    host: config.get<string>('HOST') ?? '127.0.0.1',
    replicaId: config.get<string>('REPLICA_ID') ?? `replica-${process.pid}`,
  };
}

/** Reads the etcd settings through Nest's ConfigService. */
export function readEtcdSettings(config: ConfigService): EtcdSettings {
  const endpoints = (config.get<string>('ZZLOCK_ENDPOINTS') ?? DEFAULT_ENDPOINT)
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  const namespace = config.get<string>('ZZLOCK_NAMESPACE') ?? DEFAULT_NAMESPACE;
  const username = config.get<string>('ZZLOCK_USERNAME');
  const password = config.get<string>('ZZLOCK_PASSWORD') ?? '';
  const pem = (variable: string): Buffer | undefined => {
    const file = config.get<string>(variable);
    return file === undefined || file === '' ? undefined : readFileSync(file);
  };
  const tls = {
    ca: pem('ZZLOCK_CA_FILE'),
    cert: pem('ZZLOCK_CERT_FILE'),
    key: pem('ZZLOCK_KEY_FILE'),
  };
  const hasTls = tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined;
  return {
    endpoints,
    namespace,
    dataPrefix: `${namespace.replace(/\/+$/, '')}.data/`,
    ...(username === undefined || username === '' ? {} : { auth: { username, password } }),
    ...(hasTls ? { tls } : {}),
  };
}
