import type {
  GrpcRetryPolicy,
  HttpRetryPolicy,
  Listener,
  PortProtocol,
  RouteSpec,
  VirtualNodeSpec,
  WeightedTarget,
} from '../../../mesh-model/src/validation';
import type { HeaderRules } from '../../../mesh-model/src/header-rules';
import type { RouteMatchIr } from '../ir';
import type { MeshSnapshot, NamedRoute } from '../mesh-snapshot';
import { resourcePath, type TranslationErrors } from '../translation-errors';
import { durationMs, requestTimeouts } from './durations';
import { headerRulesOf } from './header-rules';
import { MATCH_EVERYTHING, grpcRouteMatch, httpRouteMatch } from './route-matches';
import { inMatchOrder } from './route-order';

/** One port a virtual service answers on: a listener of its provider and the routes behind it. */
export interface ServicePort {
  protocol: PortProtocol;
  port: number;
  /** In match order. */
  routes: ResolvedRoute[];
}

/** A route whose targets resolved to listeners of existing virtual nodes. */
export interface ResolvedRoute {
  name: string;
  /** Unset for TCP routes. */
  match?: RouteMatchIr;
  targets: ResolvedTarget[];
  timeoutMs?: number;
  idleTimeoutMs?: number;
  /** App Mesh's policy; unset on virtual-node providers and TCP routes. */
  retryPolicy?: HttpRetryPolicy | GrpcRetryPolicy;
  /** The route's header rule (Trellis' `/v1` resource) and its path; unset on TCP routes. */
  headerRules?: { rules: HeaderRules; path: string };
}

/** A weighted target: one listener of a virtual node. */
export interface ResolvedTarget {
  nodeName: string;
  node: VirtualNodeSpec;
  listener: Listener;
  weight: number;
}

/**
 * The ports of a virtual service, by port: its provider's listeners, each with the routes that
 * serve it. Undefined, with an error, when the service or its provider does not resolve.
 */
export function servicePorts(
  mesh: MeshSnapshot,
  serviceName: string,
  referencePath: string,
  errors: TranslationErrors,
): ServicePort[] | undefined {
  const service = mesh.virtualServices.get(serviceName);
  if (service === undefined) {
    errors.add('missing-reference', referencePath, `virtual service ${serviceName} does not exist`);
    return undefined;
  }
  const provider = service.provider;
  const servicePath = resourcePath.virtualService(serviceName);
  if (provider === undefined) {
    errors.add(
      'missing-reference',
      `${servicePath}.spec.provider`,
      'the virtual service has no provider to route to',
    );
    return undefined;
  }
  if ('virtualNode' in provider) {
    return nodeProviderPorts(
      mesh,
      provider.virtualNode.virtualNodeName,
      `${servicePath}.spec.provider.virtualNode.virtualNodeName`,
      errors,
    );
  }
  return routerPorts(
    mesh,
    provider.virtualRouter.virtualRouterName,
    `${servicePath}.spec.provider.virtualRouter.virtualRouterName`,
    errors,
  );
}

/**
 * A virtual-node provider: each of its listeners is a port of the service, with one route that
 * sends everything there under App Mesh's default timeouts and retry policy.
 */
function nodeProviderPorts(
  mesh: MeshSnapshot,
  nodeName: string,
  path: string,
  errors: TranslationErrors,
): ServicePort[] | undefined {
  const node = mesh.virtualNodes.get(nodeName);
  if (node === undefined) {
    errors.add('missing-reference', path, `virtual node ${nodeName} does not exist`);
    return undefined;
  }
  const listeners = sortedByPort(node.listeners ?? []);
  if (listeners.length === 0) {
    errors.add(
      'missing-reference',
      path,
      `virtual node ${nodeName} has no listeners to send traffic to`,
    );
  }
  return listeners.map((listener) => {
    const { protocol, port } = listener.portMapping;
    const target: ResolvedTarget = { nodeName, node, listener, weight: 100 };
    const isTcp = protocol === 'tcp';
    return {
      protocol,
      port,
      routes: [
        {
          name: nodeName,
          targets: [target],
          ...(!isTcp && { match: MATCH_EVERYTHING, ...requestTimeouts(undefined) }),
        },
      ],
    };
  });
}

/**
 * A virtual-router provider: each router listener is a port; a route serves the listeners of its
 * protocol (httpRoute: http, http2Route: http2, grpcRoute: grpc, tcpRoute: tcp) whose port its
 * match names, or all of them when it names none.
 */
function routerPorts(
  mesh: MeshSnapshot,
  routerName: string,
  path: string,
  errors: TranslationErrors,
): ServicePort[] | undefined {
  const router = mesh.virtualRouters.get(routerName);
  if (router === undefined) {
    errors.add('missing-reference', path, `virtual router ${routerName} does not exist`);
    return undefined;
  }
  const listeners = sortedByPort(router.listeners ?? []);
  const routes = mesh.routes.get(routerName) ?? [];
  for (const route of routes) {
    const serving = listeners.filter((listener) => serves(route.spec, listener.portMapping));
    const { protocol: routeProtocol, port: matchPort } = routeListenerKey(route.spec);
    if (serving.length > 1 && matchPort === undefined) {
      errors.add(
        'ambiguous-spec',
        `${resourcePath.route(routerName, route.name)}.spec`,
        `virtual router ${routerName} has ${serving.length} ${routeProtocol} ` +
          `listeners (ports ${serving.map((l) => l.portMapping.port).join(', ')}) and the route ` +
          'names no match port; it serves all of them',
      );
    }
    if (serving.length === 0) {
      const { protocol, port } = routeListenerKey(route.spec);
      errors.add(
        'missing-reference',
        `${resourcePath.route(routerName, route.name)}.spec`,
        `virtual router ${routerName} has no ${protocol} listener` +
          (port === undefined ? '' : ` on port ${port}`) +
          ' for this route',
      );
    }
  }
  return listeners.map(({ portMapping }) => ({
    protocol: portMapping.protocol,
    port: portMapping.port,
    routes: inMatchOrder(routes.filter((route) => serves(route.spec, portMapping)))
      .map((route) => resolveRoute(mesh, routerName, route, errors))
      .filter((route): route is ResolvedRoute => route !== undefined),
  }));
}

function serves(spec: RouteSpec, portMapping: { protocol: PortProtocol; port: number }): boolean {
  const { protocol, port } = routeListenerKey(spec);
  return protocol === portMapping.protocol && (port === undefined || port === portMapping.port);
}

/** The route type a spec sets, the listener protocol it serves and the port its match names. */
function routeListenerKey(spec: RouteSpec): {
  type: 'httpRoute' | 'http2Route' | 'grpcRoute' | 'tcpRoute';
  protocol: PortProtocol;
  port?: number;
} {
  if (spec.httpRoute)
    return { type: 'httpRoute', protocol: 'http', port: spec.httpRoute.match.port };
  if (spec.http2Route) {
    return { type: 'http2Route', protocol: 'http2', port: spec.http2Route.match.port };
  }
  if (spec.grpcRoute)
    return { type: 'grpcRoute', protocol: 'grpc', port: spec.grpcRoute.match.port };
  return { type: 'tcpRoute', protocol: 'tcp', port: spec.tcpRoute?.match?.port };
}

/**
 * A route with its targets resolved. Targets that do not resolve are dropped with an error; a
 * route left without targets, or whose weights add up to 0 (Envoy needs a positive total), is
 * dropped with an error too. Zero-weight targets are kept, as App Mesh does.
 */
function resolveRoute(
  mesh: MeshSnapshot,
  routerName: string,
  route: NamedRoute,
  errors: TranslationErrors,
): ResolvedRoute | undefined {
  const { spec } = route;
  const http = spec.httpRoute ?? spec.http2Route;
  const { type, protocol } = routeListenerKey(spec);
  const typePath = `${resourcePath.route(routerName, route.name)}.spec.${type}`;
  const action = http?.action ?? spec.grpcRoute?.action ?? spec.tcpRoute?.action;
  const targets = (action?.weightedTargets ?? [])
    .map((target, index) =>
      resolveTarget(mesh, target, protocol, `${typePath}.action.weightedTargets[${index}]`, errors),
    )
    .filter((target): target is ResolvedTarget => target !== undefined);
  if (targets.length === 0) {
    errors.add(
      'missing-reference',
      `${typePath}.action.weightedTargets`,
      'no target resolves; the route is left out',
    );
    return undefined;
  }
  if (targets.every((target) => target.weight === 0)) {
    errors.add(
      'invalid-resource',
      `${typePath}.action.weightedTargets`,
      'every target has weight 0; Envoy needs a positive total, so the route is left out',
    );
    return undefined;
  }
  const routePath = resourcePath.route(routerName, route.name);
  const rules = headerRulesOf(mesh.routeHeaderRules?.get(routerName), route.name);
  const headerRules = rules && { rules, path: resourcePath.headerRule(routePath) };
  if (headerRules !== undefined && spec.tcpRoute !== undefined) {
    errors.add(
      'unsupported',
      headerRules.path,
      'the route is a TCP route, whose connections carry no HTTP headers; the header rule is not applied',
    );
  }
  const base = {
    name: route.name,
    targets,
    ...(headerRules !== undefined && spec.tcpRoute === undefined && { headerRules }),
  };
  if (http !== undefined) {
    if (http.match.prefix !== undefined && http.match.path !== undefined) {
      errors.add(
        'ambiguous-spec',
        `${typePath}.match`,
        'both prefix and path are set; the path is matched and the prefix ignored',
      );
    }
    return {
      ...base,
      match: httpRouteMatch(http.match),
      ...requestTimeouts(http.timeout),
      ...(http.retryPolicy !== undefined && { retryPolicy: http.retryPolicy }),
    };
  }
  if (spec.grpcRoute !== undefined) {
    return {
      ...base,
      match: grpcRouteMatch(spec.grpcRoute.match),
      ...requestTimeouts(spec.grpcRoute.timeout),
      ...(spec.grpcRoute.retryPolicy !== undefined && { retryPolicy: spec.grpcRoute.retryPolicy }),
    };
  }
  const idle = spec.tcpRoute?.timeout?.idle;
  return { ...base, ...(idle !== undefined && { idleTimeoutMs: durationMs(idle) }) };
}

/**
 * A weighted target's listener: the one on `port` when the target names a port, the only one
 * otherwise. A node with several listeners needs the port (App Mesh user guide, multiple
 * listeners), and the listener must speak the route's protocol.
 */
function resolveTarget(
  mesh: MeshSnapshot,
  target: WeightedTarget,
  protocol: PortProtocol,
  path: string,
  errors: TranslationErrors,
): ResolvedTarget | undefined {
  const node = mesh.virtualNodes.get(target.virtualNode);
  if (node === undefined) {
    errors.add(
      'missing-reference',
      `${path}.virtualNode`,
      `virtual node ${target.virtualNode} does not exist`,
    );
    return undefined;
  }
  const listeners = node.listeners ?? [];
  let listener: Listener | undefined;
  if (target.port !== undefined) {
    listener = listeners.find((candidate) => candidate.portMapping.port === target.port);
    if (listener === undefined) {
      errors.add(
        'missing-reference',
        `${path}.port`,
        `virtual node ${target.virtualNode} has no listener on port ${target.port}`,
      );
      return undefined;
    }
  } else if (listeners.length === 1) {
    listener = listeners[0];
  } else {
    errors.add(
      listeners.length === 0 ? 'missing-reference' : 'ambiguous-spec',
      path,
      listeners.length === 0
        ? `virtual node ${target.virtualNode} has no listeners to send traffic to`
        : `virtual node ${target.virtualNode} has ${listeners.length} listeners; the target needs a port`,
    );
    return undefined;
  }
  if (listener === undefined) return undefined;
  if (listener.portMapping.protocol !== protocol) {
    errors.add(
      'port-conflict',
      path,
      `virtual node ${target.virtualNode} listens with ${listener.portMapping.protocol} on port ` +
        `${listener.portMapping.port}, not ${protocol} as the route`,
    );
    return undefined;
  }
  return { nodeName: target.virtualNode, node, listener, weight: target.weight };
}

function sortedByPort<L extends { portMapping: { port: number } }>(listeners: readonly L[]): L[] {
  return [...listeners].sort((a, b) => a.portMapping.port - b.portMapping.port);
}
