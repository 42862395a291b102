import type { AppMeshResourceKind } from '../../../libs/mesh-model/src/resource-kinds';
import type { DatabaseHealth } from '../../../libs/persistence/src/embedded-postgres';

/**
 * Per-kind maximum counts. A route's limit is per virtual router, a gateway route's per virtual
 * gateway; the rest are per mesh.
 */
export type ResourceLimits = Record<AppMeshResourceKind, number> & { tagsPerResource: number };

export interface AdminApiOptions {
  region: string;
  accountId: string;
  limits: ResourceLimits;
  /** How long disconnected proxies stay listed in /v1/proxies. */
  proxyStatusGraceSeconds: number;
  /** Where proxies reach the xDS server, for generated bootstraps. */
  xdsAddress: { host: string; port: number };
  /** Comment lines on idle event streams, so proxies between keep them open. */
  eventsHeartbeatMs?: number;
  /** How proxies must connect, for generated bootstraps: TLS on the xDS port, SigV4 streams. */
  xdsSecurity?: { tls: boolean; sigv4: boolean };
  /** How long the registry's operations and change log are kept (TRELLIS_REGISTRY_HISTORY_DAYS). */
  registryHistoryMs: number;
  /** The embedded database's state, for /healthz (always `up` for an external one). */
  databaseHealth?: () => DatabaseHealth;
}

export const ADMIN_API_OPTIONS = Symbol('AdminApiOptions');

/**
 * App Mesh stopped at 15 meshes, 200 virtual nodes/routers/services per mesh and 50
 * routes per router; Trellis defaults well above that (docs/limits.md). The tag limit
 * is part of the API (TooManyTagsException), not a quota.
 */
export const DEFAULT_LIMITS: ResourceLimits = {
  mesh: 1_000,
  virtualNode: 10_000,
  virtualRouter: 10_000,
  route: 1_000,
  virtualService: 10_000,
  virtualGateway: 10_000,
  gatewayRoute: 1_000,
  tagsPerResource: 50,
};
