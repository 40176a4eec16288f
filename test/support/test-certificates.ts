import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { LOOPBACK_HOST } from '../../support/local-etcd/index.js';

const runFile = promisify(execFile);

/** Certificates only live as long as a test run; a day leaves room for clock skew. */
const VALIDITY_DAYS = '1';
/** Bound for each openssl run, so a broken openssl fails the setup instead of hanging it. */
const OPENSSL_TIMEOUT_MS = 10_000;

/** X.509 v3 extensions of each certificate, in openssl `-extfile` syntax. */
const EXTENSIONS = {
  ca: [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ],
  // clientAuth too: etcd dials its own gRPC gateway with the server certificate.
  server: [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth, clientAuth',
    `subjectAltName = IP:${LOOPBACK_HOST}`,
    'authorityKeyIdentifier = keyid',
  ],
  client: [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = clientAuth',
    'authorityKeyIdentifier = keyid',
  ],
} as const;

/**
 * A throwaway CA, a server certificate for `127.0.0.1` and a client certificate signed by it, as
 * PEM files in a temp dir (P-256 keys, valid for a day). `remove()` (or `await using`) deletes
 * the dir.
 */
export interface TestCertificates extends AsyncDisposable {
  /** The temp dir holding every file. */
  readonly dir: string;
  /** The self-signed CA certificate: etcd's `--trusted-ca-file`, a client's `ca`. */
  readonly caFile: string;
  /** Server certificate with subjectAltName `IP:127.0.0.1`: etcd's `--cert-file`. */
  readonly serverCertFile: string;
  /** Private key of `serverCertFile`: etcd's `--key-file`. */
  readonly serverKeyFile: string;
  /** Client certificate (extendedKeyUsage clientAuth), for etcd's `--client-cert-auth`. */
  readonly clientCertFile: string;
  /** Private key of `clientCertFile`. */
  readonly clientKeyFile: string;
  /** Deletes the temp dir. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Makes a {@link TestCertificates} set with the `openssl` command line (no network, no config file
 * of ours beyond the extensions). Throws, leaving nothing behind, if openssl is missing or fails.
 *
 * @example
 * const certs = await createTestCertificates();
 * after(() => certs.remove());
 * const etcd = await startEtcd({
 *   tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
 * });
 * const client = new Etcd3({
 *   hosts: etcd.endpoints,
 *   credentials: { rootCertificate: await readFile(certs.caFile) },
 * });
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'zzlock-certs-'));
  const file = (name: string) => join(dir, name);
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= rm(dir, { recursive: true, force: true, maxRetries: 3 }));
  try {
    await makeCertificate(dir, 'ca', `zzlock test CA ${randomBytes(4).toString('hex')}`);
    await makeCertificate(dir, 'server', LOOPBACK_HOST, 'ca');
    await makeCertificate(dir, 'client', 'zzlock-test-client', 'ca');
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    dir,
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server-key.pem'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client-key.pem'),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}

/**
 * Writes `<name>-key.pem` and `<name>.pem` into `dir`: signed by `<issuer>.pem` when given,
 * self-signed otherwise, with the extensions of `EXTENSIONS[name]`.
 */
async function makeCertificate(
  dir: string,
  name: keyof typeof EXTENSIONS,
  commonName: string,
  issuer?: 'ca',
): Promise<void> {
  const file = (suffix: string) => join(dir, `${name}${suffix}`);
  await writeFile(file('.ext'), `${EXTENSIONS[name].join('\n')}\n`);
  await openssl(
    ...['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    ...['-out', file('-key.pem')],
  );
  await openssl(
    ...['req', '-new', '-key', file('-key.pem'), '-subj', `/CN=${commonName}`],
    ...['-out', file('.csr')],
  );
  const signer =
    issuer === undefined
      ? ['-signkey', file('-key.pem')]
      : ['-CA', join(dir, `${issuer}.pem`), '-CAkey', join(dir, `${issuer}-key.pem`)];
  await openssl(
    ...['x509', '-req', '-in', file('.csr'), ...signer, '-days', VALIDITY_DAYS],
    ...['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-extfile', file('.ext')],
    ...['-out', file('.pem')],
  );
}

async function openssl(...args: string[]): Promise<void> {
  try {
    await runFile('openssl', args, { timeout: OPENSSL_TIMEOUT_MS });
  } catch (error) {
    const stderr =
      typeof error === 'object' && error !== null && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, {
      cause: error,
    });
  }
}
