import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { collectDefaultMetrics } from 'prom-client';
import { AppModule } from './app.module.js';
import { readServerSettings } from './sample-config.js';

/**
 * Starts one replica of the sample app: `node dist/sample-app/main.js`, configured by the
 * environment (ZZLOCK_ENDPOINTS, ZZLOCK_NAMESPACE, PORT, HOST, REPLICA_ID, …).
 */
async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // On SIGTERM/SIGINT: refuse new lock acquisitions (a grab still waiting answers 503), close the
  // HTTP server, let holders finish, close the data client, delete lock keys, revoke leases.
  app.enableShutdownHooks();
  collectDefaultMetrics();
  const { port, host, replicaId } = readServerSettings(app.get(ConfigService));
  await app.listen(port, host);
  new Logger('SampleApp').log(`${replicaId} listening on http://${host}:${port}`);
}

await bootstrap();
