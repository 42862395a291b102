import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  type $Command,
  type AppMeshClient,
  type AppMeshClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type RouteSpec,
} from '@aws-sdk/client-app-mesh';
import {
  Cluster,
  Cluster_DiscoveryType,
} from '../../libs/envoy-api/generated/envoy/config/cluster/v3/cluster';
import type {
  Node,
  TransportSocket,
} from '../../libs/envoy-api/generated/envoy/config/core/v3/base';
import { ClusterLoadAssignment } from '../../libs/envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import { Listener } from '../../libs/envoy-api/generated/envoy/config/listener/v3/listener';
import { RouteConfiguration } from '../../libs/envoy-api/generated/envoy/config/route/v3/route';
import { XRayConfig } from '../../libs/envoy-api/generated/envoy/config/trace/v3/xray';
import { HttpConnectionManager } from '../../libs/envoy-api/generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import type {
  DeltaDiscoveryResponse,
  DiscoveryResponse,
} from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { Secret } from '../../libs/envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/secret';
import {
  DownstreamTlsContext,
  UpstreamTlsContext,
} from '../../libs/envoy-api/generated/envoy/extensions/transport_sockets/tls/v3/tls';
import type { Any } from '../../libs/envoy-api/generated/google/protobuf/any';
import type { MessageType } from '../../libs/envoy-api/generated/typeRegistry';
import { typeUrl, unpackAny } from '../../libs/envoy-api/src/any';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  SECRET,
  TYPE_SHORT_NAMES,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';
import type { ServerProcess } from './process';
import { DeltaAdsClient, SotwAdsClient, type AdsChannel } from './xds';
import { signedFetch, type Credentials } from './access-keys';

// ---------------------------------------------------------------------------------------------
// App Mesh resources through the AWS SDK.

/**
 * Sends a write; returns the `x-trellis-mesh-revision` its response carried (the SDK drops
 * headers it does not model, so a middleware reads it off the raw response).
 */
export async function sendWrite<Input extends ServiceInputTypes, Output extends ServiceOutputTypes>(
  appMesh: AppMeshClient,
  command: $Command<
    Input,
    Output,
    AppMeshClientResolvedConfig,
    ServiceInputTypes,
    ServiceOutputTypes
  >,
): Promise<number> {
  let revision: string | undefined;
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> }).headers ?? {};
      revision = headers['x-trellis-mesh-revision'];
      return result;
    },
    { step: 'deserialize' },
  );
  await appMesh.send(command);
  if (!revision || !/^\d+$/.test(revision))
    throw new Error(`the response carried no x-trellis-mesh-revision: ${revision}`);
  return Number(revision);
}

/** An HTTP route splitting all traffic between virtual nodes by weight. */
export function weightedHttpRoute(weights: Record<string, number>): RouteSpec {
  return {
    httpRoute: {
      match: { prefix: '/' },
      action: {
        weightedTargets: Object.entries(weights).map(([virtualNode, weight]) => ({
          virtualNode,
          weight,
        })),
      },
    },
  };
}

export const WEB_SERVICE = 'web.local';
export const WEB_PORT = 8080;

/**
 * A canary mesh: virtual nodes `web-v1` and `web-v2` behind the router `web` (route `canary`
 * with `weights`), the virtual service `web.local` on the router, and `front`, whose sidecar
 * calls `web.local`. Every listener is http on 8080.
 */
export async function createCanaryMesh(
  appMesh: AppMeshClient,
  meshName: string,
  weights: Record<'web-v1' | 'web-v2', number>,
): Promise<void> {
  await appMesh.send(new CreateMeshCommand({ meshName }));
  for (const virtualNodeName of ['web-v1', 'web-v2']) {
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName,
        spec: {
          listeners: [{ portMapping: { port: WEB_PORT, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: `${virtualNodeName}.${meshName}.local` } },
        },
      }),
    );
  }
  await appMesh.send(
    new CreateVirtualRouterCommand({
      meshName,
      virtualRouterName: 'web',
      spec: { listeners: [{ portMapping: { port: WEB_PORT, protocol: 'http' } }] },
    }),
  );
  await appMesh.send(
    new CreateRouteCommand({
      meshName,
      virtualRouterName: 'web',
      routeName: 'canary',
      spec: weightedHttpRoute(weights),
    }),
  );
  await appMesh.send(
    new CreateVirtualServiceCommand({
      meshName,
      virtualServiceName: WEB_SERVICE,
      spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
    }),
  );
  await appMesh.send(new CreateVirtualNodeCommand({ meshName, ...frontNode(meshName) }));
}

/** `front`: serves http on 8080 and calls `web.local`. */
export function frontNode(meshName: string) {
  return {
    virtualNodeName: 'front',
    spec: {
      listeners: [{ portMapping: { port: WEB_PORT, protocol: 'http' as const } }],
      serviceDiscovery: { dns: { hostname: `front.${meshName}.local` } },
      backends: [{ virtualService: { virtualServiceName: WEB_SERVICE } }],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading what a proxy received.

/** Every HTTP connection manager of a listener's filter chains (and API listener), decoded. */
export function httpConnectionManagers(listener: Listener): HttpConnectionManager[] {
  const managers: HttpConnectionManager[] = [];
  const chains = [
    ...(listener.filterChains ?? []),
    ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : []),
  ];
  for (const chain of chains) {
    for (const filter of chain.filters ?? []) {
      const config =
        filter.configType?.$case === 'typedConfig' ? filter.configType.value : undefined;
      if (config?.typeUrl === typeUrl(HttpConnectionManager))
        managers.push(unpackAny(config, HttpConnectionManager));
    }
  }
  const api = listener.apiListener?.apiListener;
  if (api) managers.push(unpackAny(api, HttpConnectionManager));
  return managers;
}

/**
 * The SDS secrets the TLS transport sockets of listeners or clusters name that come over ADS (Trellis serves them),
 * as Envoy requests them: certificates, and validation contexts plain or combined.
 */
export function adsSecretNames(sockets: ReadonlyArray<TransportSocket | undefined>): string[] {
  const names: string[] = [];
  for (const socket of sockets) {
    const config =
      socket?.configType?.$case === 'typedConfig' ? socket.configType.value : undefined;
    if (config === undefined) continue;
    const context =
      config.typeUrl === typeUrl(DownstreamTlsContext)
        ? unpackAny(config, DownstreamTlsContext).commonTlsContext
        : unpackAny(config, UpstreamTlsContext).commonTlsContext;
    const validation = context?.validationContextType;
    const configs = [
      ...(context?.tlsCertificateSdsSecretConfigs ?? []),
      ...(validation?.$case === 'validationContextSdsSecretConfig' ? [validation.value] : []),
      ...(validation?.$case === 'combinedValidationContext' &&
      validation.value.validationContextSdsSecretConfig
        ? [validation.value.validationContextSdsSecretConfig]
        : []),
    ];
    for (const sds of configs) {
      if (sds.sdsConfig?.configSourceSpecifier?.$case === 'ads') names.push(sds.name ?? '');
    }
  }
  return names;
}

/** The X-Ray configuration of an HTTP connection manager, or undefined when it does not trace. */
export function xrayConfigOf(manager: HttpConnectionManager): XRayConfig | undefined {
  const provider = manager.tracing?.provider;
  if (!provider) return undefined;
  if (provider.name !== 'envoy.tracers.xray' || provider.configType?.$case !== 'typedConfig')
    throw new Error(`unexpected tracing provider ${provider.name}`);
  return unpackAny(provider.configType.value, XRayConfig);
}

/** Cluster name → weight of every route of a route configuration's virtual host `domain`. */
export function routeWeights(
  routeConfiguration: RouteConfiguration | undefined,
  domain: string,
): Array<Record<string, number>> {
  const host = routeConfiguration?.virtualHosts?.find((vh) => vh.domains?.includes(domain));
  if (!host) throw new Error(`no virtual host for ${domain} in ${routeConfiguration?.name}`);
  return (host.routes ?? []).map((route) => {
    if (route.action?.$case !== 'route') throw new Error(`route ${route.name} does not route`);
    const specifier = route.action.value.clusterSpecifier;
    if (specifier?.$case === 'cluster') return { [specifier.value]: 100 };
    if (specifier?.$case !== 'weightedClusters')
      throw new Error(`route ${route.name}: no clusters`);
    return Object.fromEntries(
      (specifier.value.clusters ?? []).map((cluster) => [cluster.name ?? '', cluster.weight ?? 0]),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// An Envoy sidecar's ADS client.

export type AdsProtocol = 'sotw' | 'delta';

/**
 * The node an App Mesh Envoy image sends: id and cluster from APPMESH_RESOURCE_ARN, a virtual
 * node's (`mesh/<mesh>/virtualNode/<name>`) unless `resourceType` says it is a gateway's.
 */
export function envoyNode(
  meshName: string,
  name: string,
  metadata?: Record<string, unknown>,
  resourceType: 'virtualNode' | 'virtualGateway' = 'virtualNode',
): Node {
  const id = `mesh/${meshName}/${resourceType}/${name}`;
  return {
    id,
    cluster: id,
    userAgentName: 'envoy',
    userAgentVersionType: { $case: 'userAgentVersion', value: '1.34.1' },
    ...(metadata && { metadata }),
  };
}

/** One response as the proxy applied it. */
export interface AppliedUpdate {
  type: string;
  /** Names of the resources in the response, sorted. */
  names: string[];
  /** Delta: names in `removed_resources`. */
  removed: string[];
}

const DECODERS: Record<TypeUrl, MessageType> = {
  [LISTENER]: Listener,
  [ROUTE_CONFIGURATION]: RouteConfiguration,
  [CLUSTER]: Cluster,
  [CLUSTER_LOAD_ASSIGNMENT]: ClusterLoadAssignment,
  [SECRET]: Secret,
};

/** A resource of `type` decoded from its Any, with the name it carries. */
function decodeResource(type: TypeUrl, any: Any): { name: string; message: unknown } {
  const message = unpackAny(any, DECODERS[type]) as { name?: string; clusterName?: string };
  return { name: message.name ?? message.clusterName ?? '', message };
}

/** Listener and Cluster are requested by wildcard; routes, endpoints and secrets by name. */
const NAMED_TYPES = [ROUTE_CONFIGURATION, CLUSTER_LOAD_ASSIGNMENT, SECRET] as const;

/**
 * An ADS client that behaves as Envoy does: it asks for clusters and listeners with the legacy
 * wildcard, then for the route configurations its listeners name and the endpoints of its EDS
 * clusters; it applies every response, accepts it and follows the new references. It keeps what
 * it accepted (resources and versions) and can take it to another server, as Envoy does when its
 * stream moves.
 */
export class SidecarProxy {
  readonly listeners = new Map<string, Listener>();
  readonly routes = new Map<string, RouteConfiguration>();
  readonly clusters = new Map<string, Cluster>();
  readonly endpoints = new Map<string, ClusterLoadAssignment>();
  readonly secrets = new Map<string, Secret>();
  /** Delta: the version of each resource held, by type. */
  private readonly versions = new Map<TypeUrl, Map<string, string>>();
  /** Names requested of RDS and EDS on the current stream. */
  private readonly requested = new Map<TypeUrl, string[]>();
  /** Types answered at least once on the current stream. */
  private readonly answered = new Set<string>();
  private sotw?: SotwAdsClient;
  private delta?: DeltaAdsClient;
  /** SotW: the version accepted of each type, kept across streams. */
  private readonly sotwVersions = new Map<TypeUrl, string>();

  constructor(
    readonly protocol: AdsProtocol,
    readonly node: Node,
    private readonly channel?: AdsChannel,
  ) {}

  /** Opens a stream to the xDS server on `port` and asks for clusters and listeners. */
  connect(port: number): this {
    this.open(port);
    for (const type of [CLUSTER, LISTENER] as const) {
      if (this.sotw) this.sotw.subscribe(type, []);
      else this.delta!.subscribe(type, []);
    }
    return this;
  }

  /**
   * Closes the stream and opens one to the server on `port`, reporting what the proxy has, as
   * Envoy does on reconnecting: SotW the accepted versions, delta `initial_resource_versions`.
   */
  reconnect(port: number): void {
    this.close();
    this.open(port);
    const types = [
      CLUSTER,
      CLUSTER_LOAD_ASSIGNMENT,
      SECRET,
      LISTENER,
      ROUTE_CONFIGURATION,
    ] as const;
    for (const type of types) {
      const wildcard = type === CLUSTER || type === LISTENER;
      const names = wildcard ? [] : this.referenced(type);
      if (!wildcard && names.length === 0) continue;
      if (this.sotw) {
        this.sotw.subscribe(type, names, this.sotwVersions.get(type) ?? '');
      } else {
        const held = this.versions.get(type) ?? new Map<string, string>();
        const initial = Object.fromEntries(
          [...held].filter(([name]) => wildcard || names.includes(name)),
        );
        this.delta!.subscribe(type, names, initial);
      }
      if (!wildcard) this.requested.set(type, names);
    }
  }

  /** Receives the next response, applies and accepts it, and follows what it references. */
  async next(): Promise<AppliedUpdate> {
    const update = this.sotw
      ? this.applySotw(await this.sotw.next())
      : this.applyDelta(await this.delta!.next());
    this.answered.add(update.type);
    this.follow();
    return update;
  }

  /** Applies responses until `done()` holds; returns them. */
  async until(done: () => boolean): Promise<AppliedUpdate[]> {
    const updates: AppliedUpdate[] = [];
    while (!done()) updates.push(await this.next());
    return updates;
  }

  /**
   * Applies responses until the proxy has a complete configuration: clusters and listeners were
   * answered, and every route configuration and endpoint set they name is there.
   */
  sync(): Promise<AppliedUpdate[]> {
    return this.until(
      () =>
        this.answered.has('CDS') &&
        this.answered.has('LDS') &&
        this.referenced(ROUTE_CONFIGURATION).every((name) => this.routes.has(name)) &&
        this.referenced(CLUSTER_LOAD_ASSIGNMENT).every((name) => this.endpoints.has(name)) &&
        this.referenced(SECRET).every((name) => this.secrets.has(name)),
    );
  }

  /**
   * Asks again for the route configurations the proxy uses, a request the server must answer
   * (a newly requested name is always sent), and returns that answer. When it is the next
   * response, nothing else was sent to the proxy before it.
   */
  async probe(): Promise<AppliedUpdate> {
    const names = this.referenced(ROUTE_CONFIGURATION);
    if (names.length === 0) throw new Error('the proxy uses no route configuration to probe with');
    if (this.sotw) {
      this.sotw.subscribe(ROUTE_CONFIGURATION, []);
      this.sotw.subscribe(ROUTE_CONFIGURATION, names);
    } else {
      this.delta!.subscribe(ROUTE_CONFIGURATION, names);
    }
    return this.next();
  }

  /** SotW: the version accepted of a type. */
  acceptedVersion(type: TypeUrl): string | undefined {
    return this.sotwVersions.get(type);
  }

  /** Delta: the version held of each resource of a type. */
  resourceVersions(type: TypeUrl): Record<string, string> {
    return Object.fromEntries(this.versions.get(type) ?? []);
  }

  /** Every HTTP connection manager of every listener, by listener name. */
  httpConnectionManagers(): Array<{ listener: string; manager: HttpConnectionManager }> {
    return [...this.listeners.values()].flatMap((listener) =>
      httpConnectionManagers(listener).map((manager) => ({
        listener: listener.name ?? '',
        manager,
      })),
    );
  }

  close(): void {
    this.sotw?.close();
    this.delta?.close();
    this.sotw = undefined;
    this.delta = undefined;
  }

  private open(port: number): void {
    this.answered.clear();
    this.requested.clear();
    if (this.protocol === 'sotw') this.sotw = new SotwAdsClient(port, this.node, this.channel);
    else this.delta = new DeltaAdsClient(port, this.node, this.channel);
  }

  private store(type: TypeUrl): Map<string, unknown> {
    switch (type) {
      case LISTENER:
        return this.listeners;
      case ROUTE_CONFIGURATION:
        return this.routes;
      case CLUSTER:
        return this.clusters;
      case CLUSTER_LOAD_ASSIGNMENT:
        return this.endpoints;
      case SECRET:
        return this.secrets;
    }
  }

  private applySotw(response: DiscoveryResponse): AppliedUpdate {
    const type = response.typeUrl as TypeUrl;
    const store = this.store(type);
    const decoded = (response.resources ?? []).map((any) => decodeResource(type, any));
    // Listeners and clusters come as complete sets: what is not in the response is gone.
    if (type === LISTENER || type === CLUSTER) store.clear();
    for (const { name, message } of decoded) store.set(name, message);
    this.sotw!.ack(response);
    this.sotwVersions.set(type, response.versionInfo ?? '');
    return {
      type: TYPE_SHORT_NAMES[type],
      names: decoded.map(({ name }) => name).sort(),
      removed: [],
    };
  }

  private applyDelta(response: DeltaDiscoveryResponse): AppliedUpdate {
    const type = response.typeUrl as TypeUrl;
    const store = this.store(type);
    let versions = this.versions.get(type);
    if (!versions) this.versions.set(type, (versions = new Map<string, string>()));
    const names: string[] = [];
    for (const resource of response.resources ?? []) {
      store.set(resource.name ?? '', decodeResource(type, resource.resource!).message);
      versions.set(resource.name ?? '', resource.version ?? '');
      names.push(resource.name ?? '');
    }
    for (const name of response.removedResources ?? []) {
      store.delete(name);
      versions.delete(name);
    }
    this.delta!.ack(response);
    return {
      type: TYPE_SHORT_NAMES[type],
      names: names.sort(),
      removed: [...(response.removedResources ?? [])].sort(),
    };
  }

  /** Subscribes to the route configurations and endpoints now named, as Envoy does. */
  private follow(): void {
    for (const type of NAMED_TYPES) {
      const names = this.referenced(type);
      const before = this.requested.get(type) ?? [];
      if (names.join('\n') === before.join('\n')) continue;
      this.requested.set(type, names);
      // Envoy drops what no listener or cluster uses any more.
      const store = this.store(type);
      for (const name of [...store.keys()]) if (!names.includes(name)) store.delete(name);
      if (this.sotw) {
        this.sotw.subscribe(type, names);
      } else {
        const added = names.filter((name) => !before.includes(name));
        const gone = before.filter((name) => !names.includes(name));
        if (added.length > 0) this.delta!.subscribe(type, added);
        if (gone.length > 0) this.delta!.unsubscribe(type, gone);
      }
    }
  }

  /**
   * The route configurations the listeners name, the endpoint sets of the EDS clusters, or the
   * secrets listeners and clusters fetch over ADS.
   */
  private referenced(type: (typeof NAMED_TYPES)[number]): string[] {
    const names = new Set<string>();
    if (type === SECRET) {
      const sockets = [
        ...[...this.listeners.values()].flatMap((listener) =>
          (listener.filterChains ?? []).map((chain) => chain.transportSocket),
        ),
        ...[...this.clusters.values()].map((cluster) => cluster.transportSocket),
      ];
      adsSecretNames(sockets).forEach((name) => names.add(name));
    } else if (type === ROUTE_CONFIGURATION) {
      for (const listener of this.listeners.values()) {
        for (const manager of httpConnectionManagers(listener)) {
          if (manager.routeSpecifier?.$case === 'rds')
            names.add(manager.routeSpecifier.value.routeConfigName ?? '');
        }
      }
    } else {
      for (const cluster of this.clusters.values()) {
        const discovery = cluster.clusterDiscoveryType;
        if (discovery?.$case === 'type' && discovery.value === Cluster_DiscoveryType.EDS)
          names.add(cluster.edsClusterConfig?.serviceName || (cluster.name ?? ''));
      }
    }
    return [...names].sort();
  }
}

// ---------------------------------------------------------------------------------------------
// Proxy status and processes.

/** A row of `GET /v1/proxies`. */
export interface ProxyStatusRow {
  nodeId: string;
  mesh?: string;
  state: string;
  /** The mesh revision of the configuration the proxy has acknowledged in full. */
  syncedRevision?: number;
  connected: boolean;
  userAgent: string;
  protocol: string;
  replicaId: string;
  types: Array<{
    type: string;
    state: string;
    subscribed: string[] | '*';
    sentVersion?: string;
    ackedVersion?: string;
    ackedRevision?: number;
  }>;
}

/**
 * Polls `GET /v1/proxies?mesh=` (every mesh when `meshName` is undefined; signed with
 * `credentials` when given) until `accept` holds for the rows (the xDS role writes proxy
 * status every few milliseconds, so there is no event to await); returns them.
 */
export async function proxiesWhen(
  httpUrl: string,
  meshName: string | undefined,
  accept: (proxies: ProxyStatusRow[]) => boolean,
  timeoutMs = 3000,
  credentials?: Credentials,
): Promise<ProxyStatusRow[]> {
  const deadline = Date.now() + timeoutMs;
  const query = meshName === undefined ? '' : `?mesh=${encodeURIComponent(meshName)}`;
  for (;;) {
    const url = `${httpUrl}/v1/proxies${query}`;
    const response = await (credentials ? signedFetch(url, credentials) : fetch(url));
    const { proxies } = (await response.json()) as { proxies: ProxyStatusRow[] };
    if (accept(proxies)) return proxies;
    if (Date.now() > deadline) {
      throw new Error(`proxy status never matched: ${JSON.stringify(proxies, null, 2)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The xDS port a server process logged when it started listening. */
export function xdsPortOf(server: ServerProcess): number {
  const entry = server.logs.find((line) => typeof line.xds === 'string');
  const port = Number(/:(\d+)$/.exec(String(entry?.xds))?.[1]);
  if (!port) throw new Error('the server process did not log an xDS address');
  return port;
}

/** Stops a server process started by the test. */
export async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await server.exited;
}
