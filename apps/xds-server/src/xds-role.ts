import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import { CertificateFiles } from '../../../libs/access/src/certificate-files';
import { AdsServer, type AdsLimits } from '../../../libs/xds/src/ads-server';
import type { StreamGuard } from '../../../libs/xds/src/stream-guard';
import type { ConfigSource } from '../../../libs/xds/src/config-source';
import { XdsEngine } from '../../../libs/xds/src/xds-engine';
import { MeshDiagnosticsStore } from '../../../libs/persistence/src/mesh-diagnostics-store';
import { MeshReader } from '../../../libs/persistence/src/mesh-reader';
import { MeshDiagnosticsPublisher, type MeshDiagnosticsOptions } from './mesh-diagnostics';
import { ProxyStatusPublisher } from './proxy-status-publisher';
import { ReloadingServerCredentials } from './xds-tls';
import type { ServedCertificates } from './served-certificates';

export interface XdsRoleConfig {
  host: string;
  /** TLS on the xDS port; absent: plaintext (loopback development only, or the insecure opt-out). */
  tls?: XdsTlsConfig;
  port: number;
  debounceMs: number;
  maxWaitMs: number;
  statusIntervalMs: number;
  statusGraceSeconds: number;
  limits: AdsLimits;
  /** How long a replica shutting down takes to move its proxies away (TRELLIS_XDS_DRAIN_SECONDS). */
  drainMs: number;
  /** End streams older than this so proxies rebalance (TRELLIS_XDS_MAX_STREAM_AGE_SECONDS). */
  maxStreamAgeMs?: number;
}

export interface XdsTlsConfig {
  certFile: string;
  keyFile: string;
  /** Verify client certificates against this CA bundle (they are optional: SigV4 also works). */
  clientCaFile?: string;
  /** Accept SPIFFE ids of this trust domain only; absent: any the CA vouches for. */
  spiffeTrustDomain?: string;
}

export interface XdsRole {
  port: number;
  engine: XdsEngine;
  publisher: ProxyStatusPublisher;
  /** Each mesh revision's diagnostics, computed here and stored for the admin API. */
  diagnostics: MeshDiagnosticsPublisher;
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
  diagnosticsOptions: MeshDiagnosticsOptions & { certificates?: ServedCertificates },
  /** Who may stream which proxy's configuration; absent: anyone (authentication off). */
  guard?: StreamGuard,
): Promise<XdsRole> {
  // Read before anything starts: a bad certificate file stops the process with its reason.
  const tlsFiles =
    config.tls &&
    new CertificateFiles(
      {
        certFile: config.tls.certFile,
        keyFile: config.tls.keyFile,
        caFile: config.tls.clientCaFile,
      },
      logger,
    );
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
  const server = new AdsServer(engine, logger, {
    limits: config.limits,
    guard,
    maxStreamAgeMs: config.maxStreamAgeMs,
  });
  let credentials: ReloadingServerCredentials | undefined;
  if (tlsFiles) {
    const reloading = new ReloadingServerCredentials(tlsFiles.material);
    tlsFiles.watch((material) => reloading.update(material));
    credentials = reloading;
  }
  const port = await server.listen(config.host, config.port, credentials);
  return {
    port,
    engine,
    publisher,
    diagnostics,
    drain: () => server.drain(config.drainMs),
    close: async () => {
      tlsFiles?.stop();
      await diagnostics.stop();
      await server.close();
      engine.stop();
      await source.stop?.();
      await publisher.stop();
    },
  };
}
