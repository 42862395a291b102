import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
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
import { Readiness } from '../../admin-api/src/http/readiness';
import { crossSiteGuard } from '../../admin-api/src/http/cross-site';
import { refuseNulInUrl, requestBody } from '../../admin-api/src/http/request-body';
import { startRolloutScheduler } from '../../admin-api/src/rollouts/rollout-scheduler';
import { serveConsole } from '../../admin-api/src/console/console-files';
import { MeshConfigSource } from '../../xds-server/src/mesh-config-source';
import { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { RegistryStore } from '../../../libs/persistence/src/registry-store';
import { RegistryEndpoints } from '../../xds-server/src/registry-endpoints';
import { startXdsRole, type XdsRole } from '../../xds-server/src/xds-role';
import type { ConfigSource } from '../../../libs/xds/src/config-source';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { AccessControl } from '../../../libs/access/src/access-control';
import { AccessKeyCache } from '../../../libs/access/src/access-key-cache';
import { Authenticator } from '../../../libs/access/src/authenticator';
import { CertificateFiles } from '../../../libs/access/src/certificate-files';
import { KeyRateLimiter } from '../../../libs/access/src/rate-limiter';
import { AccessKeyStore } from '../../../libs/persistence/src/access-key-store';
import { loadMasterKey } from '../../../libs/persistence/src/master-key';
import { requestAuthentication } from '../../admin-api/src/access/request-authentication';
import { StreamAuthorization } from '../../xds-server/src/stream-authorization';
import { ConfigError, type TrellisConfig } from './config';
import { CertificateStore } from '../../../libs/persistence/src/certificate-store';
import { certificateMetrics } from '../../admin-api/src/certificates/certificates.service';
import { ServedCertificates } from '../../xds-server/src/served-certificates';
import { BoundedExpressAdapter } from './http-server';

export interface ControlPlane {
  /** Base URL of the REST API, e.g. `http://127.0.0.1:8080`. */
  httpUrl: string;
  /** The xDS role, when this process runs it. */
  xds?: XdsRole;
  /** The Nest application serving the REST API (tests read its routes). */
  app: NestExpressApplication;
  /**
   * Shuts down in order: /readyz turns 503, the xDS role moves its proxies to other replicas over
   * the drain window (unless `drain` is false), the REST API finishes in-flight requests, then
   * the database closes.
   */
  close(options?: { drain?: boolean }): Promise<void>;
  /** Resolves when the embedded database has failed for good: the process should exit non-zero. */
  databaseFailed: Promise<Error>;
}

/** TRELLIS_ROLES=migrate: applies pending migrations (under the migration lock) and returns. */
export async function migrateDatabase(config: TrellisConfig, logger: Logger): Promise<void> {
  const database = await openDatabase(config, logger);
  const dataSource = createDataSource(database.url, 2);
  try {
    await dataSource.initialize();
    const pending = await dataSource.showMigrations();
    await migrate(dataSource);
    logger.info(
      { database: database.description },
      pending ? 'migrations applied' : 'no migration pending',
    );
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
  }
}

function openDatabase(config: TrellisConfig, logger: Logger): Promise<RunningDatabase> {
  return config.databaseUrl
    ? Promise.resolve({
        url: config.databaseUrl,
        description: describeUrl(config.databaseUrl),
        health: () => 'up' as const,
        failed: new Promise<Error>(() => undefined),
        stop: () => Promise.resolve(),
      })
    : startEmbeddedPostgres(config.dataDir, logger, config.embeddedPostgresPort);
}

export async function startControlPlane(
  config: TrellisConfig,
  logger: Logger,
  /** The xDS configuration source; by default the App Mesh resources in Postgres. */
  configSource?: (dataSource: DataSource) => ConfigSource,
): Promise<ControlPlane> {
  const database = await openDatabase(config, logger);
  const dataSource = createDataSource(database.url, {
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  });
  let xdsRole: XdsRole | undefined;
  let keyCache: AccessKeyCache | undefined;
  try {
    const masterKey = masterKeyOf(config);
    await dataSource.initialize();
    if (config.migrations === 'serve') await migrate(dataSource);
    const accessKeys = new AccessKeyStore(dataSource, masterKey);
    // Imported certificates' private keys are sealed with the same master key.
    const sealingKey = (): Buffer => {
      if (!masterKey) throw new Error(MISSING_MASTER_KEY);
      return masterKey;
    };
    // One per reader: `refresh()` reports what changed since that reader's last look.
    const servedCertificates = (): ServedCertificates =>
      new ServedCertificates(new CertificateStore(dataSource), sealingKey, logger);
    let access: AccessControl | undefined;
    if (config.auth.enabled) {
      keyCache = new AccessKeyCache(accessKeys);
      await keyCache.listen(database.url, logger);
      access = new AccessControl(
        keyCache,
        new Authenticator(keyCache, { allowSessionTokens: config.auth.allowSessionTokens }),
        new KeyRateLimiter(config.auth.defaultRequestsPerSecond),
        logger,
      );
    }
    xdsRole = config.roles.has('xds')
      ? await startXdsRole(
          config.xds,
          configSource
            ? configSource(dataSource)
            : new MeshConfigSource(new MeshReader(dataSource), logger, {
                databaseUrl: database.url,
                accountId: config.accountId,
                tracing: config.tracing,
                resyncMs: config.resyncMs,
                certificates: servedCertificates(),
                registry: new RegistryEndpoints(new RegistryStore(dataSource), logger, {
                  databaseUrl: database.url,
                  resyncMs: config.resyncMs,
                }),
              }),
          dataSource,
          logger,
          {
            databaseUrl: database.url,
            resyncMs: config.resyncMs,
            certificates: servedCertificates(),
          },
          access &&
            new StreamAuthorization(access, {
              region: config.region,
              accountId: config.accountId,
              spiffeTrustDomain: config.xds.tls?.spiffeTrustDomain,
            }),
        )
      : undefined;
    const xds = xdsRole;
    const readiness = new Readiness();
    const metrics = Registry.merge([
      processMetrics(),
      ...(xds ? [xds.engine.metrics.registry] : []),
      ...(access ? [access.registry] : []),
      ...(xds ? [xds.diagnostics.metrics] : []),
      ...(config.roles.has('admin') ? [certificateMetrics(new CertificateStore(dataSource))] : []),
    ]);
    const httpTls = config.httpTls && new CertificateFiles(config.httpTls, logger);
    const app = await NestFactory.create<NestExpressApplication>(
      AdminApiModule.register({
        options: {
          region: config.region,
          accountId: config.accountId,
          limits: config.limits,
          proxyStatusGraceSeconds: config.xds.statusGraceSeconds,
          registryHistoryMs: config.registryHistoryMs,
          databaseHealth: () => database.health(),
          xdsAddress: config.xdsAdvertise ?? {
            host: ['0.0.0.0', '::'].includes(config.xds.host) ? '127.0.0.1' : config.xds.host,
            port: xds?.port ?? config.xds.port,
          },
          eventsHeartbeatMs: config.eventsHeartbeatMs,
          xdsSecurity: { tls: config.xds.tls !== undefined, sigv4: config.auth.enabled },
        },
        dataSource,
        logger,
        metrics,
        serveApi: config.roles.has('admin'),
        accessKeys,
        access,
        masterKey: sealingKey,
        readiness,
      }),
      new BoundedExpressAdapter(config.httpLimits),
      {
        bodyParser: false,
        bufferLogs: true,
        ...(httpTls
          ? { httpsOptions: { cert: httpTls.material.cert, key: httpTls.material.key } }
          : {}),
      },
    );
    app.useLogger(app.get(NestPinoLogger));
    app.disable('x-powered-by');
    app.set('etag', false);
    // Before any controller: hostile requests are refused here (docs/operations.md).
    app.use(crossSiteGuard(config.crossSite));
    app.use(refuseNulInUrl);
    app.use(requestBody(config.httpLimits));
    if (config.roles.has('admin')) serveConsole(app, logger);
    if (access) {
      app.use(
        requestAuthentication(
          access,
          { region: config.region, accountId: config.accountId },
          logger,
        ),
      );
    }
    await app.listen(config.httpPort, config.httpHost);
    const rollouts = config.roles.has('admin')
      ? startRolloutScheduler(
          app,
          { databaseUrl: database.url, tickMs: config.rolloutTickMs },
          logger,
        )
      : undefined;
    if (httpTls) {
      const server = app.getHttpServer() as unknown as TlsServer;
      httpTls.watch((material) =>
        server.setSecureContext({ cert: material.cert, key: material.key }),
      );
    }
    const address = app.getHttpServer().address() as AddressInfo;
    const httpUrl = `${httpTls ? 'https' : 'http'}://${config.httpHost}:${address.port}`;
    const xdsAddress = xds ? `${config.xds.host}:${xds.port}` : undefined;
    logger.info(
      { http: httpUrl, xds: xdsAddress, roles: [...config.roles], database: database.description },
      `Trellis listening: ${config.roles.has('admin') ? 'App Mesh API' : 'probes'} on ${httpUrl}` +
        (xdsAddress ? `, xDS on ${xdsAddress}` : '') +
        `; database: ${database.description}`,
    );
    if (!config.auth.enabled) {
      logger.warn(
        { auth: 'off' },
        'Authentication is off: anyone who reaches these loopback ports can change every mesh ' +
          '(set TRELLIS_AUTH=on to require SigV4-signed requests; docs/security.md)',
      );
    }
    return {
      httpUrl,
      xds,
      app,
      databaseFailed: database.failed,
      close: async ({ drain = true } = {}) => {
        try {
          readiness.shutDown();
          if (drain) await xds?.drain();
          // Before the database goes: the scheduler finishes its step and releases its lock.
          await rollouts?.stop();
          httpTls?.stop();
          await app.close();
          await xds?.close();
          await keyCache?.stop();
          await dataSource.destroy();
        } finally {
          // Whatever failed above, an embedded Postgres left running would refuse the next start.
          await database.stop();
        }
        logger.info('Trellis stopped');
      },
    };
  } catch (error) {
    await keyCache?.stop();
    await xdsRole?.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
    throw error;
  }
}

const MISSING_MASTER_KEY =
  'no master key: set TRELLIS_MASTER_KEY (base64 of 32 random bytes) or TRELLIS_MASTER_KEY_FILE';

/**
 * The master key that seals access keys' secrets and imported private keys. Required with authentication on; with it
 * off, a missing key only makes the keys API answer 503.
 */
function masterKeyOf(config: TrellisConfig): Buffer | undefined {
  try {
    return loadMasterKey(config.masterKey, config.databaseUrl ? undefined : config.dataDir);
  } catch (error) {
    if (
      !config.auth.enabled &&
      !config.masterKey.TRELLIS_MASTER_KEY &&
      !config.masterKey.TRELLIS_MASTER_KEY_FILE
    ) {
      return undefined;
    }
    throw new ConfigError((error as Error).message);
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
