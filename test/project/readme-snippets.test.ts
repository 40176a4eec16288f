// The README's health and metrics snippets work as a user pastes them: each fenced block after a
// `<!-- readme-check: NAME … -->` marker is written to a temporary folder in the project, compiled
// by tsc (strict, decorator metadata, NodeNext) with `zzlock` resolved to lib/, and the emitted
// JavaScript is served by a Nest app on Express with a memory store: /metrics answers with
// prom-client's content type (what Prometheus expects; a bare `return register.metrics()` gets
// text/html), /health is up. Starts no etcd, but is in the etcd tier for the seconds tsc takes.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { register } from 'prom-client';
import ts from 'typescript';
import { LockService, ZZLockModule } from '../../lib/index.js';
import { repositoryRoot } from './repository-root.js';

const root = repositoryRoot(import.meta.url);
const SNIPPETS = ['health', 'metrics'] as const;

/** The TypeScript block that follows `<!-- readme-check: name … -->` in the README. */
function snippet(readme: string, name: string): string {
  const marker = new RegExp(
    `<!-- readme-check: ${name}\\b[^>]*-->\\s*\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``,
  );
  const match = marker.exec(readme);
  assert.ok(match, `README.md has no \`\`\`ts block after <!-- readme-check: ${name} -->`);
  return `${match[1]}\n`;
}

/** Compiles `files` as the project does, `zzlock` being lib/; the diagnostics, formatted. */
function compile(files: string[]): string {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    noEmitOnError: true,
    // No outDir: each snippet's JavaScript lands beside it.
    paths: { zzlock: [join(root, 'lib', 'index.ts')] },
  };
  const program = ts.createProgram(files, options);
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  // Emit the snippets only: lib/ is already built, and the snippets import it as `zzlock`.
  for (const file of diagnostics.length > 0 ? [] : files) {
    diagnostics.push(...program.emit(program.getSourceFile(file)).diagnostics);
  }
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

describe('README snippets (health, metrics)', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  // Inside the project, so that `zzlock` resolves to this package (its exports) at run time.
  const dir = mkdtempSync(join(root, 'dist', '.readme-snippets-'));
  let app: INestApplication | undefined;
  let base: string;

  before(() => {
    for (const name of SNIPPETS) writeFileSync(join(dir, `${name}.ts`), snippet(readme, name));
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('compile with tsc against lib/ (imports, constructor, decorators and all)', () => {
    const diagnostics = compile(SNIPPETS.map((name) => join(dir, `${name}.ts`)));
    assert.equal(diagnostics, '', diagnostics);
  });

  it('serve /metrics with prom-client’s content type, and /health, from a running app', async () => {
    const load = async (name: string): Promise<Record<string, Type>> =>
      (await import(pathToFileURL(join(dir, `${name}.js`)).href)) as Record<string, Type>;
    const { HealthModule } = await load('health');
    const { MetricsController } = await load('metrics');
    assert.ok(HealthModule && MetricsController, 'the snippets export what the README says');

    @Module({
      imports: [ZZLockModule.forRoot({ store: 'memory' }), HealthModule],
      controllers: [MetricsController],
    })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    await app.get(LockService).withLock('report', () => undefined, { label: 'report' });

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), register.contentType);
    assert.match(register.contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(
      await metrics.text(),
      /^zzlock_acquire_duration_seconds_count\{lock="report",mode="exclusive",outcome="acquired"\} 1$/m,
    );

    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; info: Record<string, unknown> };
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.info['etcd'], { status: 'up', store: 'memory' });
  });
});
