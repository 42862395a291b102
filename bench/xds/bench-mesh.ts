import type { Node } from '../../libs/envoy-api/generated/envoy/config/core/v3/base';
import type {
  RouteSpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualServiceSpec,
} from '../../libs/mesh-model/src/validation';
import type {
  CloudMapInstance,
  EndpointRegistry,
  MeshSnapshot,
  NamedRoute,
  TracingSettings,
} from '../../libs/translator/src/mesh-snapshot';
import { translate } from '../../libs/translator/src/translate';
import type { ConfigSnapshot, ConfigSource } from '../../libs/xds/src/config-source';
import type { XdsResource } from '../../libs/xds-types/src/resource-types';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  ROUTE_CONFIGURATION,
  type TypeUrl,
} from '../../libs/xds-types/src/resource-types';

// The benchmark's mesh: `groups` client virtual nodes (app-0, app-1, ...) that all call the same
// four backend virtual services through virtual routers with canary routes, two on an HTTP port
// and two on an HTTP/2 port, every target discovered through Cloud Map. Each client node's
// sidecar gets 2 listeners, 2 egress route configurations, 9 clusters and 8 endpoint sets from
// the real translator. The change the benchmark times shifts the weights of one canary route:
// one route configuration (`rds_egress_http_9080`) changes for every proxy of every group.

export const MESH = 'bench';
const NAMESPACE = 'bench.local';
const BACKENDS = [
  { service: 'cart', port: 9080, protocol: 'http' },
  { service: 'catalog', port: 9080, protocol: 'http' },
  { service: 'ledger', port: 9090, protocol: 'http2' },
  { service: 'pricing', port: 9090, protocol: 'http2' },
] as const;
const CANARY_SERVICE = 'cart';
const INSTANCES_PER_TARGET = 3;
const TRACING: TracingSettings = { enabled: true, daemonAddress: '127.0.0.1', daemonPort: 2000 };

export const RDS_CHANGED = 'rds_egress_http_9080';

/** The virtual node of group `index`: proxies of one group get the same configuration. */
export function groupNode(index: number): string {
  return `app-${index}`;
}

/** An Envoy node as the App Mesh Envoy image identifies itself; `node.cluster` names the group. */
export function proxyNode(
  proxyIndex: number,
  groupIndex: number,
  meshName = MESH,
  virtualNode = groupNode(groupIndex),
): Node {
  return {
    id: `bench-proxy-${proxyIndex}`,
    cluster: `mesh/${meshName}/virtualNode/${virtualNode}`,
    userAgentName: 'envoy',
    userAgentVersionType: { $case: 'userAgentVersion', value: '1.34.1' },
  };
}

/** The mesh with the canary route at `canaryWeight` percent (the other routes stay at 10). */
export function benchMesh(
  groups: number,
  canaryWeight: number,
  revision: number,
  meshName = MESH,
): MeshSnapshot {
  const virtualNodes = new Map<string, VirtualNodeSpec>();
  const virtualRouters = new Map<string, VirtualRouterSpec>();
  const routes = new Map<string, NamedRoute[]>();
  const virtualServices = new Map<string, VirtualServiceSpec>();
  for (let group = 0; group < groups; group++) {
    virtualNodes.set(groupNode(group), {
      listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
      serviceDiscovery: {
        awsCloudMap: { namespaceName: NAMESPACE, serviceName: groupNode(group) },
      },
      backends: BACKENDS.map(({ service }) => ({
        virtualService: { virtualServiceName: `${service}.${NAMESPACE}` },
      })),
    });
  }
  for (const { service, port, protocol } of BACKENDS) {
    for (const version of ['v1', 'v2']) {
      virtualNodes.set(`${service}-${version}`, {
        listeners: [{ portMapping: { port, protocol } }],
        serviceDiscovery: {
          awsCloudMap: { namespaceName: NAMESPACE, serviceName: `${service}-${version}` },
        },
      });
    }
    virtualRouters.set(service, { listeners: [{ portMapping: { port, protocol } }] });
    const canary = service === CANARY_SERVICE ? canaryWeight : 10;
    const action = {
      weightedTargets: [
        { virtualNode: `${service}-v1`, weight: 100 - canary },
        { virtualNode: `${service}-v2`, weight: canary },
      ],
    };
    const match = { prefix: '/' };
    const spec: RouteSpec =
      protocol === 'http'
        ? { httpRoute: { match, action } }
        : { http2Route: { match, action, retryPolicy: retries() } };
    routes.set(service, [{ name: 'canary', spec }]);
    virtualServices.set(`${service}.${NAMESPACE}`, {
      provider: { virtualRouter: { virtualRouterName: service } },
    });
  }
  return {
    meshName,
    revision,
    spec: {},
    virtualNodes,
    virtualRouters,
    routes,
    virtualServices,
    virtualGateways: new Map(),
    gatewayRoutes: new Map(),
  };
}

function retries(): NonNullable<RouteSpec['httpRoute']>['retryPolicy'] {
  return {
    maxRetries: 3,
    perRetryTimeout: { unit: 'ms', value: 500 },
    httpRetryEvents: ['server-error', 'gateway-error'],
    tcpRetryEvents: ['connection-error'],
  };
}

/** Cloud Map: three IPv4 instances per target service. */
const registry: EndpointRegistry = {
  instances(namespaceName, serviceName): CloudMapInstance[] {
    const hash = [...`${namespaceName}/${serviceName}`].reduce((h, c) => h + c.charCodeAt(0), 0);
    return Array.from({ length: INSTANCES_PER_TARGET }, (_, i) => ({
      address: `10.${hash % 250}.${i}.${(hash * 7) % 250}`,
      port: 32768 + i,
      attributes: { stage: 'prod' },
    }));
  },
};

/** The sidecar configuration of one group, straight from the translator. */
function translateGroup(mesh: MeshSnapshot, group: number): XdsResource[] {
  const { resources, errors } = translate(
    mesh,
    { kind: 'sidecar', virtualNode: groupNode(group), tracing: TRACING },
    registry,
  );
  if (errors.length > 0) {
    throw new Error(`the bench mesh does not translate cleanly: ${JSON.stringify(errors)}`);
  }
  return resources;
}

/** What a proxy of a group subscribes to by name: endpoints and route configurations. */
export interface GroupSubscriptions {
  endpoints: string[];
  routes: string[];
  /** The virtual node the group's proxies run as (default: `groupNode` of the group's index). */
  virtualNode?: string;
}

/** The resource names a client of `group` asks for by name, as Envoy would after CDS and LDS. */
export function groupSubscriptions(resources: readonly XdsResource[]): GroupSubscriptions {
  const named = (typeUrl: TypeUrl) =>
    resources.filter((r) => r.typeUrl === typeUrl).map((r) => r.name);
  const clusters = new Set(named(CLUSTER));
  const endpoints = named(CLUSTER_LOAD_ASSIGNMENT);
  for (const name of endpoints) {
    if (!clusters.has(name)) throw new Error(`endpoints ${name} without their cluster`);
  }
  return { endpoints, routes: named(ROUTE_CONFIGURATION) };
}

/** The group of a benchmark proxy: the virtual node in `node.cluster`. */
function groupOfNode(node: Node): string | undefined {
  const match = /^mesh\/[^/]+\/virtualNode\/app-(\d+)$/.exec(node.cluster ?? '');
  return match?.[1];
}

/** Common to both sources: proxies grouped by virtual node, changes announced for every group. */
abstract class BenchSource implements ConfigSource {
  protected revision = 1;
  private readonly listeners = new Set<(groups: readonly string[] | 'all') => void>();

  constructor(protected readonly groups: number) {}

  groupOf(node: Node): string | undefined {
    return groupOfNode(node);
  }

  meshOf(): string {
    return MESH;
  }

  onChange(listener: (groups: readonly string[] | 'all') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A group's resources as the engine will load them, for the names its clients subscribe to. */
  abstract groupResources(group: number): XdsResource[];

  /** Prepares the canary change; returns a function that publishes it to the engine. */
  abstract prepareChange(canaryWeight: number): () => void;

  abstract load(group: string): Promise<ConfigSnapshot | undefined>;

  protected announce(): void {
    const groups = Array.from({ length: this.groups }, (_, i) => String(i));
    for (const listener of this.listeners) listener(groups);
  }
}

/**
 * Translates every group up front and shares message objects between groups wherever their
 * content is the same, as a source with a content-keyed cache would: the engine encodes each
 * distinct resource once. Loads return prepared snapshots, so timings are the engine's and the
 * transport's alone.
 */
export class SharedBenchSource extends BenchSource {
  private snapshots: ConfigSnapshot[] = [];
  private readonly interned = new Map<string, object>();

  constructor(groups: number, canaryWeight: number) {
    super(groups);
    this.snapshots = this.translateAll(canaryWeight);
  }

  groupResources(group: number): XdsResource[] {
    return [...(this.snapshots[group]?.resources ?? [])];
  }

  prepareChange(canaryWeight: number): () => void {
    const next = this.translateAll(canaryWeight);
    return () => {
      this.snapshots = next;
      this.announce();
    };
  }

  load(group: string): Promise<ConfigSnapshot | undefined> {
    return Promise.resolve(this.snapshots[Number(group)]);
  }

  /** Distinct message objects held, by content: what the engine's encoder sees. */
  get distinctMessages(): number {
    return this.interned.size;
  }

  private translateAll(canaryWeight: number): ConfigSnapshot[] {
    const revision = ++this.revision;
    const mesh = benchMesh(this.groups, canaryWeight, revision);
    return Array.from({ length: this.groups }, (_, group) => ({
      revision,
      resources: translateGroup(mesh, group).map((resource) => ({
        ...resource,
        message: this.intern(resource),
      })),
    }));
  }

  private intern(resource: XdsResource): object {
    const key = `${resource.typeUrl}\u0000${resource.name}\u0000${JSON.stringify(resource.message)}`;
    const known = this.interned.get(key);
    if (known) return known;
    this.interned.set(key, resource.message);
    return resource.message;
  }
}

/**
 * Translates on every load, as the production MeshConfigSource does: each group's resources are
 * new message objects, so the engine encodes every resource of every group again on a change.
 */
export class TranslatingBenchSource extends BenchSource {
  private mesh: MeshSnapshot;

  constructor(groups: number, canaryWeight: number) {
    super(groups);
    this.mesh = benchMesh(groups, canaryWeight, ++this.revision);
  }

  groupResources(group: number): XdsResource[] {
    return translateGroup(this.mesh, group);
  }

  prepareChange(canaryWeight: number): () => void {
    const next = benchMesh(this.groups, canaryWeight, ++this.revision);
    return () => {
      this.mesh = next;
      this.announce();
    };
  }

  load(group: string): Promise<ConfigSnapshot | undefined> {
    return Promise.resolve({
      revision: this.mesh.revision,
      resources: translateGroup(this.mesh, Number(group)),
    });
  }
}

export type BenchSourceKind = 'shared' | 'translate';

export function benchSource(
  kind: BenchSourceKind,
  groups: number,
  canaryWeight: number,
): SharedBenchSource | TranslatingBenchSource {
  return kind === 'shared'
    ? new SharedBenchSource(groups, canaryWeight)
    : new TranslatingBenchSource(groups, canaryWeight);
}
