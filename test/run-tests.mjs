#!/usr/bin/env node
// Runs compiled test files with Node's built-in test runner, one file at a time: each file that
// needs etcd starts its own.
//   node test/run-tests.mjs [PART...]          every *.spec.js and *.test.js under dist/ (npm test)
//   node test/run-tests.mjs --unit [PART...]   the unit tier only (npm run test:unit): the specs
//       beside the code (*.spec.js) and *.unit.test.js, which start no etcd; etcd is made
//       unavailable to them, so one that tries fails instead of silently leaving the tier.
// PART keeps only the files whose path contains one of the words.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist');
const unit = process.argv.includes('--unit');
const only = process.argv.slice(2).filter((arg) => arg !== '--unit');
const pattern = unit ? /\.(spec|unit\.test)\.js$/ : /\.(test|spec)\.js$/;

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : collect(path);
    return pattern.test(entry.name) ? [path] : [];
  });
}

const files = collect(dist)
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();
console.log(
  `Running ${files.length} ${unit ? 'unit ' : ''}test files: ${files.map((f) => relative(dist, f)).join(', ')}`,
);
// The harness starts `ETCD_BIN` (default `etcd`): in the unit tier, a binary that does not exist.
const env = unit
  ? { ...process.env, ETCD_BIN: '/nonexistent/etcd-is-not-started-in-the-unit-tier' }
  : process.env;
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
