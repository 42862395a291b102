import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import { AdsServer, type AdsLimits } from '../../../libs/xds/src/ads-server';
import type { ConfigSource } from '../../../libs/xds/src/config-source';
import { XdsEngine } from '../../../libs/xds/src/xds-engine';
import { ProxyStatusPublisher } from './proxy-status-publisher';

export interface XdsRoleConfig {
  host: string;
  port: number;
  debounceMs: number;
  maxWaitMs: number;
  statusIntervalMs: number;
  statusGraceSeconds: number;
  limits: AdsLimits;
}

export interface XdsRole {
  port: number;
  engine: XdsEngine;
  publisher: ProxyStatusPublisher;
  close(): Promise<void>;
}

/** The xDS role: ADS server, engine fed by `source`, proxy status published to Postgres. */
export async function startXdsRole(
  config: XdsRoleConfig,
  source: ConfigSource,
  dataSource: DataSource,
  logger: Logger,
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
  const server = new AdsServer(engine, logger, config.limits);
  const port = await server.listen(config.host, config.port);
  return {
    port,
    engine,
    publisher,
    close: async () => {
      await server.close();
      engine.stop();
      await source.stop?.();
      await publisher.stop();
    },
  };
}
