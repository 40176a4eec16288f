import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import { LockService } from '../lib/index.js';
import { readEtcdSettings } from './sample-config.js';

/** Deadline of each data call to etcd, in ms. */
const DATA_CALL_TIMEOUT_MS = 5_000;

/** A value read from etcd with the revision it was last written at. */
export interface VersionedValue<T> {
  /** The parsed JSON value. */
  readonly value: T;
  /** etcd's `mod_revision` of the key (decimal string): compare it to write only over this read. */
  readonly modRevision: string;
}

/**
 * The sample app's own data in etcd, stored as plain JSON under the data prefix (see
 * `EtcdSettings.dataPrefix`). It has its own etcd3 client: the lock library's is internal.
 */
@Injectable()
export class EtcdDataStore implements OnApplicationShutdown {
  readonly #client: Etcd3;
  /** Created once: each etcd3 namespace opens its own watch manager. */
  readonly #data: Namespace;

  constructor(
    config: ConfigService,
    private readonly locks: LockService,
  ) {
    const settings = readEtcdSettings(config);
    const options: IOptions = {
      hosts: settings.endpoints,
      // etcd3 ignores dialTimeout: a deadline on each unary call keeps a dead etcd from hanging us.
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + DATA_CALL_TIMEOUT_MS },
    };
    if (settings.auth) options.auth = settings.auth;
    if (settings.tls) {
      options.credentials = {
        rootCertificate: settings.tls.ca as Buffer,
        certChain: settings.tls.cert,
        privateKey: settings.tls.key,
      };
    }
    this.#client = new Etcd3(options);
    this.#data = this.#client.namespace(settings.dataPrefix);
  }

  /** Reads one JSON value and its mod revision; `undefined` when the key does not exist. */
  async read<T>(key: string): Promise<VersionedValue<T> | undefined> {
    const response = await this.#data.get(key).exec();
    const kv = response.kvs[0];
    if (kv === undefined) return undefined;
    return { value: JSON.parse(kv.value.toString()) as T, modRevision: kv.mod_revision };
  }

  /** Reads every JSON value whose key starts with `prefix`, keyed by the rest of the key. */
  async readAll<T>(prefix: string): Promise<Map<string, T>> {
    const values = await this.#data.getAll().prefix(prefix).strings();
    return new Map(
      Object.entries(values).map(([key, value]) => [
        key.slice(prefix.length),
        JSON.parse(value) as T,
      ]),
    );
  }

  /** Creates a key holding `value`; false when it exists already. */
  async create(key: string, value: unknown): Promise<boolean> {
    const response = await this.#data
      .if(key, 'Create', '==', 0)
      .then(this.#data.put(key).value(JSON.stringify(value)))
      .commit();
    return response.succeeded;
  }

  /**
   * Writes `value` only if the key was not written since `modRevision` (compare-and-swap).
   * @returns true when written, false when someone wrote the key in between
   */
  async replaceIfUnchanged(key: string, value: unknown, modRevision: string): Promise<boolean> {
    const response = await this.#data
      .if(key, 'Mod', '==', modRevision)
      .then(this.#data.put(key).value(JSON.stringify(value)))
      .commit();
    return response.succeeded;
  }

  /** Writes `value` unconditionally: last writer wins (the unlocked twin's mistake). */
  async overwrite(key: string, value: unknown): Promise<void> {
    await this.#data.put(key).value(JSON.stringify(value)).exec();
  }

  /**
   * Closes the data client when the app shuts down, once zzlock has shut down: Nest runs this hook
   * before ZZLockModule's (a global module's hooks run last), and a locked grab or settlement
   * still running needs the client until it finishes. `shutdown()` lets holders finish (within
   * `shutdownGraceMs`) and is the same promise ZZLockModule awaits after us.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.locks.shutdown();
    this.#client.close();
  }
}
