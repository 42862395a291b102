import type {
  GatewayRouteHostnameMatch,
  GatewayRouteSpec,
  GrpcGatewayRoute,
  HttpGatewayRoute,
  VirtualGatewayListener,
  VirtualGatewayPortProtocol,
  VirtualGatewaySpec,
} from '../../../mesh-model/src/validation';
import {
  sortedProxyIr,
  type AccessLogIr,
  type ClusterIr,
  type FilterChainIr,
  type HeaderMatchIr,
  type ListenerIr,
  type ProxyIr,
  type RewriteIr,
  type RouteConfigurationIr,
  type RouteIr,
  type RouteMatchIr,
  type TracingIr,
} from '../ir';
import type {
  EndpointRegistry,
  MeshSnapshot,
  NamedGatewayRoute,
  TracingSettings,
} from '../mesh-snapshot';
import {
  EGRESS_PORT,
  EGRESS_STAT_PREFIX,
  GATEWAY_EGRESS_LISTENER,
  GATEWAY_EGRESS_ROUTE_CONFIGURATION,
  GATEWAY_TARGET_HEADER,
  INGRESS_STAT_PREFIX,
  gatewayListenerName,
  ingressRouteConfigurationName,
  selfRedirectClusterName,
} from '../names';
import { compareStrings, resourcePath, type TranslationErrors } from '../translation-errors';
import { CONNECT_TIMEOUT_MS } from './durations';
import { circuitBreaker } from './listener-policies';
import { accessLog, tracing, type Backend } from './proxy-settings';
import { headerRulesOf, routeHeaders } from './header-rules';
import { grpcRouteMatch, httpRouteMatch } from './route-matches';
import { inPriorityOrder, matchLength } from './route-order';
import { httpRoute } from './routes';
import { bindAddress, localAppAddress } from './service-discovery';
import {
  byFilterChainMatch,
  egressClusters,
  listenerFilterChains,
  requestCluster,
  upstreamProtocol,
  type ClusterRequest,
  type EgressContext,
} from './sidecar';
import { ServedSecrets, downstreamTls } from './tls';
import { servicePorts, type ServicePort } from './virtual-services';

/** What every part of one gateway's translation reads. */
interface Gateway extends EgressContext {
  gatewayName: string;
  gateway: VirtualGatewaySpec;
  /** The loopback address the self-redirect clusters reach the egress listener on. */
  loopback: string;
  tracing?: TracingIr;
  accessLog?: AccessLogIr;
}

/** A virtual service port a gateway route sends requests to, by `<virtualService>:<port>`. */
interface GatewayTarget {
  key: string;
  backend: Backend;
  servicePort: ServicePort;
}

/**
 * The configuration of the Envoy of one virtual gateway, built the way App Mesh's gateway worked
 * (appmesh.md §6.4): a listener per gateway listener whose routes are the gateway routes in match
 * order; each matched request is rewritten (Host, prefix or path) and sent over a "self redirect"
 * cluster to the gateway's own egress listener, which routes it to the target virtual service's
 * provider with that provider's routes, weights, timeouts and retries, and the gateway's
 * `backendDefaults` client policy.
 */
export function gatewayIr(
  mesh: MeshSnapshot,
  gatewayName: string,
  tracingSettings: TracingSettings,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): ProxyIr {
  const gateway = mesh.virtualGateways.get(gatewayName);
  if (gateway === undefined) {
    errors.add(
      'missing-reference',
      resourcePath.virtualGateway(gatewayName),
      'virtual gateway does not exist',
    );
    return { listeners: [], routeConfigurations: [], clusters: [], endpoints: [], secrets: [] };
  }
  const preference = mesh.spec.serviceDiscovery?.ipPreference;
  const traced = tracing(tracingSettings, mesh.meshName, gatewayName);
  const logged = accessLog(gateway.logging);
  const context: Gateway = {
    mesh,
    registry,
    errors,
    secrets: new ServedSecrets(mesh.certificates),
    gatewayName,
    gateway,
    loopback: localAppAddress(preference),
    ...(traced !== undefined && { tracing: traced }),
    ...(logged !== undefined && { accessLog: logged }),
  };

  const targets = new Map<string, GatewayTarget>();
  const listeners: ListenerIr[] = [];
  const routeConfigurations: RouteConfigurationIr[] = [];
  const clusters: ClusterIr[] = [];
  const routesByListener = gatewayRoutesByListener(context);
  gateway.listeners.forEach((listener, index) => {
    const path = `${resourcePath.virtualGateway(gatewayName)}.spec.listeners[${index}]`;
    const { protocol, port } = listener.portMapping;
    if (port === EGRESS_PORT) {
      errors.add(
        'port-conflict',
        `${path}.portMapping.port`,
        `port ${EGRESS_PORT} is the gateway's own egress listener; this listener is not served`,
      );
      return;
    }
    if (listener.healthCheck !== undefined) {
      errors.add(
        'unsupported',
        `${path}.healthCheck`,
        'a virtual gateway has no local application for its Envoy to health check; check the ' +
          'listener port from your load balancer instead',
      );
    }
    const tls = downstreamTls(listener.tls, protocol, context.secrets, errors, path);
    const permissive = listener.tls?.mode === 'PERMISSIVE';
    if (tls.kind === 'unsupported' && !permissive) return;

    const selfRedirect = selfRedirectClusterName(
      mesh.meshName,
      gatewayName,
      protocol,
      gateway.listeners.length > 1 ? port : undefined,
    );
    clusters.push(selfRedirectCluster(context, selfRedirect, listener));
    const routes = (routesByListener.get(index) ?? []).flatMap((route) => {
      const ingress = ingressRoute(context, route, selfRedirect, targets);
      return ingress === undefined ? [] : [ingress];
    });
    const routeConfigurationName = ingressRouteConfigurationName(protocol, port);
    routeConfigurations.push({
      name: routeConfigurationName,
      virtualHosts: [{ name: gatewayName, domains: ['*'], routes }],
    });
    const network: FilterChainIr['network'] = {
      kind: 'http',
      statPrefix: INGRESS_STAT_PREFIX,
      normalizePath: true,
      websocket: protocol === 'http',
      routes: { kind: 'rds', name: routeConfigurationName },
      ...(context.tracing !== undefined && { tracing: context.tracing }),
      ...(context.accessLog !== undefined && { accessLog: context.accessLog }),
    };
    listeners.push({
      kind: 'socket',
      name: gatewayListenerName(port),
      address: bindAddress(preference, port),
      direction: 'inbound',
      redirected: false,
      filterChains: listenerFilterChains(tls, permissive, network).sort(byFilterChainMatch),
    });
  });

  const egress = egressIr(context, [...targets.values()]);
  return sortedProxyIr({
    listeners: [...listeners, ...egress.listeners],
    routeConfigurations: [...routeConfigurations, ...egress.routeConfigurations],
    clusters: [...clusters, ...egress.clusters],
    endpoints: egress.endpoints,
    secrets: context.secrets.list(),
  });
}

/**
 * From one gateway listener to the egress listener on the loopback address. The listener's
 * connection pool limits it, as a virtual node's limits the cluster to its local application.
 */
function selfRedirectCluster(
  context: Gateway,
  name: string,
  listener: VirtualGatewayListener,
): ClusterIr {
  return {
    name,
    discovery: { kind: 'static', endpoints: [{ address: context.loopback, port: EGRESS_PORT }] },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    ...upstreamProtocol(listener.portMapping.protocol),
    circuitBreaker: circuitBreaker(listener.connectionPool),
  };
}

/** The route types a gateway route can set, each served by listeners of one protocol. */
const GATEWAY_ROUTE_TYPES = [
  ['httpRoute', 'http'],
  ['http2Route', 'http2'],
  ['grpcRoute', 'grpc'],
] as const;

type GatewayRouteType = (typeof GATEWAY_ROUTE_TYPES)[number][0];

/** The route type a spec sets (the model requires exactly one) and the protocol it serves. */
function gatewayRouteType(spec: GatewayRouteSpec): {
  type: GatewayRouteType;
  protocol: VirtualGatewayPortProtocol;
  port?: number;
} {
  for (const [type, protocol] of GATEWAY_ROUTE_TYPES) {
    const route = spec[type];
    if (route !== undefined) return { type, protocol, port: route.match.port };
  }
  // Unreachable for a spec that passed the model; treated as HTTP so nothing is served twice.
  return { type: 'httpRoute', protocol: 'http' };
}

/**
 * The gateway routes each listener serves, in App Mesh's order: a route serves the listeners of its
 * protocol (httpRoute: http, http2Route: http2, grpcRoute: grpc) on the port its match names, or
 * all of them when it names none.
 */
function gatewayRoutesByListener(context: Gateway): Map<number, NamedGatewayRoute[]> {
  const { mesh, gatewayName, gateway, errors } = context;
  const byListener = new Map<number, NamedGatewayRoute[]>();
  for (const route of mesh.gatewayRoutes.get(gatewayName) ?? []) {
    const { protocol, port } = gatewayRouteType(route.spec);
    const serving = gateway.listeners
      .map((listener, index) => ({ listener, index }))
      .filter(
        ({ listener }) =>
          listener.portMapping.protocol === protocol &&
          (port === undefined || listener.portMapping.port === port),
      );
    const routePath = `${resourcePath.gatewayRoute(gatewayName, route.name)}.spec`;
    if (serving.length === 0) {
      errors.add(
        'missing-reference',
        routePath,
        `virtual gateway ${gatewayName} has no ${protocol} listener` +
          (port === undefined ? '' : ` on port ${port}`) +
          ' for this gateway route',
      );
    } else if (serving.length > 1 && port === undefined) {
      errors.add(
        'ambiguous-spec',
        routePath,
        `virtual gateway ${gatewayName} has ${serving.length} ${protocol} listeners (ports ` +
          `${serving.map(({ listener }) => listener.portMapping.port).join(', ')}) and the ` +
          'gateway route names no match port; it serves all of them',
      );
    }
    for (const { index } of serving) {
      const list = byListener.get(index) ?? [];
      byListener.set(index, [...list, route]);
    }
  }
  for (const [index, routes] of byListener) {
    byListener.set(index, inPriorityOrder(routes, moreSpecificGatewayRouteFirst));
  }
  return byListener;
}

/**
 * Equal priorities: the longer path match first (prefix, exact path, regex, or the gRPC service),
 * as for routes (route-order.ts); then a hostname match before none, an exact hostname before a
 * suffix, a longer suffix before a shorter one.
 */
function moreSpecificGatewayRouteFirst(a: GatewayRouteSpec, b: GatewayRouteSpec): number {
  return (
    matchLength(b) - matchLength(a) ||
    hostnameRank(hostnameMatchOf(b)) - hostnameRank(hostnameMatchOf(a))
  );
}

function hostnameMatchOf(spec: GatewayRouteSpec): GatewayRouteHostnameMatch | undefined {
  return (spec.httpRoute ?? spec.http2Route ?? spec.grpcRoute)?.match.hostname;
}

/** Exact names rank above every suffix; longer suffixes above shorter ones. */
function hostnameRank(match: GatewayRouteHostnameMatch | undefined): number {
  if (match?.exact !== undefined) return Number.MAX_SAFE_INTEGER;
  return match?.suffix?.length ?? -1;
}

/**
 * A gateway route on one listener: its match, App Mesh's rewrites, and the target (recorded in
 * `targets`) named in the header the egress routes select on. Undefined, with an error, when the
 * target does not resolve.
 */
function ingressRoute(
  context: Gateway,
  route: NamedGatewayRoute,
  selfRedirect: string,
  targets: Map<string, GatewayTarget>,
): RouteIr | undefined {
  const { type } = gatewayRouteType(route.spec);
  const typePath = `${resourcePath.gatewayRoute(context.gatewayName, route.name)}.spec.${type}`;
  const http = route.spec.httpRoute ?? route.spec.http2Route;
  const grpc = route.spec.grpcRoute;
  const target = (http ?? grpc)?.action.target;
  if (target === undefined) return undefined;
  const resolved = gatewayTarget(context, target, `${typePath}.action.target`);
  if (resolved === undefined) return undefined;
  targets.set(resolved.key, resolved);
  const serviceName = target.virtualService.virtualServiceName;
  const { match, rewrite } =
    http !== undefined ? httpGatewayRoute(http, serviceName) : grpcGatewayRoute(grpc!, serviceName);
  // The gateway route's header rule applies here, on the listener the client reached: its
  // formatters see the request as the client sent it (Envoy evaluates route headers before the
  // Host rewrite), and its response headers reach the client.
  const headers = routeHeaders(
    headerRulesOf(context.mesh.gatewayRouteHeaderRules?.get(context.gatewayName), route.name),
  );
  return {
    name: route.name,
    match,
    action: {
      destination: { kind: 'cluster', name: selfRedirect },
      // The egress route enforces the provider route's timeouts; a second deadline here would cut
      // a provider route's longer timeout at Envoy's 15 s default.
      timeoutMs: 0,
      ...(Object.keys(rewrite).length > 0 && { rewrite }),
    },
    ...headers,
    requestHeadersToAdd: [
      { name: GATEWAY_TARGET_HEADER, value: resolved.key, overwrite: true },
      ...(headers.requestHeadersToAdd ?? []),
    ],
  };
}

/**
 * An HTTP or HTTP/2 gateway route: App Mesh's match (the route match plus the hostname, read
 * from `:authority`) and rewrites. By default the matched prefix becomes `/` and the Host the
 * target's name (App Mesh user guide, gateway routes); `defaultPrefix: DISABLED` keeps the path,
 * a prefix value replaces the matched prefix, an exact path replaces the path, and
 * `defaultTargetHostname: DISABLED` keeps the client's Host.
 */
function httpGatewayRoute(
  route: HttpGatewayRoute,
  serviceName: string,
): { match: RouteMatchIr; rewrite: RewriteIr } {
  const { match, action } = route;
  const base = httpRouteMatch(match);
  const rewrite: RewriteIr = {};
  const prefixRewrite = action.rewrite?.prefix;
  if (action.rewrite?.path?.exact !== undefined) {
    rewrite.path = action.rewrite.path.exact;
  } else if (match.prefix !== undefined) {
    if (prefixRewrite?.value !== undefined) rewrite.prefix = prefixRewrite.value;
    else if (prefixRewrite?.defaultPrefix !== 'DISABLED') rewrite.prefix = '/';
  }
  if (action.rewrite?.hostname?.defaultTargetHostname !== 'DISABLED') rewrite.host = serviceName;
  return { match: withHostname(base, match.hostname), rewrite };
}

/** A gRPC gateway route: only the Host is rewritten, since the path names the gRPC method. */
function grpcGatewayRoute(
  route: GrpcGatewayRoute,
  serviceName: string,
): { match: RouteMatchIr; rewrite: RewriteIr } {
  const rewrite: RewriteIr =
    route.action.rewrite?.hostname?.defaultTargetHostname === 'DISABLED'
      ? {}
      : { host: serviceName };
  return { match: withHostname(grpcRouteMatch(route.match), route.match.hostname), rewrite };
}

/**
 * A hostname match on `:authority`, case-insensitive and with or without a port, as host names
 * compare (RFC 9110 §4.2.3); Envoy matches the whole value against the RE2 expression.
 */
function withHostname(
  match: RouteMatchIr,
  hostname: GatewayRouteHostnameMatch | undefined,
): RouteMatchIr {
  if (hostname === undefined) return match;
  const name =
    hostname.exact !== undefined
      ? escapeRe2(hostname.exact)
      : `.*${escapeRe2(hostname.suffix ?? '')}`;
  const authority: HeaderMatchIr = {
    name: ':authority',
    match: { kind: 'regex', value: `(?i)${name}(:[0-9]+)?` },
    invert: false,
  };
  return { ...match, headers: [authority, ...match.headers] };
}

function escapeRe2(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The virtual service port a gateway route sends to: the target port, or the provider's only
 * port. The gateway speaks HTTP, HTTP/2 and gRPC, so a TCP port is no target.
 */
function gatewayTarget(
  context: Gateway,
  target: NonNullable<HttpGatewayRoute['action']['target']>,
  path: string,
): GatewayTarget | undefined {
  const { errors, gatewayName, gateway } = context;
  const serviceName = target.virtualService.virtualServiceName;
  const ports = servicePorts(
    context.mesh,
    serviceName,
    `${path}.virtualService.virtualServiceName`,
    errors,
  );
  if (ports === undefined) return undefined;
  let servicePort: ServicePort | undefined;
  if (target.port !== undefined) {
    servicePort = ports.find((candidate) => candidate.port === target.port);
    if (servicePort === undefined) {
      errors.add(
        'missing-reference',
        `${path}.port`,
        `virtual service ${serviceName} has no port ${target.port}`,
      );
      return undefined;
    }
  } else if (ports.length === 1) {
    servicePort = ports[0];
  } else {
    if (ports.length > 1) {
      errors.add(
        'ambiguous-spec',
        path,
        `virtual service ${serviceName} has ${ports.length} ports ` +
          `(${ports.map((candidate) => candidate.port).join(', ')}); the target needs a port`,
      );
    }
    return undefined;
  }
  if (servicePort === undefined) return undefined;
  if (servicePort.protocol === 'tcp') {
    errors.add(
      'port-conflict',
      path,
      `virtual service ${serviceName} serves TCP on port ${servicePort.port}; a virtual gateway ` +
        'routes HTTP, HTTP/2 and gRPC only',
    );
    return undefined;
  }
  if (servicePort.routes.length === 0) {
    errors.add(
      'missing-reference',
      path,
      `virtual service ${serviceName} has no route on port ${servicePort.port} to send requests to`,
    );
    return undefined;
  }
  const policy = gateway.backendDefaults?.clientPolicy;
  return {
    key: `${serviceName}:${servicePort.port}`,
    backend: {
      serviceName,
      ...(policy !== undefined && { clientPolicy: policy }),
      path,
      policyPath: `${resourcePath.virtualGateway(gatewayName)}.spec.backendDefaults.clientPolicy`,
    },
    servicePort,
  };
}

/**
 * The egress listener on the loopback address and its one route configuration: for every target,
 * its provider's routes in match order, each also matching the target header (removed before the
 * request leaves), over the clusters a sidecar calling the service would have.
 */
function egressIr(context: Gateway, targets: GatewayTarget[]): Omit<ProxyIr, 'secrets'> {
  if (targets.length === 0) {
    return { listeners: [], routeConfigurations: [], clusters: [], endpoints: [] };
  }
  const requests = new Map<string, ClusterRequest>();
  const routes: RouteIr[] = [];
  for (const { key, backend, servicePort } of targets.sort((a, b) =>
    compareStrings(a.key, b.key),
  )) {
    const clusterNameOf = (target: Parameters<typeof requestCluster>[2]) =>
      requestCluster(context, requests, target, backend);
    for (const route of servicePort.routes) {
      const egress = httpRoute(route, clusterNameOf, 'sidecar');
      routes.push({
        ...egress,
        match: {
          ...egress.match,
          headers: [
            ...egress.match.headers,
            { name: GATEWAY_TARGET_HEADER, match: { kind: 'exact', value: key }, invert: false },
          ],
        },
        // The provider route's own header rule applies on this hop too, as on a sidecar.
        requestHeadersToRemove: [GATEWAY_TARGET_HEADER, ...(egress.requestHeadersToRemove ?? [])],
      });
    }
  }
  const { clusters, endpoints } = egressClusters(context, requests);
  return {
    listeners: [
      {
        kind: 'socket',
        name: GATEWAY_EGRESS_LISTENER,
        address: { host: context.loopback, port: EGRESS_PORT, ipv4Compat: false },
        direction: 'outbound',
        redirected: false,
        filterChains: [
          {
            network: {
              kind: 'http',
              statPrefix: EGRESS_STAT_PREFIX,
              normalizePath: true,
              websocket: context.gateway.listeners.some(
                (listener) => listener.portMapping.protocol === 'http',
              ),
              routes: { kind: 'rds', name: GATEWAY_EGRESS_ROUTE_CONFIGURATION },
              ...(context.tracing !== undefined && { tracing: context.tracing }),
              ...(context.accessLog !== undefined && { accessLog: context.accessLog }),
            },
          },
        ],
      },
    ],
    routeConfigurations: [
      {
        name: GATEWAY_EGRESS_ROUTE_CONFIGURATION,
        virtualHosts: [{ name: context.gatewayName, domains: ['*'], routes }],
      },
    ],
    clusters,
    endpoints,
  };
}
