import type { ResourceKind } from '../../mesh-model/src/resource-kinds';
import type { EndpointRegistry, MeshSnapshot } from './mesh-snapshot';

/**
 * What a translation read from a mesh snapshot, so that a change to the mesh re-translates only
 * the proxies whose input changed. The translator is a pure function of what it reads; a proxy
 * none of whose dependencies changed gets the same resources again.
 *
 * A dependency is a string:
 * - `mesh`: the mesh spec;
 * - `<kind>/<name>`: one virtual node, virtual router or virtual service, read whether or not it
 *   exists (creating a node a backend names changes the translation that looked it up);
 * - `route/<virtualRouter>`: the routes of one virtual router, as a list, with their header rules
 *   (`gatewayRoute/<gateway>` likewise for a virtual gateway's gateway routes);
 * - `<kind>/*`: the whole collection, because the translation iterated it (a proxyless client
 *   without backends reads every virtual service);
 * - `certificate/<arn>`: one imported certificate, read whether or not it is imported.
 * - `cloudMap/["<namespace>","<service>"]`: the instances of one Cloud Map service (the names are
 *   JSON so that a `/` in a namespace name cannot make two services one key);
 * - `dns/<hostname>`: the addresses the control plane resolved a DNS name to.
 */
export type MeshDependency = string;

/** The dependency on a Cloud Map service's instances. */
export function cloudMapDependency(namespaceName: string, serviceName: string): MeshDependency {
  return `cloudMap/${JSON.stringify([namespaceName, serviceName])}`;
}

/** The dependency on a DNS name's resolved addresses. */
export function dnsDependency(hostname: string): MeshDependency {
  return `dns/${hostname}`;
}

/** The registry as a translation sees it, recording every service and name looked up into `dependencies`. */
export function recordingRegistry(
  registry: EndpointRegistry,
  dependencies: Set<MeshDependency>,
): EndpointRegistry {
  return {
    instances(namespaceName, serviceName) {
      dependencies.add(cloudMapDependency(namespaceName, serviceName));
      return registry.instances(namespaceName, serviceName);
    },
    addresses(hostname) {
      dependencies.add(dnsDependency(hostname));
      return registry.addresses?.(hostname);
    },
  };
}

/** The dependencies a change to one stored resource touches. */
export function dependenciesOf(resource: {
  kind: ResourceKind;
  parentName: string;
  name: string;
}): MeshDependency[] {
  switch (resource.kind) {
    case 'mesh':
      return ['mesh'];
    case 'route':
    case 'gatewayRoute':
      return [`${resource.kind}/${resource.parentName}`, `${resource.kind}/*`];
    // A header rule is read with the routes of its router (gateway), which it changes.
    case 'routeHeaderRule':
      return [`route/${resource.parentName}`, 'route/*'];
    case 'gatewayRouteHeaderRule':
      return [`gatewayRoute/${resource.parentName}`, 'gatewayRoute/*'];
    case 'virtualNode':
    case 'virtualRouter':
    case 'virtualService':
    case 'virtualGateway':
      return [`${resource.kind}/${resource.name}`, `${resource.kind}/*`];
  }
}

/**
 * The snapshot as a translation sees it, recording every read into `dependencies`. Reads go
 * through the wrappers only, so whatever the translator reads, now or after a change to it, is
 * recorded.
 */
export function recordingSnapshot(mesh: MeshSnapshot): {
  mesh: MeshSnapshot;
  dependencies: Set<MeshDependency>;
} {
  const dependencies = new Set<MeshDependency>();
  const recorded: MeshSnapshot = {
    meshName: mesh.meshName,
    revision: mesh.revision,
    get spec() {
      dependencies.add('mesh');
      return mesh.spec;
    },
    virtualNodes: new RecordingMap(mesh.virtualNodes, 'virtualNode', dependencies),
    virtualRouters: new RecordingMap(mesh.virtualRouters, 'virtualRouter', dependencies),
    routes: new RecordingMap(mesh.routes, 'route', dependencies),
    virtualServices: new RecordingMap(mesh.virtualServices, 'virtualService', dependencies),
    virtualGateways: new RecordingMap(mesh.virtualGateways, 'virtualGateway', dependencies),
    gatewayRoutes: new RecordingMap(mesh.gatewayRoutes, 'gatewayRoute', dependencies),
    routeHeaderRules: new RecordingMap(mesh.routeHeaderRules ?? new Map(), 'route', dependencies),
    gatewayRouteHeaderRules: new RecordingMap(
      mesh.gatewayRouteHeaderRules ?? new Map(),
      'gatewayRoute',
      dependencies,
    ),
    certificates: new RecordingMap(mesh.certificates ?? new Map(), 'certificate', dependencies),
  };
  return { mesh: recorded, dependencies };
}

/** A read-only view of a map that records the keys looked up, and `<kind>/*` on iteration. */
class RecordingMap<V> implements ReadonlyMap<string, V> {
  constructor(
    private readonly inner: ReadonlyMap<string, V>,
    private readonly kind: Exclude<ResourceKind, 'mesh'> | 'certificate',
    private readonly dependencies: Set<MeshDependency>,
  ) {}

  get(key: string): V | undefined {
    this.dependencies.add(`${this.kind}/${key}`);
    return this.inner.get(key);
  }

  has(key: string): boolean {
    this.dependencies.add(`${this.kind}/${key}`);
    return this.inner.has(key);
  }

  get size(): number {
    this.readAll();
    return this.inner.size;
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    this.readAll();
    this.inner.forEach((value, key) => callback(value, key, this));
  }

  entries(): MapIterator<[string, V]> {
    this.readAll();
    return this.inner.entries();
  }

  keys(): MapIterator<string> {
    this.readAll();
    return this.inner.keys();
  }

  values(): MapIterator<V> {
    this.readAll();
    return this.inner.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  private readAll(): void {
    this.dependencies.add(`${this.kind}/*`);
  }
}
