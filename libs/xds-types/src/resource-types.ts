/** The xDS resource types Trellis serves (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#resource-types). */
export const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_CONFIGURATION = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const CLUSTER_LOAD_ASSIGNMENT =
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** SDS: certificates and trust bundles Trellis serves (imported by ACM ARN), by name like EDS. */
export const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type TypeUrl =
  | typeof LISTENER
  | typeof ROUTE_CONFIGURATION
  | typeof CLUSTER
  | typeof CLUSTER_LOAD_ASSIGNMENT
  | typeof SECRET;

/**
 * A resource as a configuration source describes it: a generated Envoy message and its name. The
 * translator produces these and the xDS engine serves them; neither imports the other.
 */
export interface XdsResource {
  typeUrl: TypeUrl;
  name: string;
  message: object;
}

/**
 * Make-before-break order for one ADS push: clusters, their endpoints, the secrets clusters and
 * listeners name, listeners, then the routes that point at the clusters (xDS protocol, "Eventual
 * consistency considerations").
 */
export const PUSH_ORDER: readonly TypeUrl[] = [
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  SECRET,
  LISTENER,
  ROUTE_CONFIGURATION,
];

export function isServedType(typeUrl: string): typeUrl is TypeUrl {
  return (PUSH_ORDER as readonly string[]).includes(typeUrl);
}

/**
 * Listener and Cluster responses of state-of-the-world xDS carry the complete set, and
 * only they support wildcard subscriptions; routes and endpoints are sent by name.
 */
export function isCompleteSetType(typeUrl: TypeUrl): boolean {
  return typeUrl === LISTENER || typeUrl === CLUSTER;
}

/** Short names for logs, metrics and proxy status. */
export const TYPE_SHORT_NAMES: Record<TypeUrl, string> = {
  [LISTENER]: 'LDS',
  [ROUTE_CONFIGURATION]: 'RDS',
  [CLUSTER]: 'CDS',
  [CLUSTER_LOAD_ASSIGNMENT]: 'EDS',
  [SECRET]: 'SDS',
};
