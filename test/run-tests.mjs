#!/usr/bin/env node
// Runs every compiled test file (unit specs beside the code, e2e and fault tests under test/)
// with Node's built-in test runner, one file at a time: each file starts its own real etcd.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist');
const only = process.argv.slice(2);

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : collect(path);
    return /\.(test|spec)\.js$/.test(entry.name) ? [path] : [];
  });
}

const files = collect(dist)
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();
console.log(
  `Running ${files.length} test files: ${files.map((f) => relative(dist, f)).join(', ')}`,
);
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
