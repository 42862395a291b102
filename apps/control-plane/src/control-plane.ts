import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { BadRequestException } from '../../../libs/mesh-model/src/errors';
import { createDataSource, migrate } from '../../../libs/persistence/src/data-source';
import {
  startEmbeddedPostgres,
  type RunningDatabase,
} from '../../../libs/persistence/src/embedded-postgres';
import { AdminApiModule } from '../../admin-api/src/admin-api.module';
import { sendAppMeshError } from '../../admin-api/src/app-mesh-exception.filter';
import type { TrellisConfig } from './config';

export interface ControlPlane {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:8080`. */
  httpUrl: string;
  /** Stops accepting, finishes in-flight requests, then closes the database. */
  close(): Promise<void>;
}

export async function startControlPlane(
  config: TrellisConfig,
  logger: Logger,
): Promise<ControlPlane> {
  const database: RunningDatabase = config.databaseUrl
    ? {
        url: config.databaseUrl,
        description: describeUrl(config.databaseUrl),
        stop: () => Promise.resolve(),
      }
    : await startEmbeddedPostgres(config.dataDir, logger, config.embeddedPostgresPort);
  const dataSource = createDataSource(database.url, config.databasePoolSize);
  try {
    await dataSource.initialize();
    await migrate(dataSource);
    const app = await NestFactory.create<NestExpressApplication>(
      AdminApiModule.register({
        options: { region: config.region, accountId: config.accountId, limits: config.limits },
        dataSource,
        logger,
      }),
      { bodyParser: false, bufferLogs: true },
    );
    app.useLogger(app.get(NestPinoLogger));
    app.disable('x-powered-by');
    app.set('etag', false);
    // Every body is JSON whatever its Content-Type: the AWS CLI and SDKs always send JSON.
    app.use(express.json({ type: () => true, limit: '1mb', strict: true }));
    app.use(bodyParseErrors);
    await app.listen(config.httpPort, config.httpHost);
    const address = app.getHttpServer().address() as AddressInfo;
    const httpUrl = `http://${config.httpHost}:${address.port}`;
    logger.info(
      { http: httpUrl, database: database.description },
      `Trellis admin API listening on ${httpUrl}`,
    );
    return {
      httpUrl,
      close: async () => {
        await app.close();
        await dataSource.destroy();
        await database.stop();
        logger.info('Trellis stopped');
      },
    };
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
    throw error;
  }
}

/** Malformed or oversized JSON never reaches a controller; it gets App Mesh's 400. */
function bodyParseErrors(
  error: unknown,
  _request: Request,
  response: Response,
  next: NextFunction,
): void {
  const type = (error as { type?: unknown } | undefined)?.type;
  if (type === 'entity.parse.failed') {
    sendAppMeshError(
      response,
      new BadRequestException(`The request body is not valid JSON: ${(error as Error).message}`),
    );
  } else if (type === 'entity.too.large') {
    sendAppMeshError(response, new BadRequestException('The request body is larger than 1 MB'));
  } else {
    next(error);
  }
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
