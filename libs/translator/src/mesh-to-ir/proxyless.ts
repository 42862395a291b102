import {
  sortedProxyIr,
  type ClusterIr,
  type EndpointSetIr,
  type ProxyIr,
  type RouteConfigurationIr,
} from '../ir';
import type { EndpointRegistry, MeshSnapshot } from '../mesh-snapshot';
import { apiListenerName, proxylessClusterName, proxylessRouteConfigurationName } from '../names';
import { resourcePath, type TranslationErrors } from '../translation-errors';
import { CONNECT_TIMEOUT_MS } from './durations';
import { outlierDetection } from './listener-policies';
import { allServicesAsBackends, backendsOf, type Backend } from './proxy-settings';
import { httpRoute } from './routes';
import { proxylessTargetEndpoints } from './service-discovery';
import { clientPolicyRequiresTls } from './tls';
import { servicePorts, type ResolvedTarget, type ServicePort } from './virtual-services';

/**
 * The configuration of a proxyless gRPC client running as a virtual node (gRFC A27): for each
 * virtual service it may call, an API listener per port, named as the client's target
 * (`xds:///<service>:<port>`, and the bare `xds:///<service>` for the provider's first
 * listener), an RDS route configuration with the router's routes, and EDS clusters.
 *
 * The services are the node's backends; a node without backends may call every virtual service of
 * the mesh (a proxyless client has no iptables to confine it, and its targets name the service).
 * TCP listeners are skipped: gRPC speaks HTTP/2. X-Ray and access logs are sidecar features that
 * gRPC ignores, so they are not sent.
 */
export function proxylessIr(
  mesh: MeshSnapshot,
  nodeName: string,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): ProxyIr {
  const ir: ProxyIr = {
    listeners: [],
    routeConfigurations: [],
    clusters: [],
    endpoints: [],
    secrets: [],
  };
  const node = mesh.virtualNodes.get(nodeName);
  if (node === undefined) {
    errors.add(
      'missing-reference',
      resourcePath.virtualNode(nodeName),
      'virtual node does not exist',
    );
    return ir;
  }
  const backends =
    (node.backends ?? []).length > 0
      ? backendsOf(nodeName, node)
      : allServicesAsBackends(mesh, nodeName, node);
  const clusters = new Map<string, ResolvedTarget>();
  for (const backend of backends) {
    const ports = servicePorts(
      mesh,
      backend.serviceName,
      `${backend.path}.virtualServiceName`,
      errors,
    );
    const grpcPorts = (ports ?? []).filter((port) => port.protocol !== 'tcp');
    if (!tlsFree(backend, grpcPorts, errors)) continue;
    grpcPorts.forEach((servicePort, index) => {
      const serviceName = backend.serviceName;
      const routeConfigurationName = proxylessRouteConfigurationName(serviceName, servicePort.port);
      const clusterNameOf = (target: ResolvedTarget) => {
        const { protocol, port } = target.listener.portMapping;
        const name = proxylessClusterName(mesh.meshName, target.nodeName, protocol, port);
        clusters.set(name, target);
        return name;
      };
      ir.routeConfigurations.push(
        routeConfiguration(serviceName, servicePort, routeConfigurationName, clusterNameOf),
      );
      for (const route of servicePort.routes) {
        if (route.headerRules === undefined) continue;
        errors.add(
          'unsupported',
          route.headerRules.path,
          `proxyless gRPC client ${nodeName} does not apply route header rules (gRFC A28); ` +
            'its calls go without them',
        );
      }
      const names = [apiListenerName(serviceName, servicePort.port)];
      if (index === 0) names.push(apiListenerName(serviceName));
      for (const name of names) ir.listeners.push({ kind: 'api', name, routeConfigurationName });
    });
  }
  for (const [name, target] of clusters) {
    ir.clusters.push(edsCluster(name, target));
    ir.endpoints.push(endpointSet(name, target, mesh, registry, errors));
  }
  return sortedProxyIr(ir);
}

/**
 * gRPC clients take TLS from certificate providers in their bootstrap (gRFC A29), which App Mesh
 * file and SDS certificates do not map to; a backend whose client policy requires TLS is left out
 * rather than called in plaintext.
 */
function tlsFree(backend: Backend, ports: ServicePort[], errors: TranslationErrors): boolean {
  const needsTls = ports.some((servicePort) =>
    servicePort.routes.some((route) =>
      route.targets.some((target) => {
        return clientPolicyRequiresTls(backend.clientPolicy, target.listener.portMapping.port);
      }),
    ),
  );
  if (needsTls) {
    errors.add(
      'unsupported',
      backend.policyPath,
      `proxyless gRPC clients cannot use App Mesh client TLS; virtual service ${backend.serviceName} is left out`,
    );
  }
  return !needsTls;
}

function routeConfiguration(
  serviceName: string,
  servicePort: ServicePort,
  name: string,
  clusterNameOf: (target: ResolvedTarget) => string,
): RouteConfigurationIr {
  return {
    name,
    virtualHosts: [
      {
        name: serviceName,
        domains: [serviceName, `${serviceName}:${servicePort.port}`],
        routes: servicePort.routes.map((route) => httpRoute(route, clusterNameOf, 'proxyless')),
      },
    ],
  };
}

/** gRPC supports outlier detection (gRFC A50); its clients do no active health checks. */
function edsCluster(name: string, target: ResolvedTarget): ClusterIr {
  const detection = target.listener.outlierDetection;
  return {
    name,
    discovery: { kind: 'eds' },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    ...(detection !== undefined && { outlierDetection: outlierDetection(detection) }),
  };
}

function endpointSet(
  name: string,
  target: ResolvedTarget,
  mesh: MeshSnapshot,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): EndpointSetIr {
  return {
    clusterName: name,
    endpoints: proxylessTargetEndpoints(
      { nodeName: target.nodeName, node: target.node, port: target.listener.portMapping.port },
      mesh.spec,
      registry,
      errors,
      `${resourcePath.virtualNode(target.nodeName)}.spec.serviceDiscovery`,
    ),
  };
}
