import type { PortProtocol } from '../../mesh-model/src/validation';

// Every Envoy resource name Trellis emits is built here.
//
// Sidecar names are App Mesh's (App Mesh user guide, "Envoy metrics"), so dashboards and alerts
// built on App Mesh's Envoy stats (`listener.0.0.0.0_15000.*`, `cluster.cds_*.*`) keep working.
// Within one proxy's configuration the mesh is fixed, and a cluster name is read from the right:
// `<port>` (digits) and `<protocol>` (one of four words) are the last two parts, so a node name
// that contains `_` cannot make two clusters collide.
//
// Proxyless gRPC clients get names of their own (`cds_proxyless_`, `rds_proxyless_`): the same
// target is an EDS cluster for them and a DNS or static cluster for sidecars, and the xDS
// engine caches encoded resources by name, so the two kinds must never share one.

/**
 * The sidecar's inbound listener, `lds_<direction>_<ip>_<port>`: iptables redirects traffic for
 * the application's ports to 15000 (App Mesh `ProxyIngressPort`).
 */
export const INGRESS_LISTENER = 'lds_ingress_0.0.0.0_15000';
export const INGRESS_PORT = 15000;

/** The sidecar's outbound listener: iptables redirects the application's egress to 15001. */
export const EGRESS_LISTENER = 'lds_egress_0.0.0.0_15001';
export const EGRESS_PORT = 15001;

/**
 * `rds_egress_<protocol>_<port>`: one route configuration per destination port, holding a virtual
 * host per backend virtual service; the protocol is part of the name because the HTTP connection
 * manager in front of it differs (HTTP/1.1, HTTP/2, gRPC).
 */
export function egressRouteConfigurationName(protocol: PortProtocol, port: number): string {
  return `rds_egress_${protocol}_${port}`;
}

/** `rds_ingress_<protocol>_<port>`: the inline route configuration of one inbound listener. */
export function ingressRouteConfigurationName(protocol: PortProtocol, port: number): string {
  return `rds_ingress_${protocol}_${port}`;
}

/**
 * `cds_ingress_<mesh>_<node>_<protocol>_<port>`: the local application behind one listener of the
 * proxy's own virtual node. A node has one listener per port, so the port makes it unique.
 */
export function ingressClusterName(
  mesh: string,
  node: string,
  protocol: PortProtocol,
  port: number,
): string {
  return `cds_ingress_${mesh}_${node}_${protocol}_${port}`;
}

/**
 * `cds_egress_<mesh>_<targetNode>_<protocol>_<port>`: one listener of a target virtual node. Every
 * backend and route that reaches that listener shares the cluster, as in App Mesh.
 */
export function egressClusterName(
  mesh: string,
  targetNode: string,
  protocol: PortProtocol,
  port: number,
): string {
  return `cds_egress_${mesh}_${targetNode}_${protocol}_${port}`;
}

/**
 * `cds_egress_<mesh>_passthrough`: the ORIGINAL_DST cluster of the ALLOW_ALL egress filter. It has
 * no `_<protocol>_<port>` suffix, so no target-node cluster can have this name.
 */
export function passthroughClusterName(mesh: string): string {
  return `cds_egress_${mesh}_passthrough`;
}

/**
 * `cds_egress_<mesh>_amazonaws`: App Mesh's ORIGINAL_DST cluster for AWS APIs (`*.amazonaws.com`),
 * reachable under the DROP_ALL egress filter. Like the passthrough cluster it has no
 * `_<protocol>_<port>` suffix, so no target-node cluster can have this name.
 */
export function amazonawsClusterName(mesh: string): string {
  return `cds_egress_${mesh}_amazonaws`;
}

/** The TLS server names (SNI) of AWS APIs App Mesh let through DROP_ALL, on HTTPS. */
export const AWS_API_SERVER_NAMES = ['*.amazonaws.com'];
export const AWS_API_PORT = 443;

/**
 * The catch-all virtual host of the ALLOW_ALL egress filter. Its only domain is `*`, so the only
 * virtual service it could clash with is one named `*`, which would clash on the domain anyway.
 */
export const PASSTHROUGH_VIRTUAL_HOST = '*';
export const PASSTHROUGH_ROUTE = 'passthrough';

/** The inbound virtual host: every request that reached the ingress port goes to the app. */
export const INGRESS_VIRTUAL_HOST = 'ingress';

// Virtual gateways (App Mesh user guide, "Envoy metrics"; appmesh.md §6.4): a listener per gateway
// listener, whose routes rewrite the request and send it to the gateway's own egress listener over
// a "self redirect" cluster; the egress listener routes it to the target virtual service's provider
// with that provider's routes and weights, as a sidecar's egress would.

/** `lds_ingress_0.0.0.0_<port>`: a gateway listener, named by the port it binds. */
export function gatewayListenerName(port: number): string {
  return `lds_ingress_0.0.0.0_${port}`;
}

/**
 * The gateway's egress listener. It binds the loopback address only: a client outside must not
 * reach the mesh's services without going through the gateway routes, so it is named for the
 * loopback address rather than App Mesh's `0.0.0.0`.
 */
export const GATEWAY_EGRESS_LISTENER = 'lds_egress_127.0.0.1_15001';

/**
 * The gateway egress listener's route configuration: one for every target, which the request's
 * `GATEWAY_TARGET_HEADER` selects, so HTTP, HTTP/2 and gRPC targets share it.
 */
export const GATEWAY_EGRESS_ROUTE_CONFIGURATION = 'rds_egress_self_redirect_15001';

/**
 * Set by the gateway route on the request (replacing any value a client sent), read by the egress
 * routes to pick the target `<virtualService>:<port>`, and removed before the request leaves: the
 * Host header cannot carry the target, since a gateway route may keep the client's Host.
 */
export const GATEWAY_TARGET_HEADER = 'x-trellis-gateway-target';

/**
 * `cds_ingress_<mesh>_<gateway>_self_redirect[_<listenerPort>]_<protocol>_15001`: from one gateway
 * listener to the gateway's egress listener, speaking the listener's protocol. App Mesh names the
 * listener port only when the gateway has several listeners; with one it is unique anyway.
 */
export function selfRedirectClusterName(
  mesh: string,
  gateway: string,
  protocol: PortProtocol,
  listenerPort: number | undefined,
): string {
  const listener = listenerPort === undefined ? '' : `_${listenerPort}`;
  return `cds_ingress_${mesh}_${gateway}_self_redirect${listener}_${protocol}_${EGRESS_PORT}`;
}

/**
 * The static cluster the App Mesh Envoy bootstrap adds for the local SDS agent (SPIRE) when
 * `APPMESH_SDS_SOCKET_PATH` is set; SDS secrets are fetched through it.
 */
export const SDS_CLUSTER = 'static_cluster_sds_unix_socket';

/** HTTP connection manager and TCP proxy stat prefixes, App Mesh's (`http.ingress.*`). */
export const INGRESS_STAT_PREFIX = 'ingress';
export const EGRESS_STAT_PREFIX = 'egress';

/**
 * A proxyless client's listener is the authority of its target URI: `xds:///<service>:<port>`
 * asks for `<service>:<port>`, `xds:///<service>` for the bare name (gRFC A27).
 */
export function apiListenerName(virtualService: string, port?: number): string {
  return port === undefined ? virtualService : `${virtualService}:${port}`;
}

/** `rds_proxyless_<virtualService>_<port>`: one per port of the virtual service's provider. */
export function proxylessRouteConfigurationName(virtualService: string, port: number): string {
  return `rds_proxyless_${virtualService}_${port}`;
}

/** `cds_proxyless_<mesh>_<targetNode>_<protocol>_<port>`: the EDS cluster of a target listener. */
export function proxylessClusterName(
  mesh: string,
  targetNode: string,
  protocol: PortProtocol,
  port: number,
): string {
  return `cds_proxyless_${mesh}_${targetNode}_${protocol}_${port}`;
}

/**
 * A regular expression (RE2, fully anchored, as Prometheus matches labels) for the egress
 * clusters of a target node whatever its listener: what rollout metric gates select the traffic
 * to a virtual node with, in its callers' Envoy stats. The protocol and port parts are matched
 * exactly as `egressClusterName` builds them, so a node whose name ends like them (`green_http_80`)
 * is not taken for another (`green`).
 */
export function egressClusterNamePattern(mesh: string, targetNode: string): string {
  return `cds_egress_${escapeRegExp(mesh)}_${escapeRegExp(targetNode)}_(http|http2|grpc|tcp)_[0-9]+`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
