import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import { AdsServer } from '../../../libs/xds/src/ads-server';
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
  /** How long a replica shutting down takes to move its proxies away (TRELLIS_XDS_DRAIN_SECONDS). */
  drainMs: number;
  /** End streams older than this so proxies rebalance (TRELLIS_XDS_MAX_STREAM_AGE_SECONDS). */
  maxStreamAgeMs?: number;
}

export interface XdsRole {
  port: number;
  engine: XdsEngine;
  publisher: ProxyStatusPublisher;
  /** Moves every proxy to another replica over the drain window; resolves when none is left. */
  drain(): Promise<void>;
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
  const server = new AdsServer(engine, logger, { maxStreamAgeMs: config.maxStreamAgeMs });
  const port = await server.listen(config.host, config.port);
  return {
    port,
    engine,
    publisher,
    drain: () => server.drain(config.drainMs),
    close: async () => {
      await server.close();
      engine.stop();
      await source.stop?.();
      await publisher.stop();
    },
  };
}
