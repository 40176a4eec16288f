#!/usr/bin/env node
/**
 * The `zzlock` bin: `npx zzlock locks --endpoints URL` lists who holds and who waits for every
 * lock of a namespace, `npx zzlock elections …` who leads each election. See `zzlock --help`.
 * @packageDocumentation
 */
import { runCli } from './run-cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
});
