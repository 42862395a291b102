import type { Listener, PortProtocol, VirtualNodeSpec } from '../../../mesh-model/src/validation';
import {
  sortedProxyIr,
  type AccessLogIr,
  type ClusterIr,
  type DownstreamTlsIr,
  type EndpointSetIr,
  type FilterChainIr,
  type ListenerIr,
  type ProxyIr,
  type RouteConfigurationIr,
  type TracingIr,
  type UpstreamTlsIr,
  type VirtualHostIr,
} from '../ir';
import type { EndpointRegistry, MeshSnapshot, TracingSettings } from '../mesh-snapshot';
import {
  EGRESS_LISTENER,
  EGRESS_PORT,
  EGRESS_STAT_PREFIX,
  INGRESS_LISTENER,
  INGRESS_PORT,
  INGRESS_STAT_PREFIX,
  INGRESS_VIRTUAL_HOST,
  PASSTHROUGH_ROUTE,
  PASSTHROUGH_VIRTUAL_HOST,
  AWS_API_PORT,
  AWS_API_SERVER_NAMES,
  amazonawsClusterName,
  egressClusterName,
  egressRouteConfigurationName,
  ingressClusterName,
  ingressRouteConfigurationName,
  passthroughClusterName,
} from '../names';
import { compareStrings, resourcePath, type TranslationErrors } from '../translation-errors';
import { CONNECT_TIMEOUT_MS } from './durations';
import {
  circuitBreaker,
  healthCheck,
  listenerHttpTimeouts,
  listenerTcpIdleTimeoutMs,
  outlierDetection,
} from './listener-policies';
import { accessLog, backendsOf, tracing, type Backend } from './proxy-settings';
import { MATCH_EVERYTHING } from './route-matches';
import { httpRoute, tcpDestination, type ClusterNameOf } from './routes';
import {
  bindAddress,
  ipPreferenceOf,
  localAppAddress,
  serviceDiscoveryName,
  sidecarTargetDiscovery,
} from './service-discovery';
import { ServedSecrets, downstreamTls, upstreamTls, type TlsDecision } from './tls';
import { servicePorts, type ResolvedTarget, type ServicePort } from './virtual-services';

/** What building clusters to virtual services' targets reads, for a sidecar or a gateway. */
export interface EgressContext {
  mesh: MeshSnapshot;
  registry: EndpointRegistry | undefined;
  errors: TranslationErrors;
  secrets: ServedSecrets;
}

/** What every part of one sidecar's translation reads. */
interface Sidecar extends EgressContext {
  nodeName: string;
  node: VirtualNodeSpec;
  tracing?: TracingIr;
  accessLog?: AccessLogIr;
}

/**
 * The configuration of the Envoy sidecar of one virtual node: an inbound listener in front of the
 * local application and an outbound listener towards the node's backends.
 */
export function sidecarIr(
  mesh: MeshSnapshot,
  nodeName: string,
  tracingSettings: TracingSettings,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): ProxyIr {
  const node = mesh.virtualNodes.get(nodeName);
  if (node === undefined) {
    errors.add(
      'missing-reference',
      resourcePath.virtualNode(nodeName),
      'virtual node does not exist',
    );
    return { listeners: [], routeConfigurations: [], clusters: [], endpoints: [], secrets: [] };
  }
  const traced = tracing(tracingSettings, mesh.meshName, nodeName);
  const logged = accessLog(node.logging);
  const sidecar: Sidecar = {
    mesh,
    nodeName,
    node,
    registry,
    errors,
    secrets: new ServedSecrets(mesh.certificates),
    ...(traced !== undefined && { tracing: traced }),
    ...(logged !== undefined && { accessLog: logged }),
  };
  const ingress = ingressIr(sidecar);
  const egress = egressIr(sidecar);
  return sortedProxyIr({
    listeners: [...ingress.listeners, ...egress.listeners],
    routeConfigurations: egress.routeConfigurations,
    clusters: [...ingress.clusters, ...egress.clusters],
    endpoints: egress.endpoints,
    secrets: sidecar.secrets.list(),
  });
}

// Ingress: one filter chain per listener of the node, matched on the port the client connected
// to, in front of a static cluster to the application on the loopback address.

function ingressIr(sidecar: Sidecar): Pick<ProxyIr, 'listeners' | 'clusters'> {
  const { mesh, nodeName, node, errors } = sidecar;
  const preference = ipPreferenceOf(node, mesh.spec);
  const chains: FilterChainIr[] = [];
  const clusters: ClusterIr[] = [];
  (node.listeners ?? []).forEach((listener, index) => {
    const path = `${resourcePath.virtualNode(nodeName)}.spec.listeners[${index}]`;
    const { protocol, port } = listener.portMapping;
    const tls = downstreamTls(listener.tls, protocol, sidecar.secrets, errors, path);
    const permissive = listener.tls?.mode === 'PERMISSIVE';
    if (tls.kind === 'unsupported' && !permissive) return;
    const clusterName = ingressClusterName(mesh.meshName, nodeName, protocol, port);
    clusters.push({
      name: clusterName,
      discovery: { kind: 'static', endpoints: [{ address: localAppAddress(preference), port }] },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...upstreamProtocol(protocol),
      circuitBreaker: circuitBreaker(listener.connectionPool),
    });
    const network = ingressNetwork(sidecar, listener, clusterName);
    chains.push(...listenerFilterChains(tls, permissive, network, port));
  });
  if (chains.length === 0) return { listeners: [], clusters };
  return {
    listeners: [
      {
        kind: 'socket',
        name: INGRESS_LISTENER,
        address: bindAddress(preference, INGRESS_PORT),
        direction: 'inbound',
        redirected: true,
        filterChains: chains.sort(byFilterChainMatch),
      },
    ],
    clusters,
  };
}

/**
 * The filter chains of one listener under its TLS mode. PERMISSIVE: the TLS inspector tells a TLS
 * handshake from plaintext, so TLS connections take the TLS chain and the rest the plaintext one
 * (App Mesh's staged TLS rollout). A certificate that cannot be served leaves STRICT unserved.
 */
export function listenerFilterChains(
  tls: TlsDecision<DownstreamTlsIr>,
  permissive: boolean,
  network: FilterChainIr['network'],
  destinationPort?: number,
): FilterChainIr[] {
  const chains: FilterChainIr[] = [];
  const port = destinationPort === undefined ? {} : { destinationPort };
  if (tls.kind === 'tls') {
    chains.push({
      ...port,
      ...(permissive && { transportProtocol: 'tls' as const }),
      tls: tls.tls,
      network,
    });
  }
  if (tls.kind === 'none' || permissive) chains.push({ ...port, network });
  return chains;
}

function ingressNetwork(
  sidecar: Sidecar,
  listener: Listener,
  clusterName: string,
): FilterChainIr['network'] {
  const { protocol, port } = listener.portMapping;
  if (protocol === 'tcp') {
    const idleTimeoutMs = listenerTcpIdleTimeoutMs(listener);
    return {
      kind: 'tcp',
      statPrefix: INGRESS_STAT_PREFIX,
      destination: { kind: 'cluster', name: clusterName },
      ...(idleTimeoutMs !== undefined && { idleTimeoutMs }),
      ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
    };
  }
  return {
    kind: 'http',
    statPrefix: INGRESS_STAT_PREFIX,
    normalizePath: true,
    websocket: protocol === 'http',
    routes: {
      kind: 'inline',
      config: {
        name: ingressRouteConfigurationName(protocol, port),
        virtualHosts: [
          {
            name: INGRESS_VIRTUAL_HOST,
            domains: ['*'],
            routes: [
              {
                name: INGRESS_VIRTUAL_HOST,
                match: MATCH_EVERYTHING,
                action: {
                  destination: { kind: 'cluster', name: clusterName },
                  ...listenerHttpTimeouts(listener),
                },
              },
            ],
          },
        ],
      },
    },
    ...(sidecar.tracing !== undefined && { tracing: sidecar.tracing }),
    ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
  };
}

// Egress: one filter chain per destination port the backends use. HTTP-family ports share a route
// configuration with a virtual host per backend virtual service; a TCP port has no host name to
// tell services apart, so it carries one service.

/** What the backends put on one destination port. */
interface EgressPort {
  protocol: PortProtocol;
  /** The virtual service that claimed the port first (backends are visited sorted). */
  claimedBy: string;
  virtualHosts: VirtualHostIr[];
  tcp?: Extract<FilterChainIr['network'], { kind: 'tcp' }>;
}

/** A cluster to a target listener, and the backend whose client policy it carries. */
export interface ClusterRequest {
  target: ResolvedTarget;
  backend: Backend;
  tls: TlsDecision<UpstreamTlsIr>;
}

function egressIr(sidecar: Sidecar): Omit<ProxyIr, 'secrets'> {
  const { mesh, node } = sidecar;
  const { ports, requests } = egressPorts(sidecar);
  const { clusters, endpoints } = egressClusters(sidecar, requests);
  // ALLOW_ALL: connections to any other port, and requests for any other host on an HTTP port,
  // go where the application sent them. DROP_ALL (App Mesh's default): they are closed, and an
  // unknown host gets Envoy's 404.
  const passthrough =
    mesh.spec.egressFilter?.type === 'ALLOW_ALL'
      ? passthroughClusterName(mesh.meshName)
      : undefined;

  const routeConfigurations: RouteConfigurationIr[] = [];
  const chains: FilterChainIr[] = [];
  for (const [port, egressPort] of [...ports.entries()].sort(([a], [b]) => a - b)) {
    if (egressPort.protocol === 'tcp') {
      if (egressPort.tcp !== undefined) {
        chains.push({ destinationPort: port, network: egressPort.tcp });
      }
      continue;
    }
    const name = egressRouteConfigurationName(egressPort.protocol, port);
    const virtualHosts = egressPort.virtualHosts.sort((a, b) => compareStrings(a.name, b.name));
    if (passthrough !== undefined) virtualHosts.push(passthroughVirtualHost(passthrough));
    routeConfigurations.push({ name, virtualHosts });
    chains.push({
      destinationPort: port,
      network: {
        kind: 'http',
        statPrefix: EGRESS_STAT_PREFIX,
        normalizePath: true,
        websocket: egressPort.protocol === 'http',
        routes: { kind: 'rds', name },
        ...(sidecar.tracing !== undefined && { tracing: sidecar.tracing }),
        ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
      },
    });
  }

  if (passthrough === undefined) {
    // DROP_ALL still lets applications reach AWS APIs (App Mesh user guide, meshes: "any traffic
    // to *.amazonaws.com"): HTTPS whose SNI is an AWS API host goes where it was sent.
    const amazonaws = amazonawsClusterName(mesh.meshName);
    clusters.push({
      name: amazonaws,
      discovery: { kind: 'originalDst' },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    chains.push({
      destinationPort: AWS_API_PORT,
      transportProtocol: 'tls',
      serverNames: [...AWS_API_SERVER_NAMES],
      network: {
        kind: 'tcp',
        statPrefix: EGRESS_STAT_PREFIX,
        destination: { kind: 'cluster', name: amazonaws },
        ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
      },
    });
    chains.sort(byFilterChainMatch);
  }

  let defaultFilterChain: FilterChainIr | undefined;
  if (passthrough !== undefined) {
    clusters.push({
      name: passthrough,
      discovery: { kind: 'originalDst' },
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    defaultFilterChain = {
      network: {
        kind: 'tcp',
        statPrefix: EGRESS_STAT_PREFIX,
        destination: { kind: 'cluster', name: passthrough },
        ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
      },
    };
  }
  // Envoy rejects a listener without filter chains; without one nothing leaves through it anyway.
  const listeners: ListenerIr[] =
    chains.length === 0 && defaultFilterChain === undefined
      ? []
      : [
          {
            kind: 'socket',
            name: EGRESS_LISTENER,
            address: bindAddress(ipPreferenceOf(node, mesh.spec), EGRESS_PORT),
            direction: 'outbound',
            redirected: true,
            filterChains: chains,
            ...(defaultFilterChain !== undefined && { defaultFilterChain }),
          },
        ];
  return { listeners, routeConfigurations, clusters, endpoints };
}

/**
 * What the node's backends put on each destination port, visiting backends by name: the first to
 * use a port decides its protocol, and on a TCP port it is the only service.
 */
function egressPorts(sidecar: Sidecar): {
  ports: Map<number, EgressPort>;
  requests: Map<string, ClusterRequest>;
} {
  const { mesh, nodeName, node, errors } = sidecar;
  const ports = new Map<number, EgressPort>();
  const requests = new Map<string, ClusterRequest>();
  for (const backend of backendsOf(nodeName, node)) {
    const clusterNameOf = (target: ResolvedTarget) =>
      requestCluster(sidecar, requests, target, backend);
    const resolved = servicePorts(
      mesh,
      backend.serviceName,
      `${backend.path}.virtualServiceName`,
      errors,
    );
    for (const servicePort of resolved ?? []) {
      const { protocol, port } = servicePort;
      const egressPort = ports.get(port) ?? {
        protocol,
        claimedBy: backend.serviceName,
        virtualHosts: [],
      };
      ports.set(port, egressPort);
      if (egressPort.protocol !== protocol) {
        errors.add(
          'port-conflict',
          backend.path,
          `virtual service ${backend.serviceName} uses port ${port} with ${protocol}, but ` +
            `${egressPort.claimedBy} uses it with ${egressPort.protocol}; one port carries one protocol`,
        );
      } else if (protocol === 'tcp') {
        addTcpService(sidecar, egressPort, servicePort, backend, clusterNameOf);
      } else {
        addVirtualHost(
          egressPort,
          {
            name: backend.serviceName,
            statsTags: [{ key: 'TargetVirtualService', value: backend.serviceName }],
            domains: [backend.serviceName, `${backend.serviceName}:${port}`],
            routes: servicePort.routes.map((route) => httpRoute(route, clusterNameOf, 'sidecar')),
          },
          backend,
          errors,
        );
      }
    }
  }
  return { ports, requests };
}

/** A TCP port's only service: its first route in match order (TCP routes match nothing else). */
function addTcpService(
  sidecar: Sidecar,
  egressPort: EgressPort,
  servicePort: ServicePort,
  backend: Backend,
  clusterNameOf: ClusterNameOf,
): void {
  const route = servicePort.routes[0];
  if (route === undefined) return;
  if (egressPort.tcp !== undefined) {
    sidecar.errors.add(
      'port-conflict',
      backend.path,
      `TCP port ${servicePort.port} already goes to virtual service ${egressPort.claimedBy}; ` +
        'TCP traffic has no host name to tell services apart',
    );
    return;
  }
  egressPort.tcp = {
    kind: 'tcp',
    statPrefix: EGRESS_STAT_PREFIX,
    destination: tcpDestination(route, clusterNameOf),
    ...(route.idleTimeoutMs !== undefined && { idleTimeoutMs: route.idleTimeoutMs }),
    ...(sidecar.accessLog !== undefined && { accessLog: sidecar.accessLog }),
  };
}

/**
 * Adds a backend's virtual host unless one of its domains is taken: Envoy rejects a route
 * configuration with a domain in two virtual hosts.
 */
function addVirtualHost(
  egressPort: EgressPort,
  virtualHost: VirtualHostIr,
  backend: Backend,
  errors: TranslationErrors,
): void {
  for (const existing of egressPort.virtualHosts) {
    const clash = virtualHost.domains.find((domain) => existing.domains.includes(domain));
    if (clash !== undefined) {
      errors.add(
        'port-conflict',
        backend.path,
        `domain ${clash} already belongs to virtual service ${existing.name}`,
      );
      return;
    }
  }
  egressPort.virtualHosts.push(virtualHost);
}

function passthroughVirtualHost(cluster: string): VirtualHostIr {
  return {
    name: PASSTHROUGH_VIRTUAL_HOST,
    domains: ['*'],
    routes: [
      {
        name: PASSTHROUGH_ROUTE,
        match: MATCH_EVERYTHING,
        action: { destination: { kind: 'cluster', name: cluster } },
      },
    ],
  };
}

/**
 * The name of a target listener's cluster, recording the request. The first backend (by name) to
 * reach a cluster decides its client policy; a later backend whose policy differs is reported.
 */
export function requestCluster(
  sidecar: EgressContext,
  requests: Map<string, ClusterRequest>,
  target: ResolvedTarget,
  backend: Backend,
): string {
  const { protocol, port } = target.listener.portMapping;
  const name = egressClusterName(sidecar.mesh.meshName, target.nodeName, protocol, port);
  const tls = upstreamTls(
    backend.clientPolicy,
    { port, protocol, defaultSubjectAlternativeName: serviceDiscoveryName(target.node) },
    sidecar.secrets,
    sidecar.errors,
    backend.policyPath,
  );
  const existing = requests.get(name);
  if (existing === undefined) {
    requests.set(name, { target, backend, tls });
  } else if (JSON.stringify(existing.tls) !== JSON.stringify(tls)) {
    sidecar.errors.add(
      'port-conflict',
      backend.path,
      `cluster ${name} is shared with virtual service ${existing.backend.serviceName}, whose ` +
        'client policy differs; that policy applies',
    );
  }
  return name;
}

export function egressClusters(
  sidecar: EgressContext,
  requests: Map<string, ClusterRequest>,
): Pick<ProxyIr, 'clusters' | 'endpoints'> {
  const clusters: ClusterIr[] = [];
  const endpoints: EndpointSetIr[] = [];
  for (const [name, { target, tls }] of [...requests.entries()].sort(([a], [b]) =>
    compareStrings(a, b),
  )) {
    const { listener } = target;
    const discoveryPath = `${resourcePath.virtualNode(target.nodeName)}.spec.serviceDiscovery`;
    const { discovery, edsEndpoints } =
      tls.kind === 'unsupported'
        ? { discovery: { kind: 'static' as const, endpoints: [] }, edsEndpoints: undefined }
        : sidecarTargetDiscovery(
            { nodeName: target.nodeName, node: target.node, port: listener.portMapping.port },
            sidecar.mesh.spec,
            sidecar.registry,
            sidecar.errors,
            discoveryPath,
          );
    clusters.push({
      name,
      discovery,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...upstreamProtocol(listener.portMapping.protocol),
      circuitBreaker: circuitBreaker(undefined),
      ...(listener.outlierDetection !== undefined && {
        outlierDetection: outlierDetection(listener.outlierDetection),
      }),
      ...(listener.healthCheck !== undefined && { healthCheck: healthCheck(listener.healthCheck) }),
      ...(tls.kind === 'tls' && { tls: tls.tls }),
      statsTags: [{ key: 'TargetVirtualNode', value: target.nodeName }],
    });
    if (edsEndpoints !== undefined) endpoints.push({ clusterName: name, endpoints: edsEndpoints });
  }
  return { clusters, endpoints };
}

/**
 * Filter chains by destination port, and on one port the chain with more match criteria first
 * (TLS before plaintext), so that the order is deterministic.
 */
export function byFilterChainMatch(a: FilterChainIr, b: FilterChainIr): number {
  const criteria = (chain: FilterChainIr) =>
    (chain.transportProtocol === undefined ? 0 : 1) + (chain.serverNames === undefined ? 0 : 1);
  return (a.destinationPort ?? 0) - (b.destinationPort ?? 0) || criteria(b) - criteria(a);
}

/** HTTP/2 and gRPC listeners are reached over HTTP/2, HTTP ones over HTTP/1.1; TCP needs neither. */
export function upstreamProtocol(protocol: PortProtocol): Pick<ClusterIr, 'upstreamProtocol'> {
  switch (protocol) {
    case 'http':
      return { upstreamProtocol: 'http1' };
    case 'http2':
    case 'grpc':
      return { upstreamProtocol: 'http2' };
    case 'tcp':
      return {};
  }
}
