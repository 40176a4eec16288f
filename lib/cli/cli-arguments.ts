import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ZZLOCK_DEFAULTS } from '../core/defaults.js';
import type { LockClientOptions } from '../core/lock-options.js';
import { CliUsageError } from './cli-usage.error.js';

/** What the `zzlock` bin lists: `locks` (with holders and waiters) or `elections` (leaders). */
export type CliCommand = 'locks' | 'elections';

/** A command line of the `zzlock` bin, checked: what to list, how, and from which etcd. */
export interface CliRequest {
  readonly command: CliCommand;
  /** `--json`: one JSON array instead of a table. */
  readonly json: boolean;
  /** The client options the flags give, not yet resolved (`LockClient` checks them further). */
  readonly client: LockClientOptions;
}

/** The environment variable a password can come from, so that it shows in no process list. */
export const PASSWORD_ENV = 'ZZLOCK_PASSWORD';

/** `zzlock --help`. */
export const CLI_USAGE = `Usage: zzlock <locks|elections> --endpoints URL[,URL...] [options]

Lists every lock of a zzlock namespace (mode, holders with owner, lease, fencing token and
seconds left on the lease, and how many wait), or every election (leader, term, candidates
waiting). Read-only: one read of etcd, then a lease lookup per holder.

Options:
  --endpoints URL[,URL]  etcd client URLs, http:// or https:// (required)
  --namespace NS         key prefix of the locks, ending in '/' (default: ${ZZLOCK_DEFAULTS.namespace})
  --json                 print a JSON array instead of a table
  --username NAME        etcd user; the password comes from --password-file, the
                         ${PASSWORD_ENV} environment variable, or --password
  --password-file PATH   file holding the password (a trailing newline is ignored)
  --password PASSWORD    the password itself (visible to other users in the process list)
  --cacert PATH          CA certificate (PEM) that etcd's server certificate chains to
  --cert PATH            client certificate (PEM), with --key
  --key PATH             the client certificate's private key (PEM)
  --timeout-ms MS        deadline of each call to etcd (default: ${ZZLOCK_DEFAULTS.callTimeoutMs})
  -h, --help             this help

Exit codes: 0 listed, 1 etcd failed or refused the read, 2 bad command line.
`;

const OPTIONS = {
  endpoints: { type: 'string' },
  namespace: { type: 'string' },
  json: { type: 'boolean' },
  username: { type: 'string' },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'timeout-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS: readonly CliCommand[] = ['locks', 'elections'];

/**
 * Parses the `zzlock` bin's arguments (after `node zzlock.js`) into a request, reading the files
 * it names; `'help'` for `-h`/`--help`. Every value is checked before any network call; an error
 * names the flag and never shows a password, a key or a file's content.
 * @throws CliUsageError naming the flag that is wrong (the client options are checked by
 *   `LockClient`)
 * @example
 * parseCliArguments(['locks', '--endpoints', 'http://127.0.0.1:2379', '--json'], process.env);
 * // { command: 'locks', json: true, client: { endpoints: ['http://127.0.0.1:2379'] } }
 */
export function parseCliArguments(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliRequest | 'help' {
  const { values, positionals } = parseFlags(argv);
  if (values.help === true) return 'help';
  const [command, ...extra] = positionals;
  if (command === undefined || !COMMANDS.includes(command as CliCommand)) {
    throw new CliUsageError(
      'command',
      command === undefined
        ? `give a command, ${COMMANDS.join(' or ')}`
        : `unknown command ${JSON.stringify(command)}: give ${COMMANDS.join(' or ')}`,
    );
  }
  if (extra.length > 0) {
    // Not echoed: a stray word may be a value that lost its flag (a password, say).
    throw new CliUsageError(
      'command',
      `one command and flags are taken; ${extra.length} more argument(s) were given`,
    );
  }
  if (values.endpoints === undefined) {
    throw new CliUsageError('--endpoints', 'give the etcd URLs, e.g. http://127.0.0.1:2379');
  }
  const client: LockClientOptions = {
    endpoints: values.endpoints.split(',').map((endpoint) => endpoint.trim()),
    ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
    ...(values['timeout-ms'] === undefined
      ? {}
      : { callTimeoutMs: timeoutOf(values['timeout-ms']) }),
    ...authOf(values, env),
    ...tlsOf(values),
  };
  return { command: command as CliCommand, json: values.json === true, client };
}

type Flags = ReturnType<typeof parseFlags>['values'];

/** node:util's parseArgs, its errors told as ours: they name the flag, never its value. */
function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? 'arguments';
    const code = (error as { code?: string }).code;
    const problem =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? 'no such flag'
        : /argument missing/.test(message)
          ? 'this flag needs a value'
          : /does not take an argument/.test(message)
            ? 'this flag takes no value'
            : /ambiguous/.test(message)
              ? `its value starts with '-': give it as ${flag}=VALUE`
              : 'not understood';
    throw new CliUsageError(flag, problem);
  }
}

function timeoutOf(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1) {
    throw new CliUsageError(
      '--timeout-ms',
      `a whole number of milliseconds, 1 or more (got ${JSON.stringify(text)})`,
    );
  }
  return ms;
}

/** `auth` from --username and one source of password; none of them is ever echoed. */
function authOf(values: Flags, env: Readonly<Record<string, string | undefined>>) {
  const given = [
    values.password !== undefined && '--password',
    values['password-file'] !== undefined && '--password-file',
  ].filter((flag): flag is string => flag !== false);
  if (given.length > 1) {
    throw new CliUsageError('--password', 'give one of --password and --password-file');
  }
  if (values.username === undefined) {
    if (given.length > 0) {
      throw new CliUsageError(given[0], 'a password goes with --username');
    }
    return {};
  }
  let password = values.password ?? env[PASSWORD_ENV];
  const file = values['password-file'];
  if (file !== undefined) password = readText(file, '--password-file').replace(/\r?\n$/, '');
  if (password === undefined) {
    throw new CliUsageError(
      '--username',
      `a password is needed too: --password-file, ${PASSWORD_ENV} or --password`,
    );
  }
  return { auth: { username: values.username, password } };
}

/** `tls` from the PEM files named; `{}` when none is. */
function tlsOf(values: Flags) {
  const files = { ca: values.cacert, cert: values.cert, key: values.key };
  if (Object.values(files).every((file) => file === undefined)) return {};
  const read = (file: string | undefined, flag: string) =>
    file === undefined ? {} : readPem(file, flag);
  return {
    tls: {
      ...read(files.ca, '--cacert'),
      ...read(files.cert, '--cert'),
      ...read(files.key, '--key'),
    },
  };
}

function readPem(file: string, flag: string): Partial<Record<'ca' | 'cert' | 'key', Buffer>> {
  const pem = Buffer.from(readText(file, flag));
  const field = flag === '--cacert' ? 'ca' : flag === '--cert' ? 'cert' : 'key';
  return { [field]: pem };
}

/** A file's text; an unreadable one is a usage error naming the flag and the path, not the content. */
function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as { code?: string }).code ?? 'unreadable';
    throw new CliUsageError(flag, `cannot read ${JSON.stringify(file)} (${reason})`);
  }
}
