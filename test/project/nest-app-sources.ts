/** Which Nest app a user would have: the Nest CLI's starter of that major version. */
export interface NestAppKind {
  /** Nest's major version. */
  readonly nest: 11 | 12;
  /**
   * ES modules (`"type": "module"`, Nest 12's starter) or CommonJS (Nest 11's starter: no `type`,
   * `module: nodenext`, extensionless relative imports; TypeScript 5.8+ lets it import zzlock's ES
   * module entry, and Node 20.19+ `require()`s it).
   */
  readonly esm: boolean;
}

/** Lines the app prints, read by the test: `READY <port>`, `RUN <fencing token>`, `SKIP report`. */
export const APP_LINES = {
  ready: /^READY (\d+)$/,
  run: /^RUN \d+$/,
  skip: /^SKIP report$/,
} as const;

/** The versions a new project of each major gets, as the Nest CLI's starter writes them. */
const DEPENDENCIES: Record<NestAppKind['nest'], Record<string, string>> = {
  11: {
    '@nestjs/common': '^11.0.1',
    '@nestjs/core': '^11.0.1',
    '@nestjs/platform-express': '^11.0.1',
    '@nestjs/schedule': '^6.0.0',
    '@nestjs/terminus': '^11.0.0',
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
  },
  12: {
    '@nestjs/common': '^12.0.0',
    '@nestjs/core': '^12.0.0',
    '@nestjs/platform-express': '^12.0.0',
    '@nestjs/schedule': '^12.0.0',
    '@nestjs/terminus': '^12.0.0',
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
  },
};

/** The starter's tsconfig.json of each major (Nest 12's with Node's types instead of Jest's). */
const TSCONFIG: Record<NestAppKind['nest'], Record<string, unknown>> = {
  11: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    sourceMap: true,
    outDir: './dist',
    baseUrl: './',
    incremental: true,
    skipLibCheck: true,
    strictNullChecks: true,
    forceConsistentCasingInFileNames: true,
    noImplicitAny: false,
    strictBindCallApply: false,
    noFallthroughCasesInSwitch: false,
  },
  12: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    types: ['node'],
    sourceMap: true,
    outDir: './dist',
    incremental: true,
    skipLibCheck: true,
    strict: true,
    strictPropertyInitialization: false,
  },
};

/**
 * The files of a Nest app that uses zzlock as the README shows: `ZZLockModule.forRoot` from
 * `ZZ_ENDPOINTS` and `ZZ_NAMESPACE`, a route under `@Locked('invoice')` (`GET /invoice`), a
 * `@Cron` job under `@Locked('report', { onBusy: 'skip' })` and terminus's `GET /health` with
 * `ZZLockHealthIndicator`. It builds with `npm run build` (tsc) and starts with `node dist/main.js`.
 * @param tarball The packed zzlock to depend on (`file:`).
 * @example
 * installProject('nest11', nestAppFiles({ nest: 11, esm: false }, tarball));
 */
export function nestAppFiles(kind: NestAppKind, tarball: string): Record<string, string> {
  const ext = kind.esm ? '.js' : '';
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'package.json': json({
      name: `nest${kind.nest}-app`,
      version: '0.0.1',
      private: true,
      ...(kind.esm ? { type: 'module' } : {}),
      scripts: { build: 'tsc -p tsconfig.build.json', 'start:prod': 'node dist/main' },
      dependencies: { ...DEPENDENCIES[kind.nest], zzlock: `file:${tarball}` },
      devDependencies: { '@types/node': '^20.19.0', typescript: '^5.7.3' },
    }),
    'tsconfig.json': json({ compilerOptions: TSCONFIG[kind.nest] }),
    'tsconfig.build.json': json({
      extends: './tsconfig.json',
      exclude: ['node_modules', 'test', 'dist', '**/*spec.ts'],
    }),
    'src/main.ts': `import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module${ext}';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  console.log(\`READY \${(app.getHttpServer().address() as AddressInfo).port}\`);
}
bootstrap();
`,
    'src/app.module.ts': `import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { ZZLockModule } from 'zzlock';
import { AppController } from './app.controller${ext}';
import { ReportsService } from './reports.service${ext}';

@Module({
  imports: [
    ScheduleModule.forRoot(),
    TerminusModule,
    ZZLockModule.forRoot({
      endpoints: (process.env.ZZ_ENDPOINTS ?? '').split(','),
      namespace: process.env.ZZ_NAMESPACE,
    }),
  ],
  controllers: [AppController],
  providers: [ReportsService],
})
export class AppModule {}
`,
    'src/app.controller.ts': `import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Locked, ZZLockHealthIndicator } from 'zzlock';

@Controller()
export class AppController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly zzlock: ZZLockHealthIndicator,
  ) {}

  @Get('invoice')
  @Locked('invoice', 10)
  sendInvoice() {
    return { sent: true };
  }

  @Get('health')
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.zzlock.isHealthy('etcd')]);
  }
}
`,
    'src/reports.service.ts': `import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { Locked, LockService } from 'zzlock';

@Injectable()
export class ReportsService {
  constructor(private readonly locks: LockService) {
    locks.observe({ skipped: (event) => console.log(\`SKIP \${event.name}\`) });
  }

  @Cron('* * * * * *')
  @Locked('report', { ttl: 5, onBusy: 'skip' })
  buildReport() {
    console.log(\`RUN \${this.locks.current('report').fencingToken}\`);
  }
}
`,
  };
}
