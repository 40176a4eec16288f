// The `auth` and `tls` options against a real etcd: username/password authentication, a TLS client
// port with a throwaway CA, and TLS with client certificates. Right settings lock and clean up;
// credentials etcd refuses reject with StoreRejectedError (not retried), a TLS connection that
// cannot be set up (untrusted server, no client certificate, plain http:// to a TLS port) with
// StoreUnavailableError within callTimeoutMs, never a hang. Permissions limited to a prefix, token
// expiry, ownership and namespaces are in test/safety/security.test.ts.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';

import { Etcd3, EtcdAuthenticationFailedError, type IOptions } from 'etcd3';

import {
  LockClient,
  LockConfigError,
  StoreRejectedError,
  StoreUnavailableError,
  ZZLockErrorCode,
  type LockClientOptions,
} from '../../lib/core/index.js';
import {
  createTestCertificates,
  leftovers,
  startEtcd,
  type EtcdCluster,
  type TestCertificates,
} from '../support/index.js';

const namespace = 'secure/';
/** Short, so a client that cannot get through fails fast; the test `timeout` guards hangs. */
const FAILING_CALL_TIMEOUT_MS = 1_000;
const TEST_TIMEOUT_MS = 20_000;
const ROOT_USER = 'root';
const ROOT_PASSWORD = 'zzlock-root-password';

/** Opens LockClients for one suite and closes whatever a test left open. */
function lockClients(): {
  open(options: Omit<LockClientOptions, 'namespace'>): LockClient;
  closeAll(): Promise<void>;
} {
  const clients: LockClient[] = [];
  return {
    open(options) {
      const client = new LockClient({ namespace, ...options });
      clients.push(client);
      return client;
    },
    async closeAll() {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    },
  };
}

/**
 * Acquires a lock with `owner`, sees `rival.tryAcquire` refused, releases, closes both and checks
 * that no key or lease is left, reading etcd through `connection`.
 */
async function assertLocksAndCleansUp(
  endpoints: string[],
  owner: LockClient,
  rival: LockClient,
  connection: Omit<IOptions, 'hosts'>,
): Promise<void> {
  const lock = await owner.acquire('report', { waitMs: 0 });
  assert.equal(await rival.tryAcquire('report'), null);
  assert.equal((await leftovers(endpoints, namespace, connection)).keys.length, 1);
  await lock.release();
  await Promise.all([owner.close(), rival.close()]);
  assert.deepEqual(await leftovers(endpoints, namespace, connection), { keys: [], leases: [] });
}

/** Asserts `acquire` rejects with StoreRejectedError for `reason`; returns etcd's error. */
async function rejectsAsRefused(client: LockClient, reason: string): Promise<unknown> {
  let cause: unknown;
  await assert.rejects(client.acquire('report', { waitMs: 0 }), (error: unknown) => {
    assert.ok(error instanceof StoreRejectedError, `not a StoreRejectedError: ${error}`);
    assert.equal(error.code, ZZLockErrorCode.StoreRejected);
    assert.equal(error.code, 'ZZLOCK_STORE_REJECTED');
    assert.equal(error.reason, reason);
    cause = error.cause;
    return true;
  });
  return cause;
}

/** Asserts `acquire` rejects with StoreUnavailableError; returns its cause for further checks. */
async function rejectsAsUnavailable(client: LockClient): Promise<unknown> {
  let cause: unknown;
  await assert.rejects(client.acquire('report', { waitMs: 0 }), (error: unknown) => {
    assert.ok(error instanceof StoreUnavailableError, `not a StoreUnavailableError: ${error}`);
    assert.equal(error.code, ZZLockErrorCode.StoreUnavailable);
    assert.equal(error.code, 'ZZLOCK_STORE_UNAVAILABLE');
    cause = error.cause;
    return true;
  });
  return cause;
}

describe('etcd with username/password authentication', () => {
  let etcd: EtcdCluster;
  const clients = lockClients();
  const rootAuth = { username: ROOT_USER, password: ROOT_PASSWORD };

  before(async () => {
    etcd = await startEtcd();
    const admin = new Etcd3({ hosts: etcd.endpoints });
    try {
      await admin.user(ROOT_USER).create(ROOT_PASSWORD);
      await admin.user(ROOT_USER).addRole('root');
      await admin.auth.authEnable({});
    } finally {
      admin.close();
    }
  });
  afterEach(() => clients.closeAll());
  after(() => etcd?.stop());

  it('locks, excludes and cleans up with the right credentials', { timeout: TEST_TIMEOUT_MS }, () =>
    assertLocksAndCleansUp(
      etcd.endpoints,
      clients.open({ endpoints: etcd.endpoints, auth: rootAuth }),
      clients.open({ endpoints: etcd.endpoints, auth: rootAuth }),
      { auth: rootAuth },
    ),
  );

  it(
    'rejects acquire with a wrong password, caused by etcd’s authentication failure',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const client = clients.open({
        endpoints: etcd.endpoints,
        auth: { username: ROOT_USER, password: 'not-the-password' },
        callTimeoutMs: FAILING_CALL_TIMEOUT_MS,
      });
      const cause = await rejectsAsRefused(client, 'authentication-failed');
      assert.ok(
        cause instanceof EtcdAuthenticationFailedError,
        `cause is not etcd's authentication failure: ${String(cause)}`,
      );
    },
  );

  it('rejects acquire without credentials', { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = clients.open({
      endpoints: etcd.endpoints,
      callTimeoutMs: FAILING_CALL_TIMEOUT_MS,
    });
    const cause = await rejectsAsRefused(client, 'authentication-failed');
    assert.match(String(cause), /etcdserver: user name is empty/);
  });
});

describe('etcd with TLS on the client port', () => {
  let certificates: TestCertificates;
  let ca: Buffer;
  let clientCert: Buffer;
  let clientKey: Buffer;

  before(async () => {
    certificates = await createTestCertificates();
    [ca, clientCert, clientKey] = await Promise.all(
      [certificates.caFile, certificates.clientCertFile, certificates.clientKeyFile].map((file) =>
        readFile(file),
      ),
    );
  });
  after(() => certificates?.remove());

  const serverTls = () => ({
    certFile: certificates.serverCertFile,
    keyFile: certificates.serverKeyFile,
  });

  describe('server certificate only', () => {
    let etcd: EtcdCluster;
    const clients = lockClients();

    before(async () => {
      etcd = await startEtcd({ tls: serverTls() });
    });
    afterEach(() => clients.closeAll());
    after(() => etcd?.stop());

    it('serves https:// endpoints', () => {
      assert.match(etcd.endpoints[0], /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    it('locks, excludes and cleans up when given the CA', { timeout: TEST_TIMEOUT_MS }, () =>
      assertLocksAndCleansUp(
        etcd.endpoints,
        clients.open({ endpoints: etcd.endpoints, tls: { ca } }),
        clients.open({ endpoints: etcd.endpoints, tls: { ca } }),
        { credentials: { rootCertificate: ca } },
      ),
    );

    it(
      'refuses a plain http:// connection to the TLS port, within callTimeoutMs',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const plain = etcd.endpoints.map((endpoint) => endpoint.replace(/^https:/, 'http:'));
        await rejectsAsUnavailable(
          clients.open({ endpoints: plain, callTimeoutMs: FAILING_CALL_TIMEOUT_MS }),
        );
        // http:// with `tls` is refused at construction: etcd3 would speak TLS to it anyway.
        assert.throws(
          () => clients.open({ endpoints: plain, tls: { ca } }),
          (error: unknown) => error instanceof LockConfigError && error.option === 'endpoints',
        );
      },
    );

    it(
      'rejects acquire when the CA is missing, as the server certificate is untrusted',
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        // No `tls` at all (etcd3 trusts the system roots for https://), and `tls` without `ca`.
        for (const tls of [undefined, {}]) {
          const cause = await rejectsAsUnavailable(
            clients.open({
              endpoints: etcd.endpoints,
              tls,
              callTimeoutMs: FAILING_CALL_TIMEOUT_MS,
            }),
          );
          assert.match(String(cause), /unable to verify the first certificate/);
        }
      },
    );
  });

  describe('client certificates required (--client-cert-auth)', () => {
    let etcd: EtcdCluster;
    const clients = lockClients();

    before(async () => {
      etcd = await startEtcd({
        tls: { ...serverTls(), caFile: certificates.caFile, clientCertAuth: true },
      });
    });
    afterEach(() => clients.closeAll());
    after(() => etcd?.stop());

    it(
      'locks, excludes and cleans up with a client certificate',
      { timeout: TEST_TIMEOUT_MS },
      () => {
        const tls = { ca, cert: clientCert, key: clientKey };
        return assertLocksAndCleansUp(
          etcd.endpoints,
          clients.open({ endpoints: etcd.endpoints, tls }),
          clients.open({ endpoints: etcd.endpoints, tls }),
          { credentials: { rootCertificate: ca, certChain: clientCert, privateKey: clientKey } },
        );
      },
    );

    it('rejects acquire without a client certificate', { timeout: TEST_TIMEOUT_MS }, async () => {
      const cause = await rejectsAsUnavailable(
        clients.open({
          endpoints: etcd.endpoints,
          tls: { ca },
          callTimeoutMs: FAILING_CALL_TIMEOUT_MS,
        }),
      );
      // etcd's TLS alert: 'bad certificate' from Go ≤ 1.20, 'certificate required' from later ones.
      assert.match(String(cause), /bad certificate|certificate required/);
    });
  });
});
