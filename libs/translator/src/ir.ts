// The intermediate representation: what one proxy needs, as plain serializable data. It is built
// from the App Mesh resources (ir-builder/) and turned into Envoy messages (envoy/) in the last
// step; nothing here knows an Envoy type. Durations are milliseconds.

/** Everything one proxy receives. Names are unique per kind; lists are sorted by name. */
export interface ProxyIr {
  listeners: ListenerIr[];
  routeConfigurations: RouteConfigurationIr[];
  clusters: ClusterIr[];
  /** ClusterLoadAssignments, one per EDS cluster. */
  endpoints: EndpointSetIr[];
  /** Certificates and trust bundles Trellis serves over SDS, by secret name. */
  secrets: SecretIr[];
}

/** The IR with every list sorted by name, in code-unit order (the same on every machine). */
export function sortedProxyIr(ir: ProxyIr): ProxyIr {
  const byName = <T>(items: T[], nameOf: (item: T) => string): T[] =>
    [...items].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
  return {
    listeners: byName(ir.listeners, (listener) => listener.name),
    routeConfigurations: byName(ir.routeConfigurations, (config) => config.name),
    clusters: byName(ir.clusters, (cluster) => cluster.name),
    endpoints: byName(ir.endpoints, (set) => set.clusterName),
    secrets: byName(ir.secrets, (secret) => secret.name),
  };
}

export type ListenerIr = SocketListenerIr | ApiListenerIr;

/** A listener bound to a port of the sidecar. */
export interface SocketListenerIr {
  kind: 'socket';
  name: string;
  address: BindAddressIr;
  direction: 'inbound' | 'outbound';
  /**
   * iptables redirects the connections (sidecars): the original destination listener filter
   * restores the address the application dialled. A gateway's listeners are dialled directly.
   */
  redirected: boolean;
  /** Sorted by destination port. */
  filterChains: FilterChainIr[];
  /** For connections no filter chain matches; unset closes them. */
  defaultFilterChain?: FilterChainIr;
  accessLog?: AccessLogIr;
}

export interface BindAddressIr {
  host: string;
  port: number;
  /** Accept IPv4 connections on an IPv6 wildcard address too. */
  ipv4Compat: boolean;
}

/** A proxyless gRPC client's listener: an HTTP connection manager fed over RDS. */
export interface ApiListenerIr {
  kind: 'api';
  name: string;
  routeConfigurationName: string;
}

export interface FilterChainIr {
  /** The port the application connected to (original destination), for iptables traffic. */
  destinationPort?: number;
  /**
   * Only connections that start a TLS handshake (`tls`), read by the TLS inspector listener
   * filter; unset matches any connection the other fields match.
   */
  transportProtocol?: 'tls';
  /** Only TLS connections whose SNI is one of these (`*.example.com` wildcards allowed). */
  serverNames?: string[];
  tls?: DownstreamTlsIr;
  network: HttpNetworkIr | TcpNetworkIr;
}

export interface HttpNetworkIr {
  kind: 'http';
  statPrefix: string;
  /**
   * Normalize the request path (RFC 3986 dot segments, `//` merged) before routing, as App Mesh's
   * HTTP connection managers did (`normalize_path`, `merge_slashes`).
   */
  normalizePath: boolean;
  /** Accept HTTP/1.1 connection upgrades to WebSocket (App Mesh does on HTTP listeners). */
  websocket: boolean;
  routes: { kind: 'rds'; name: string } | { kind: 'inline'; config: RouteConfigurationIr };
  tracing?: TracingIr;
  accessLog?: AccessLogIr;
}

export interface TcpNetworkIr {
  kind: 'tcp';
  statPrefix: string;
  destination: DestinationIr;
  idleTimeoutMs?: number;
  accessLog?: AccessLogIr;
}

export interface TracingIr {
  segmentName: string;
  daemonAddress: string;
  daemonPort: number;
  samplingRate?: number;
  meshName: string;
  virtualNodeName: string;
}

export interface AccessLogIr {
  path: string;
  format?: { kind: 'text'; text: string } | { kind: 'json'; fields: Record<string, string> };
}

export interface RouteConfigurationIr {
  name: string;
  /** Sorted by name. */
  virtualHosts: VirtualHostIr[];
}

export interface VirtualHostIr {
  name: string;
  /** App Mesh's `aws.appmesh.aggregate_stats` tags (`TargetVirtualService`). */
  statsTags?: StatsTagIr[];
  domains: string[];
  /** In match order: Envoy uses the first route that matches. */
  routes: RouteIr[];
}

export interface RouteIr {
  name: string;
  match: RouteMatchIr;
  action: RouteActionIr;
  /** Request headers set before the request goes upstream. */
  requestHeadersToAdd?: HeaderValueIr[];
  /** Request headers removed before the request goes upstream. */
  requestHeadersToRemove?: string[];
  /** Response headers set before the response goes downstream. */
  responseHeadersToAdd?: HeaderValueIr[];
  /** Response headers removed before the response goes downstream. */
  responseHeadersToRemove?: string[];
}

export interface HeaderValueIr {
  name: string;
  value: string;
  /** Replace a value the request carries (true) or add another one (false). */
  overwrite: boolean;
}

export interface RouteMatchIr {
  path: { kind: 'prefix' | 'exact' | 'regex'; value: string };
  headers: HeaderMatchIr[];
  queryParameters: QueryParameterMatchIr[];
}

export interface HeaderMatchIr {
  name: string;
  match: StringMatchIr | { kind: 'range'; start: number; end: number } | { kind: 'present' };
  invert: boolean;
}

export interface StringMatchIr {
  kind: 'exact' | 'prefix' | 'suffix' | 'regex';
  value: string;
}

export interface QueryParameterMatchIr {
  name: string;
  /** Unset: the parameter only has to be present. */
  exact?: string;
}

export interface RouteActionIr {
  destination: DestinationIr;
  timeoutMs?: number;
  idleTimeoutMs?: number;
  /** gRPC clients read the deadline from max_stream_duration (gRFC A31), not the timeout. */
  maxStreamDurationMs?: number;
  retry?: RetryIr;
  rewrite?: RewriteIr;
}

/** What a route changes in the request before it goes upstream (gateway routes). */
export interface RewriteIr {
  /** Replaces the prefix the route matched. */
  prefix?: string;
  /** Replaces the whole path (the query string stays). */
  path?: string;
  /** Replaces the Host (`:authority`) header. */
  host?: string;
}

/** One cluster, or clusters by weight (App Mesh routes, sorted by name). */
export type DestinationIr =
  { kind: 'cluster'; name: string } | { kind: 'weightedClusters'; clusters: WeightedClusterIr[] };

export interface WeightedClusterIr {
  name: string;
  weight: number;
}

export interface RetryIr {
  /** Envoy `retry_on` conditions, sorted. */
  retryOn: string[];
  retriableStatusCodes: number[];
  numRetries: number;
  perTryTimeoutMs?: number;
  /**
   * Retry on another host than the ones tried (the `previous_hosts` predicate), picking a host up
   * to this many times; unset retries wherever the load balancer picks.
   */
  otherHostAttempts?: number;
}

/**
 * A tag App Mesh put on resources under the `aws.appmesh.aggregate_stats` metadata key, which its
 * metric extension and dashboards read to aggregate Envoy stats by target.
 */
export interface StatsTagIr {
  key: 'TargetVirtualNode' | 'TargetVirtualService';
  value: string;
}

export interface ClusterIr {
  name: string;
  discovery: ClusterDiscoveryIr;
  connectTimeoutMs: number;
  /** Unset for TCP and for clusters whose protocol Envoy picks (passthrough). */
  upstreamProtocol?: 'http1' | 'http2';
  circuitBreaker?: CircuitBreakerIr;
  outlierDetection?: OutlierDetectionIr;
  healthCheck?: HealthCheckIr;
  tls?: UpstreamTlsIr;
  /** App Mesh's `aws.appmesh.aggregate_stats` tags (`TargetVirtualNode`). */
  statsTags?: StatsTagIr[];
}

export type ClusterDiscoveryIr =
  | { kind: 'static'; endpoints: SocketAddressIr[] }
  | {
      kind: 'logicalDns' | 'strictDns';
      hostname: string;
      port: number;
      dnsLookupFamily: DnsLookupFamilyIr;
    }
  | { kind: 'eds' }
  | { kind: 'originalDst' };

export type DnsLookupFamilyIr = 'auto' | 'v4Only' | 'v6Only' | 'v4Preferred';

export interface SocketAddressIr {
  address: string;
  port: number;
}

export interface CircuitBreakerIr {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export interface OutlierDetectionIr {
  consecutive5xx: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
}

export interface HealthCheckIr {
  kind: 'http' | 'http2' | 'tcp' | 'grpc';
  path?: string;
  timeoutMs: number;
  intervalMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * A file on the proxy's file system, a secret fetched over SDS from the local agent (`sds`), or a
 * secret Trellis serves over SDS on the ADS stream (`ads`: certificates imported by ACM ARN).
 */
export type CertificateSourceIr =
  | { kind: 'file'; certificateChain: string; privateKey: string }
  | { kind: 'sds' | 'ads'; secretName: string };

export type TrustSourceIr =
  { kind: 'file'; certificateChain: string } | { kind: 'sds' | 'ads'; secretName: string };

/** An SDS secret Trellis serves: a certificate with its key, or a trust bundle. PEM text. */
export type SecretIr =
  | { name: string; kind: 'certificate'; certificateChain: string; privateKey: string }
  | { name: string; kind: 'trust'; trustedCa: string };

export interface UpstreamTlsIr {
  certificate?: CertificateSourceIr;
  trust: TrustSourceIr;
  subjectAlternativeNames: string[];
  alpnProtocols: string[];
}

export interface DownstreamTlsIr {
  certificate: CertificateSourceIr;
  /** Set: clients must present a certificate this trust validates (mutual TLS). */
  clientValidation?: { trust: TrustSourceIr; subjectAlternativeNames: string[] };
  alpnProtocols: string[];
}

/** The endpoints of an EDS cluster. */
export interface EndpointSetIr {
  clusterName: string;
  endpoints: SocketAddressIr[];
}
