import { randomUUID } from 'node:crypto';
import type { Node } from '../../libs/envoy-api/generated/envoy/config/core/v3/base';
import type { ResourceId, ResourceKind } from '../../libs/mesh-model/src/resource-kinds';
import type {
  PortProtocol,
  RouteSpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualServiceSpec,
} from '../../libs/mesh-model/src/validation';
import { type MeshStore, type StoredResource } from '../../libs/persistence/src/mesh-store';

// The benchmark's mesh of N virtual nodes `node-<i>`. Node i listens with one protocol (http,
// grpc, http2 in turn, each on its own port) and is discovered through Cloud Map (every fourth
// node) or DNS. Virtual service `svc-<j>.bench.local` is provided by virtual router `router-<j>`,
// which listens with node j's protocol and has two routes with weighted targets on node j and a
// node of the same protocol three places away. Node i has five backends, `svc-<i+1>`, `svc-<i+2>`,
// `svc-<i+3>`, `svc-<i+5>` and `svc-<i+8>` (modulo N), so each service is a backend of exactly
// five nodes: a change to one route reaches five sidecars, not all of them.

const NAMESPACE = 'bench.local';
const BACKEND_OFFSETS = [1, 2, 3, 5, 8];
const ACCOUNT_ID = '000000000000';

const PORTS: Record<'http' | 'grpc' | 'http2', number> = { http: 8080, grpc: 8081, http2: 8082 };

export interface BenchResource {
  kind: ResourceKind;
  /** The virtual router of a route; '' otherwise. */
  parentName: string;
  name: string;
  spec: Record<string, unknown>;
}

export function nodeName(index: number): string {
  return `node-${index}`;
}

export function serviceName(index: number): string {
  return `svc-${index}.${NAMESPACE}`;
}

export function routerName(index: number): string {
  return `router-${index}`;
}

/** The route every change updates: the weighted `primary` route of a router. */
export const CHANGED_ROUTE = 'primary';

function protocolOf(index: number): 'http' | 'grpc' | 'http2' {
  return (['http', 'grpc', 'http2'] as const)[index % 3]!;
}

/** The second target of router `index`: a node with the same protocol, three places away. */
function secondTarget(index: number, nodes: number): number {
  return index + 3 < nodes ? index + 3 : index - 3;
}

/** The nodes that have service `index` as a backend: the sidecars a change of its routes reaches. */
export function clientsOf(index: number, nodes: number): number[] {
  return BACKEND_OFFSETS.map((offset) => (((index - offset) % nodes) + nodes) % nodes).sort(
    (a, b) => a - b,
  );
}

/** The primary route of router `index` with `canary` percent on the second target. */
export function primaryRoute(index: number, nodes: number, canary: number): RouteSpec {
  const weightedTargets = [
    { virtualNode: nodeName(index), weight: 100 - canary },
    { virtualNode: nodeName(secondTarget(index, nodes)), weight: canary },
  ];
  const protocol = protocolOf(index);
  const retryPolicy = {
    maxRetries: 2,
    perRetryTimeout: { unit: 'ms' as const, value: 250 },
    httpRetryEvents: ['server-error', 'gateway-error'],
  };
  switch (protocol) {
    case 'http':
      return { httpRoute: { match: { prefix: '/' }, action: { weightedTargets }, retryPolicy } };
    case 'http2':
      return { http2Route: { match: { prefix: '/' }, action: { weightedTargets }, retryPolicy } };
    case 'grpc':
      return {
        grpcRoute: {
          match: { serviceName: `bench.Svc${index}` },
          action: { weightedTargets },
          retryPolicy: { ...retryPolicy, grpcRetryEvents: ['unavailable'] },
        },
      };
  }
}

/** A second, more specific route of router `index`: all traffic to its own node. */
function specificRoute(index: number): RouteSpec {
  const weightedTargets = [{ virtualNode: nodeName(index), weight: 1 }];
  const timeout = { perRequest: { unit: 's' as const, value: 5 } };
  switch (protocolOf(index)) {
    case 'http':
      return {
        httpRoute: {
          match: { prefix: '/api/', headers: [{ name: 'x-canary', match: { exact: 'on' } }] },
          action: { weightedTargets },
          timeout,
        },
      };
    case 'http2':
      return {
        http2Route: { match: { path: { exact: '/health' } }, action: { weightedTargets }, timeout },
      };
    case 'grpc':
      return {
        grpcRoute: {
          match: { serviceName: `bench.Svc${index}`, methodName: 'Get' },
          action: { weightedTargets },
          timeout,
        },
      };
  }
}

function virtualNode(index: number, nodes: number): VirtualNodeSpec {
  const protocol: PortProtocol = protocolOf(index);
  return {
    listeners: [
      {
        portMapping: { port: PORTS[protocolOf(index)], protocol },
        ...(index % 5 === 0 && {
          healthCheck: {
            protocol,
            ...(protocol !== 'grpc' && { path: '/ping' }),
            healthyThreshold: 2,
            unhealthyThreshold: 3,
            intervalMillis: 5000,
            timeoutMillis: 2000,
          },
        }),
      },
    ],
    serviceDiscovery:
      index % 4 === 0
        ? { awsCloudMap: { namespaceName: NAMESPACE, serviceName: nodeName(index) } }
        : { dns: { hostname: `${nodeName(index)}.${NAMESPACE}` } },
    backends: BACKEND_OFFSETS.map((offset) => ({
      virtualService: { virtualServiceName: serviceName((index + offset) % nodes) },
    })),
  };
}

/** Every resource of the benchmark mesh, the mesh first. */
export function benchMeshResources(meshName: string, nodes: number): BenchResource[] {
  if (nodes < 9) throw new Error('the benchmark mesh needs at least 9 virtual nodes');
  const resources: BenchResource[] = [
    { kind: 'mesh', parentName: '', name: meshName, spec: { egressFilter: { type: 'DROP_ALL' } } },
  ];
  for (let index = 0; index < nodes; index++) {
    resources.push({
      kind: 'virtualNode',
      parentName: '',
      name: nodeName(index),
      spec: virtualNode(index, nodes) as Record<string, unknown>,
    });
    const protocol = protocolOf(index);
    const router: VirtualRouterSpec = {
      listeners: [{ portMapping: { port: PORTS[protocol], protocol } }],
    };
    resources.push({
      kind: 'virtualRouter',
      parentName: '',
      name: routerName(index),
      spec: router as Record<string, unknown>,
    });
    resources.push({
      kind: 'route',
      parentName: routerName(index),
      name: CHANGED_ROUTE,
      spec: primaryRoute(index, nodes, 10) as Record<string, unknown>,
    });
    resources.push({
      kind: 'route',
      parentName: routerName(index),
      name: 'specific',
      spec: specificRoute(index) as Record<string, unknown>,
    });
    const service: VirtualServiceSpec = {
      provider: { virtualRouter: { virtualRouterName: routerName(index) } },
    };
    resources.push({
      kind: 'virtualService',
      parentName: '',
      name: serviceName(index),
      spec: service as Record<string, unknown>,
    });
  }
  return resources;
}

function stored(meshName: string, resource: BenchResource): StoredResource {
  const id: ResourceId = {
    meshName,
    kind: resource.kind,
    parentName: resource.parentName,
    name: resource.name,
  };
  const now = new Date();
  const path =
    resource.kind === 'mesh'
      ? `mesh/${meshName}`
      : resource.kind === 'route'
        ? `mesh/${meshName}/virtualRouter/${resource.parentName}/route/${resource.name}`
        : `mesh/${meshName}/${resource.kind}/${resource.name}`;
  return {
    id,
    arn: `arn:aws:appmesh:us-east-1:${ACCOUNT_ID}:${path}`,
    uid: randomUUID(),
    version: 1,
    spec: resource.spec,
    tags: [],
    resourceOwner: ACCOUNT_ID,
    createdAt: now,
    lastUpdatedAt: now,
  };
}

/**
 * Writes the mesh through the store in one transaction, one create per resource. Setup is not
 * measured, so limits and references are not checked.
 */
export async function writeBenchMesh(
  store: MeshStore,
  meshName: string,
  resources: readonly BenchResource[],
): Promise<number> {
  return store.write(meshName, async (tx) => {
    let revision = 0;
    for (const resource of resources) {
      revision = await tx.createResource(stored(meshName, resource), {
        operation: 'CREATE',
        actor: 'bench',
      });
    }
    return revision;
  });
}

/**
 * An UpdateRoute as the admin API writes it: the route row, the mesh revision, the change log
 * and the NOTIFY in one transaction. `beforeCommit` runs as the last step before COMMIT.
 */
export async function updateRoute(
  store: MeshStore,
  meshName: string,
  router: string,
  route: string,
  spec: RouteSpec,
  beforeCommit: () => void,
): Promise<number> {
  return store.write(meshName, async (tx) => {
    if (!(await tx.lockMesh(meshName))) throw new Error(`no mesh ${meshName}`);
    const current = await tx.get({ meshName, kind: 'route', parentName: router, name: route });
    if (!current) throw new Error(`no route ${router}/${route}`);
    const updated: StoredResource = {
      ...current,
      spec: spec as Record<string, unknown>,
      version: current.version + 1,
      lastUpdatedAt: new Date(),
    };
    const revision = await tx.updateResource(current, updated, {
      operation: 'UPDATE',
      actor: 'bench',
    });
    beforeCommit();
    return revision;
  });
}

/** The Envoy node of the sidecar of node `index`, as the App Mesh Envoy image identifies it. */
export function sidecarNode(meshName: string, index: number): Node {
  const id = `mesh/${meshName}/virtualNode/${nodeName(index)}`;
  return {
    id,
    cluster: id,
    userAgentName: 'envoy',
    userAgentVersionType: { $case: 'userAgentVersion', value: '1.34.1' },
  };
}
