import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import { AdsServer } from '../../../libs/xds/src/ads-server';
import type { ConfigSource } from '../../../libs/xds/src/config-source';
import { XdsEngine } from '../../../libs/xds/src/xds-engine';
import { MeshDiagnosticsStore } from '../../../libs/persistence/src/mesh-diagnostics-store';
import { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { MeshDiagnosticsPublisher, type MeshDiagnosticsOptions } from './mesh-diagnostics';
import { ProxyStatusPublisher } from './proxy-status-publisher';
import type { ServedCertificates } from './served-certificates';

export interface XdsRoleConfig {
  host: string;
  port: number;
  debounceMs: number;
  maxWaitMs: number;
  statusIntervalMs: number;
  statusGraceSeconds: number;
}

export interface XdsRole {
  port: number;
  engine: XdsEngine;
  publisher: ProxyStatusPublisher;
  /** Each mesh revision's diagnostics, computed here and stored for the admin API. */
  diagnostics: MeshDiagnosticsPublisher;
  close(): Promise<void>;
}

/** The xDS role: ADS server, engine fed by `source`, proxy status published to Postgres. */
export async function startXdsRole(
  config: XdsRoleConfig,
  source: ConfigSource,
  dataSource: DataSource,
  logger: Logger,
  diagnosticsOptions: MeshDiagnosticsOptions & { certificates?: ServedCertificates },
): Promise<XdsRole> {
  await source.start?.();
  const engine = new XdsEngine(source, logger, {
    debounceMs: config.debounceMs,
    maxWaitMs: config.maxWaitMs,
  });
  engine.start();
  const publisher = new ProxyStatusPublisher(engine, new ProxyStatusStore(dataSource), logger, {
    intervalMs: config.statusIntervalMs,
    graceSeconds: config.statusGraceSeconds,
  });
  publisher.start();
  const diagnostics = new MeshDiagnosticsPublisher(
    new MeshReader(dataSource),
    new MeshDiagnosticsStore(dataSource),
    diagnosticsOptions.certificates,
    engine,
    logger,
    diagnosticsOptions,
  );
  await diagnostics.start();
  const server = new AdsServer(engine, logger);
  const port = await server.listen(config.host, config.port);
  return {
    port,
    engine,
    publisher,
    diagnostics,
    close: async () => {
      await diagnostics.stop();
      await server.close();
      engine.stop();
      await source.stop?.();
      await publisher.stop();
    },
  };
}
