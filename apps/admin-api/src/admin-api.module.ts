import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AccessKeyStore } from '../../../libs/persistence/src/access-key-store';
import { MeshStore } from '../../../libs/persistence/src/mesh-store';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import type { Registry } from 'prom-client';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';
import { AppMeshExceptionFilter } from './app-mesh/app-mesh-exception.filter';
import { JANITOR_LOGGER, RetentionJanitor } from './retention-janitor';
import { HealthController } from './http/health.controller';
import { Readiness } from './http/readiness';
import {
  RoutesController,
  VirtualNodesController,
  VirtualRoutersController,
  VirtualServicesController,
  VirtualGatewaysController,
  GatewayRoutesController,
} from './app-mesh/mesh-resources.controller';
import { MeshesController } from './app-mesh/meshes.controller';
import { MeshResourceService } from './app-mesh/mesh-resource.service';
import { ResourceWrites } from './resource-writes';
import { METRICS_REGISTRY, MetricsController } from './http/metrics.controller';
import { ProxiesController } from './proxies/proxies.controller';
import { MeshTracingController } from './tracing/mesh-tracing.controller';
import { BootstrapController } from './proxies/bootstrap.controller';
import { PropagationController } from './proxies/propagation.controller';
import { PropagationService } from './proxies/propagation.service';
import { TagsController } from './app-mesh/tags.controller';
import { RolloutsController } from './rollouts/rollouts.controller';
import { rolloutProviders } from './rollouts/rollouts.providers';
import { MeshHistoryController } from './history/mesh-history.controller';
import { MeshHistoryService } from './history/mesh-history.service';
import { MeshRevertService } from './history/mesh-revert.service';
import { RouteWeightsController } from './weights/route-weights.controller';
import { RouteWeightsService } from './weights/route-weights.service';
import {
  GatewayRouteHeaderRulesController,
  RouteHeaderRulesController,
} from './header-rules/header-rules.controller';
import { HeaderRulesService } from './header-rules/header-rules.service';
import { AccessKeysController } from './access/access-keys.controller';
import { AccessKeysService } from './access/access-keys.service';
import { CertificateStore } from '../../../libs/persistence/src/certificate-store';
import { CertificatesController } from './certificates/certificates.controller';
import {
  CertificatesService,
  MASTER_KEY,
  type MasterKeySource,
} from './certificates/certificates.service';
import { DiagnosticsController } from './diagnostics/diagnostics.controller';
import { ACCESS_CONTROL, MeshEventsController } from './console/mesh-events.controller';
import type { AccessControl } from '../../../libs/access/src/access-control';
import { MeshEventsService } from './console/mesh-events.service';
import { MeshDiagnosticsStore } from '../../../libs/persistence/src/mesh-diagnostics-store';
import { registryControllers, registryProviders } from './registry/registry.providers';

export interface AdminApiDependencies {
  options: AdminApiOptions;
  dataSource: DataSource;
  logger: Logger;
  /** Metrics of every role in this process, served at /metrics. */
  metrics: Registry;
  /** False in a process that runs only the xDS role: then only probes and /metrics are served. */
  serveApi: boolean;
  accessKeys: AccessKeyStore;
  /** Authentication and authorization, when on: long-lived connections end when their key may no longer read. */
  access?: AccessControl;
  /** The master key that seals imported private keys, loaded when first needed. */
  masterKey: MasterKeySource;
  /** What /readyz reports besides the database; the process flips it when it shuts down. */
  readiness: Readiness;
}

@Module({})
export class AdminApiModule {
  static register({
    options,
    dataSource,
    logger,
    metrics,
    serveApi,
    accessKeys,
    access,
    masterKey,
    readiness,
  }: AdminApiDependencies): DynamicModule {
    return {
      module: AdminApiModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            // Probes would drown the request log.
            autoLogging: {
              ignore: (request) => /^\/(healthz|readyz|metrics)/.test(request.url ?? ''),
            },
            quietReqLogger: true,
            // One short line per request; never headers (they carry SigV4 credentials).
            serializers: {
              req: (request: { method?: string; url?: string }) => ({
                method: request.method,
                url: request.url,
              }),
              res: (response: { statusCode?: number }) => ({ statusCode: response.statusCode }),
            },
          },
        }),
      ],
      controllers: [
        HealthController,
        MetricsController,
        ...(serveApi
          ? [
              MeshesController,
              VirtualNodesController,
              VirtualRoutersController,
              RoutesController,
              VirtualServicesController,
              VirtualGatewaysController,
              GatewayRoutesController,
              TagsController,
              ProxiesController,
              MeshTracingController,
              BootstrapController,
              PropagationController,
              RolloutsController,
              RouteWeightsController,
              RouteHeaderRulesController,
              GatewayRouteHeaderRulesController,
              MeshHistoryController,
              AccessKeysController,
              CertificatesController,
              DiagnosticsController,
              ...registryControllers,
              MeshEventsController,
            ]
          : []),
      ],
      providers: [
        { provide: ADMIN_API_OPTIONS, useValue: options },
        { provide: DataSource, useValue: dataSource },
        { provide: Readiness, useValue: readiness },
        { provide: MeshStore, useFactory: () => new MeshStore(dataSource) },
        { provide: ProxyStatusStore, useFactory: () => new ProxyStatusStore(dataSource) },
        { provide: METRICS_REGISTRY, useValue: metrics },
        { provide: AccessKeyStore, useValue: accessKeys },
        { provide: ACCESS_CONTROL, useValue: access ?? null },
        AccessKeysService,
        { provide: CertificateStore, useFactory: () => new CertificateStore(dataSource) },
        { provide: MeshDiagnosticsStore, useFactory: () => new MeshDiagnosticsStore(dataSource) },
        { provide: MASTER_KEY, useValue: masterKey },
        CertificatesService,
        { provide: APP_FILTER, useFactory: () => new AppMeshExceptionFilter(logger) },
        ResourceWrites,
        MeshResourceService,
        RouteWeightsService,
        HeaderRulesService,
        MeshHistoryService,
        MeshRevertService,
        PropagationService,
        ...(serveApi ? rolloutProviders(dataSource, logger) : []),
        ...(serveApi ? registryProviders(dataSource, logger) : []),
        ...(serveApi ? [MeshEventsService] : []),
        ...(serveApi ? [{ provide: JANITOR_LOGGER, useValue: logger }, RetentionJanitor] : []),
      ],
    };
  }
}
