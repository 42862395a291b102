import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { createDataSource, migrate } from '../../../libs/persistence/src/data-source';
import {
  startEmbeddedPostgres,
  type RunningDatabase,
} from '../../../libs/persistence/src/embedded-postgres';
import { AdminApiModule } from '../../admin-api/src/admin-api.module';
import { crossSiteGuard } from '../../admin-api/src/cross-site';
import { refuseNulInUrl, requestBody } from '../../admin-api/src/request-body';
import { startRolloutScheduler } from '../../admin-api/src/rollout-scheduler';
import { MeshConfigSource } from '../../xds-server/src/mesh-config-source';
import { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { startXdsRole, type XdsRole } from '../../xds-server/src/xds-role';
import type { ConfigSource } from '../../../libs/xds/src/config-source';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { TrellisConfig } from './config';
import { BoundedExpressAdapter } from './http-server';

export interface ControlPlane {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:8080`. */
  httpUrl: string;
  /** The xDS role, when this process runs it. */
  xds?: XdsRole;
  /** Stops accepting, finishes in-flight requests, then closes the database. */
  close(): Promise<void>;
}

export async function startControlPlane(
  config: TrellisConfig,
  logger: Logger,
  /** The xDS configuration source; by default the App Mesh resources in Postgres. */
  configSource?: (dataSource: DataSource) => ConfigSource,
): Promise<ControlPlane> {
  const database: RunningDatabase = config.databaseUrl
    ? {
        url: config.databaseUrl,
        description: describeUrl(config.databaseUrl),
        stop: () => Promise.resolve(),
      }
    : await startEmbeddedPostgres(config.dataDir, logger, config.embeddedPostgresPort);
  const dataSource = createDataSource(database.url, config.databasePoolSize);
  let xdsRole: XdsRole | undefined;
  try {
    await dataSource.initialize();
    await migrate(dataSource);
    xdsRole = config.roles.has('xds')
      ? await startXdsRole(
          config.xds,
          configSource
            ? configSource(dataSource)
            : new MeshConfigSource(new MeshReader(dataSource), logger, {
                databaseUrl: database.url,
                tracing: config.tracing,
                resyncMs: config.resyncMs,
              }),
          dataSource,
          logger,
        )
      : undefined;
    const xds = xdsRole;
    const metrics = Registry.merge([
      processMetrics(),
      ...(xds ? [xds.engine.metrics.registry] : []),
    ]);
    const app = await NestFactory.create<NestExpressApplication>(
      AdminApiModule.register({
        options: {
          region: config.region,
          accountId: config.accountId,
          limits: config.limits,
          proxyStatusGraceSeconds: config.xds.statusGraceSeconds,
          xdsAddress: config.xdsAdvertise ?? {
            host: ['0.0.0.0', '::'].includes(config.xds.host) ? '127.0.0.1' : config.xds.host,
            port: xds?.port ?? config.xds.port,
          },
        },
        dataSource,
        logger,
        metrics,
        serveApi: config.roles.has('admin'),
      }),
      new BoundedExpressAdapter(config.httpLimits),
      { bodyParser: false, bufferLogs: true },
    );
    app.useLogger(app.get(NestPinoLogger));
    app.disable('x-powered-by');
    app.set('etag', false);
    // Before any controller: hostile requests are refused here (docs/operations.md).
    app.use(crossSiteGuard(config.crossSite));
    app.use(refuseNulInUrl);
    app.use(requestBody(config.httpLimits));
    await app.listen(config.httpPort, config.httpHost);
    const rollouts = config.roles.has('admin')
      ? startRolloutScheduler(
          app,
          { databaseUrl: database.url, tickMs: config.rolloutTickMs },
          logger,
        )
      : undefined;
    const address = app.getHttpServer().address() as AddressInfo;
    const httpUrl = `http://${config.httpHost}:${address.port}`;
    const xdsAddress = xds ? `${config.xds.host}:${xds.port}` : undefined;
    logger.info(
      { http: httpUrl, xds: xdsAddress, roles: [...config.roles], database: database.description },
      `Trellis listening: ${config.roles.has('admin') ? 'App Mesh API' : 'probes'} on ${httpUrl}` +
        (xdsAddress ? `, xDS on ${xdsAddress}` : '') +
        `; database: ${database.description}`,
    );
    return {
      httpUrl,
      xds,
      close: async () => {
        // Before the database goes: the scheduler finishes its step and releases its lock.
        await rollouts?.stop();
        await app.close();
        await xds?.close();
        await dataSource.destroy();
        await database.stop();
        logger.info('Trellis stopped');
      },
    };
  } catch (error) {
    await xdsRole?.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
    throw error;
  }
}

/** Node.js process metrics (CPU, memory, event loop) in a registry of this process. */
function processMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'trellis_' });
  return registry;
}

/** The database URL as logged: host, port and database, never the password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres at ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'postgres from DATABASE_URL';
  }
}
