#!/usr/bin/env node
// Removes dist/ before every build (package, tests, demo, bench, chaos), so nothing compiled from a
// deleted or renamed source survives: the test runner runs every *.test.js it finds under dist/,
// and the package ships dist/lib as it is. Plain Node, no dependencies, any platform.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
