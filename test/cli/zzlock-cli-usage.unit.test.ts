// The `zzlock` bin's command line: help, and every bad command line refused with exit code 2 and
// a message naming the flag, before any connection to etcd (a listener on the endpoint sees none)
// and without ever printing a password or a key. The unit tier: no etcd (listing a real one is in
// zzlock-cli.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { repositoryRoot } from '../project/repository-root.js';

const bin = fileURLToPath(new URL('../../lib/cli/zzlock.js', import.meta.url));
const SECRET = 'hunter2-Secret';

async function zzlock(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, ZZLOCK_PASSWORD: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe('the zzlock command line', () => {
  let listener: Server;
  let connections = 0;
  let endpoint: string;
  let dir: string;

  before(async () => {
    listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    endpoint = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'zzlock-cli-'));
    await writeFile(join(dir, 'cert.pem'), 'not a certificate');
  });
  after(async () => {
    listener.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is the package’s `zzlock` bin, a Node script', async () => {
    const root = repositoryRoot(import.meta.url);
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      files: string[];
    };
    assert.equal(resolve(root, pkg.bin.zzlock), bin);
    assert.ok(
      pkg.files.some((dir) => pkg.bin.zzlock.startsWith(`./${dir}/`)),
      'shipped',
    );
    assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('prints its help on --help and -h, exit code 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await zzlock([flag]);
      assert.equal(code, 0);
      assert.equal(stderr, '');
      assert.match(stdout, /^Usage: zzlock <locks\|elections> --endpoints URL/);
      assert.match(
        stdout,
        /Exit codes: 0 listed, 1 etcd failed or refused the read, 2 bad command line/,
      );
    }
  });

  const cases: [string, () => string[], RegExp][] = [
    [
      'no command',
      () => ['--endpoints', endpoint],
      /^zzlock: command: give a command, locks or elections\./,
    ],
    ['an unknown command', () => ['lcks', '--endpoints', endpoint], /unknown command "lcks"/],
    [
      'a stray argument, not echoed',
      () => ['locks', SECRET, '--endpoints', endpoint],
      /1 more argument\(s\)/,
    ],
    ['no --endpoints', () => ['locks'], /^zzlock: --endpoints: give the etcd URLs/],
    [
      'an unknown flag, its value not echoed',
      () => ['locks', '--endpoints', endpoint, `--passwd=${SECRET}`],
      /^zzlock: --passwd: no such flag\./,
    ],
    [
      'a flag without its value',
      () => ['locks', '--endpoints'],
      /^zzlock: --endpoints: this flag needs a value/,
    ],
    [
      'a value on a boolean flag',
      () => ['locks', '--endpoints', endpoint, '--json=yes'],
      /--json: this flag takes no value/,
    ],
    [
      'a value that looks like a flag',
      () => ['locks', '--endpoints', endpoint, '--username', 'u', '--password', `-${SECRET}`],
      /--password: its value starts with '-': give it as --password=VALUE/,
    ],
    [
      'a bad timeout',
      () => ['locks', '--endpoints', endpoint, '--timeout-ms', '1.5'],
      /--timeout-ms: a whole number of milliseconds/,
    ],
    [
      'a password without a user',
      () => ['locks', '--endpoints', endpoint, '--password', SECRET],
      /--password: a password goes with --username/,
    ],
    [
      'two passwords',
      () => [
        'locks',
        '--endpoints',
        endpoint,
        '--username',
        'u',
        '--password',
        SECRET,
        '--password-file',
        '/x',
      ],
      /give one of --password and --password-file/,
    ],
    [
      'a user without a password',
      () => ['locks', '--endpoints', endpoint, '--username', 'u'],
      /--username: a password is needed too/,
    ],
    [
      'an unreadable file',
      () => ['locks', '--endpoints', endpoint, '--cacert', join(dir, 'missing.pem')],
      /--cacert: cannot read ".*missing\.pem" \(ENOENT\)/,
    ],
    [
      'a certificate without its key',
      () => [
        'locks',
        '--endpoints',
        endpoint.replace('http:', 'https:'),
        '--cert',
        join(dir, 'cert.pem'),
      ],
      /a client certificate needs its key/,
    ],
    [
      'TLS files with an http:// endpoint',
      () => ['locks', '--endpoints', endpoint, '--cacert', join(dir, 'cert.pem')],
      /with tls, the endpoints are https:\/\/ URLs/,
    ],
    [
      'credentials in an endpoint URL, masked',
      () => ['locks', '--endpoints', endpoint.replace('//', `//root:${SECRET}@`)],
      /must not carry credentials/,
    ],
    [
      'a bad namespace',
      () => ['locks', '--endpoints', endpoint, '--namespace', 'no-slash'],
      /Invalid zzlock option "namespace"/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what}: exit code 2, nothing sent to etcd`, async () => {
      const { code, stdout, stderr } = await zzlock(args());
      assert.equal(code, 2, stderr);
      assert.equal(stdout, '');
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, new RegExp(SECRET));
      assert.equal(connections, 0, 'no connection was opened to the endpoint');
    });
  }
});
