import { isDeepStrictEqual } from 'node:util';
import type {
  GatewayRouteSpec,
  MeshSpec,
  RouteSpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualGatewaySpec,
  VirtualServiceSpec,
} from '../../mesh-model/src/validation';
import type { HeaderRules } from '../../mesh-model/src/header-rules';
import type { ResolvedTracing } from '../../mesh-model/src/tracing';
import type { ResourceKind } from '../../mesh-model/src/resource-kinds';
import { dependenciesOf, type MeshDependency } from './dependencies';
import { compareStrings } from './translation-errors';

/**
 * One mesh at one revision, as the translator reads it: every spec already valid per the App
 * Mesh model. References between resources (backends, providers, targets) are not guaranteed:
 * the translator reports the ones that do not resolve.
 */
export interface MeshSnapshot {
  meshName: string;
  /** The mesh revision the snapshot was read at; translation output does not depend on it. */
  revision: number;
  spec: MeshSpec;
  virtualNodes: ReadonlyMap<string, VirtualNodeSpec>;
  virtualRouters: ReadonlyMap<string, VirtualRouterSpec>;
  /** Routes by the name of their virtual router. */
  routes: ReadonlyMap<string, ReadonlyArray<NamedRoute>>;
  virtualServices: ReadonlyMap<string, VirtualServiceSpec>;
  virtualGateways: ReadonlyMap<string, VirtualGatewaySpec>;
  /** Gateway routes by the name of their virtual gateway. */
  gatewayRoutes: ReadonlyMap<string, ReadonlyArray<NamedGatewayRoute>>;
  /**
   * Header rules (Trellis' `/v1` resource) by the name of their route's virtual router, each named
   * as its route. Unset: none.
   */
  routeHeaderRules?: ReadonlyMap<string, ReadonlyArray<NamedHeaderRules>>;
  /** Header rules of gateway routes by the name of their virtual gateway. Unset: none. */
  gatewayRouteHeaderRules?: ReadonlyMap<string, ReadonlyArray<NamedHeaderRules>>;
  /**
   * Certificates imported into Trellis (the `/v1/certificates` store) by ARN: what listeners and
   * client policies naming ACM or ACM Private CA ARNs get. Unset: none imported.
   */
  certificates?: ReadonlyMap<string, ImportedCertificate>;
}

/**
 * A certificate in Trellis' store, as the translator serves it over SDS. PEM text; the private key
 * is only ever decrypted for this.
 */
export type ImportedCertificate =
  | { kind: 'certificate'; certificateChain: string; privateKey: string }
  | { kind: 'authority'; certificateChain: string };

export interface NamedRoute {
  name: string;
  spec: RouteSpec;
}

export interface NamedGatewayRoute {
  name: string;
  spec: GatewayRouteSpec;
}

/** The header rule of the route (or gateway route) of the same name. */
export interface NamedHeaderRules {
  name: string;
  spec: HeaderRules;
}

/**
 * X-Ray settings of one proxy, resolved by the caller from the server default, the mesh and the
 * proxy's node metadata (`ENABLE_ENVOY_XRAY_TRACING`, `XRAY_DAEMON_PORT`, ...).
 */
export type TracingSettings = ResolvedTracing;

/**
 * The proxy being configured: one of the proxy kinds. Every switch over them is exhaustive, so a
 * new kind fails to compile until each place that must handle it does.
 */
export type ProxyTarget = VirtualNodeProxy | VirtualGatewayProxy;

export type ProxyKind = ProxyTarget['kind'];

/** A proxy running as a virtual node. */
export interface VirtualNodeProxy {
  /** An Envoy sidecar (iptables-redirected traffic) or a proxyless gRPC client. */
  kind: 'sidecar' | 'proxyless';
  virtualNode: string;
  tracing: TracingSettings;
}

/** An Envoy running as a virtual gateway (mesh ingress). */
export interface VirtualGatewayProxy {
  kind: 'gateway';
  virtualGateway: string;
  tracing: TracingSettings;
}

/** One instance of a Cloud Map service. */
export interface CloudMapInstance {
  /** IPv4 or IPv6 literal (`AWS_INSTANCE_IPV4` / `AWS_INSTANCE_IPV6`). */
  address: string;
  /** `AWS_INSTANCE_PORT`; used only when the virtual node has a single listener. */
  port?: number;
  /** Custom attributes, matched against the virtual node's `awsCloudMap.attributes`. */
  attributes?: Readonly<Record<string, string>>;
}

/**
 * Cloud Map seam: the healthy instances of a Cloud Map service; undefined when the registry has
 * no such namespace or service.
 */
export interface EndpointRegistry {
  instances(
    namespaceName: string,
    serviceName: string,
  ): ReadonlyArray<CloudMapInstance> | undefined;
  /**
   * DNS seam for proxyless clients: a hostname's addresses as the control plane last resolved
   * them, in resolver order; undefined until resolved or when it does not resolve.
   */
  addresses?(hostname: string): readonly string[] | undefined;
}

/** A stored resource of a mesh, as persistence reads it. */
export interface StoredMeshResource {
  kind: ResourceKind;
  /** The virtual router of a route; '' otherwise. */
  parentName: string;
  name: string;
  spec: Record<string, unknown>;
}

/** Which stored resource: kind, parent (the virtual router of a route, '' otherwise) and name. */
export type StoredResourceKey = Pick<StoredMeshResource, 'kind' | 'parentName' | 'name'>;

/** What changed in a mesh since a snapshot, as persistence reads it. */
export interface StoredMeshChanges {
  /** The revision the changes bring the mesh to. */
  revision: number;
  /** The current rows of resources written since; some may not differ from the snapshot. */
  resources: readonly StoredMeshResource[];
  /** Resources deleted since. */
  removed: readonly StoredResourceKey[];
}

/** The translator's input model from a mesh's stored resources. */
export function meshSnapshot(contents: {
  meshName: string;
  revision: number;
  resources: readonly StoredMeshResource[];
}): MeshSnapshot {
  const virtualNodes = new Map<string, VirtualNodeSpec>();
  const virtualRouters = new Map<string, VirtualRouterSpec>();
  const virtualServices = new Map<string, VirtualServiceSpec>();
  const virtualGateways = new Map<string, VirtualGatewaySpec>();
  const routes = new Map<string, NamedRoute[]>();
  const gatewayRoutes = new Map<string, NamedGatewayRoute[]>();
  const routeHeaderRules = new Map<string, NamedHeaderRules[]>();
  const gatewayRouteHeaderRules = new Map<string, NamedHeaderRules[]>();
  let spec: MeshSpec = {};
  for (const resource of contents.resources) {
    switch (resource.kind) {
      case 'mesh':
        spec = resource.spec;
        break;
      case 'virtualNode':
        virtualNodes.set(resource.name, resource.spec);
        break;
      case 'virtualRouter':
        virtualRouters.set(resource.name, resource.spec);
        break;
      case 'virtualService':
        virtualServices.set(resource.name, resource.spec);
        break;
      case 'virtualGateway':
        // Stored specs passed the model on the way in; `listeners` is required there.
        virtualGateways.set(resource.name, resource.spec as unknown as VirtualGatewaySpec);
        break;
      case 'route':
        childList(routes, resource.parentName).push({ name: resource.name, spec: resource.spec });
        break;
      case 'gatewayRoute':
        childList(gatewayRoutes, resource.parentName).push({
          name: resource.name,
          spec: resource.spec,
        });
        break;
      case 'routeHeaderRule':
        childList(routeHeaderRules, resource.parentName).push(namedHeaderRules(resource));
        break;
      case 'gatewayRouteHeaderRule':
        childList(gatewayRouteHeaderRules, resource.parentName).push(namedHeaderRules(resource));
        break;
    }
  }
  // By name, so that a snapshot does not depend on the order rows were read in.
  for (const lists of [routes, gatewayRoutes, routeHeaderRules, gatewayRouteHeaderRules]) {
    for (const list of lists.values()) list.sort(byName);
  }
  return {
    meshName: contents.meshName,
    revision: contents.revision,
    spec,
    virtualNodes,
    virtualRouters,
    routes,
    virtualServices,
    virtualGateways,
    gatewayRoutes,
    routeHeaderRules,
    gatewayRouteHeaderRules,
  };
}

/** Stored header rules passed parseHeaderRules() on the way in. */
function namedHeaderRules(resource: StoredMeshResource): NamedHeaderRules {
  return { name: resource.name, spec: resource.spec };
}

function childList<T>(lists: Map<string, T[]>, parentName: string): T[] {
  let list = lists.get(parentName);
  if (!list) lists.set(parentName, (list = []));
  return list;
}

/**
 * The snapshot after `changes`, equal to `meshSnapshot()` of the mesh's rows at the new revision,
 * and the dependencies whose content differs from `previous` (a rewrite with an equal spec, or a
 * tag change, changes nothing). Maps nothing changed in are shared with `previous`.
 */
export function changedMeshSnapshot(
  previous: MeshSnapshot,
  changes: StoredMeshChanges,
): { mesh: MeshSnapshot; changed: Set<MeshDependency> } {
  const changed = new Set<MeshDependency>();
  let spec = previous.spec;
  const virtualNodes = new CopyOnWrite(previous.virtualNodes);
  const virtualRouters = new CopyOnWrite(previous.virtualRouters);
  const virtualServices = new CopyOnWrite(previous.virtualServices);
  const virtualGateways = new CopyOnWrite(previous.virtualGateways);
  const routes = new ChildLists<RouteSpec>(previous.routes, 'route');
  const gatewayRoutes = new ChildLists<GatewayRouteSpec>(previous.gatewayRoutes, 'gatewayRoute');
  const routeHeaderRules = new ChildLists<HeaderRules>(previous.routeHeaderRules, 'route');
  const gatewayRouteHeaderRules = new ChildLists<HeaderRules>(
    previous.gatewayRouteHeaderRules,
    'gatewayRoute',
  );
  const apply = (resource: StoredResourceKey, next: Record<string, unknown> | undefined) => {
    switch (resource.kind) {
      case 'mesh':
        if (isDeepStrictEqual(spec, next ?? {})) return;
        spec = next ?? {};
        break;
      case 'virtualNode':
        if (!virtualNodes.set(resource.name, next)) return;
        break;
      case 'virtualRouter':
        if (!virtualRouters.set(resource.name, next)) return;
        break;
      case 'virtualService':
        if (!virtualServices.set(resource.name, next)) return;
        break;
      case 'virtualGateway':
        if (!virtualGateways.set(resource.name, next)) return;
        break;
      case 'route':
        if (!routes.set(resource.parentName, resource.name, next)) return;
        break;
      case 'gatewayRoute':
        if (!gatewayRoutes.set(resource.parentName, resource.name, next)) return;
        break;
      case 'routeHeaderRule':
        if (!routeHeaderRules.set(resource.parentName, resource.name, next)) return;
        break;
      case 'gatewayRouteHeaderRule':
        if (!gatewayRouteHeaderRules.set(resource.parentName, resource.name, next)) return;
        break;
    }
    for (const dependency of dependenciesOf(resource)) changed.add(dependency);
  };
  for (const resource of changes.resources) apply(resource, resource.spec);
  for (const resource of changes.removed) apply(resource, undefined);

  return {
    mesh: {
      meshName: previous.meshName,
      revision: changes.revision,
      spec,
      virtualNodes: virtualNodes.result(),
      virtualRouters: virtualRouters.result(),
      routes: routes.result(changed),
      virtualServices: virtualServices.result(),
      virtualGateways: virtualGateways.result(),
      gatewayRoutes: gatewayRoutes.result(changed),
      routeHeaderRules: routeHeaderRules.result(changed),
      gatewayRouteHeaderRules: gatewayRouteHeaderRules.result(changed),
    },
    changed,
  };
}

/**
 * `meshSnapshot()` of a mesh read again in full, and the dependencies whose content differs from
 * `previous`: what a reader that cannot tell what changed compares.
 */
export function reloadedMeshSnapshot(
  previous: MeshSnapshot,
  contents: { revision: number; resources: readonly StoredMeshResource[] },
): { mesh: MeshSnapshot; changed: Set<MeshDependency> } {
  const present = new Set(contents.resources.map(resourceKey));
  const removed: StoredResourceKey[] = [];
  const check = (kind: StoredResourceKey['kind'], parentName: string, name: string) => {
    if (!present.has(resourceKey({ kind, parentName, name }))) {
      removed.push({ kind, parentName, name });
    }
  };
  for (const name of previous.virtualNodes.keys()) check('virtualNode', '', name);
  for (const name of previous.virtualRouters.keys()) check('virtualRouter', '', name);
  for (const name of previous.virtualServices.keys()) check('virtualService', '', name);
  for (const name of previous.virtualGateways.keys()) check('virtualGateway', '', name);
  for (const [router, routes] of previous.routes) {
    for (const route of routes) check('route', router, route.name);
  }
  for (const [gateway, routes] of previous.gatewayRoutes) {
    for (const route of routes) check('gatewayRoute', gateway, route.name);
  }
  for (const [router, rules] of previous.routeHeaderRules ?? []) {
    for (const rule of rules) check('routeHeaderRule', router, rule.name);
  }
  for (const [gateway, rules] of previous.gatewayRouteHeaderRules ?? []) {
    for (const rule of rules) check('gatewayRouteHeaderRule', gateway, rule.name);
  }
  return changedMeshSnapshot(previous, {
    revision: contents.revision,
    resources: contents.resources,
    removed,
  });
}

function resourceKey(resource: StoredResourceKey): string {
  return `${resource.kind}\u0000${resource.parentName}\u0000${resource.name}`;
}

/**
 * The per-parent lists of routes or gateway routes while changes apply: a parent's list is copied
 * once it is written to, and the result shares every list whose content did not change.
 */
class ChildLists<S> {
  private readonly lists = new Map<string, Map<string, S>>();

  private readonly previous: ReadonlyMap<string, ReadonlyArray<{ name: string; spec: S }>>;

  /** `kind`: the dependency the lists are read under (`route/<router>`, `gatewayRoute/<gateway>`). */
  constructor(
    previous: ReadonlyMap<string, ReadonlyArray<{ name: string; spec: S }>> | undefined,
    private readonly kind: 'route' | 'gatewayRoute',
  ) {
    this.previous = previous ?? new Map();
  }

  /** Whether the content changed. */
  set(parentName: string, name: string, next: Record<string, unknown> | undefined): boolean {
    let list = this.lists.get(parentName);
    if (!list) {
      list = new Map((this.previous.get(parentName) ?? []).map((item) => [item.name, item.spec]));
      this.lists.set(parentName, list);
    }
    if (isDeepStrictEqual(list.get(name), next)) return false;
    if (next === undefined) list.delete(name);
    else list.set(name, next as S);
    return true;
  }

  result(
    changed: ReadonlySet<MeshDependency>,
  ): ReadonlyMap<string, ReadonlyArray<{ name: string; spec: S }>> {
    const touched = [...this.lists.keys()].filter((parent) =>
      changed.has(`${this.kind}/${parent}`),
    );
    if (touched.length === 0) return this.previous;
    const copy = new Map(this.previous);
    for (const parent of touched) {
      const list = this.lists.get(parent)!;
      if (list.size === 0) copy.delete(parent);
      else copy.set(parent, [...list].map(([name, spec]) => ({ name, spec })).sort(byName));
    }
    return copy;
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return compareStrings(a.name, b.name);
}

/** A map copied on its first change; unchanged, it is the original. */
class CopyOnWrite<V> {
  private copy?: Map<string, V>;

  constructor(private readonly original: ReadonlyMap<string, V>) {}

  /** Sets or (with undefined) deletes `key`; false when that changes nothing. */
  set(key: string, value: unknown): boolean {
    if (isDeepStrictEqual((this.copy ?? this.original).get(key), value)) return false;
    const map = (this.copy ??= new Map(this.original));
    if (value === undefined) map.delete(key);
    else map.set(key, value as V);
    return true;
  }

  result(): ReadonlyMap<string, V> {
    return this.copy ?? this.original;
  }
}
