import { LockConfigError } from '../core/errors/lock-config.error.js';
import { LockClient } from '../core/lock-client.js';
import { resolveClientOptions } from '../core/validation.js';
import { CLI_USAGE, parseCliArguments } from './cli-arguments.js';
import { CliUsageError } from './cli-usage.error.js';
import { electionsJson, locksJson } from './inspection-json.js';
import { electionsTable, locksTable } from './inspection-table.js';

/**
 * Exit codes of the `zzlock` bin: `0` listed, `1` etcd failed or refused the read (or anything
 * else went wrong), `2` a bad command line (nothing was sent to etcd).
 */
export const CLI_EXIT_CODES = { listed: 0, failed: 1, usage: 2 } as const;

/** Where the bin writes, and what it reads its password from. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Runs the `zzlock` bin on `argv` (the arguments after the script): checks the flags, reads the
 * namespace once through a `LockClient` (which it closes), prints the table or the JSON and
 * resolves the exit code. Never rejects: errors go to `stderr` as their message alone, which
 * never shows a password, a key or credentials in a URL.
 * @example
 * process.exitCode = await runCli(['locks', '--endpoints', 'http://127.0.0.1:2379'], {
 *   stdout: (text) => process.stdout.write(text),
 *   stderr: (text) => process.stderr.write(text),
 *   env: process.env,
 * });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let client: LockClient | undefined;
  try {
    const request = parseCliArguments(argv, io.env);
    if (request === 'help') {
      io.stdout(CLI_USAGE);
      return CLI_EXIT_CODES.listed;
    }
    const { namespace } = resolveClientOptions(request.client);
    client = new LockClient(request.client);
    const { locks, elections } = await client.inspect();
    if (request.command === 'locks') {
      io.stdout(
        request.json
          ? `${JSON.stringify(locksJson(locks), null, 2)}\n`
          : locksTable(locks, namespace),
      );
    } else {
      io.stdout(
        request.json
          ? `${JSON.stringify(electionsJson(elections), null, 2)}\n`
          : electionsTable(elections, namespace),
      );
    }
    return CLI_EXIT_CODES.listed;
  } catch (error) {
    io.stderr(`zzlock: ${error instanceof Error ? error.message : String(error)}\n`);
    const usage = error instanceof CliUsageError || error instanceof LockConfigError;
    return usage ? CLI_EXIT_CODES.usage : CLI_EXIT_CODES.failed;
  } finally {
    await client?.close();
  }
}
