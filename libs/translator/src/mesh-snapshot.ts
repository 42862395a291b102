import type {
  MeshSpec,
  RouteSpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualServiceSpec,
} from '../../mesh-model/src/validation';
import type { ResolvedTracing } from '../../mesh-model/src/tracing';
import type { ResourceKind } from '../../mesh-model/src/resource-kinds';

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
}

export interface NamedRoute {
  name: string;
  spec: RouteSpec;
}

/**
 * X-Ray settings of one proxy, resolved by the caller from the server default, the mesh and the
 * proxy's node metadata (`ENABLE_ENVOY_XRAY_TRACING`, `XRAY_DAEMON_PORT`, ...).
 */
export type TracingSettings = ResolvedTracing;

/** The proxy being configured. */
export interface ProxyTarget {
  /** An Envoy sidecar (iptables-redirected traffic) or a proxyless gRPC client. */
  kind: 'sidecar' | 'proxyless';
  virtualNode: string;
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

/** Cloud Map seam: the instances of a Cloud Map service, undefined until a registry exists. */
export interface EndpointRegistry {
  instances(
    namespaceName: string,
    serviceName: string,
  ): ReadonlyArray<CloudMapInstance> | undefined;
}

/** A stored resource of a mesh, as persistence reads it. */
export interface StoredMeshResource {
  kind: ResourceKind;
  /** The virtual router of a route; '' otherwise. */
  parentName: string;
  name: string;
  spec: Record<string, unknown>;
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
  const routes = new Map<string, Array<{ name: string; spec: RouteSpec }>>();
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
      case 'route': {
        let list = routes.get(resource.parentName);
        if (!list) routes.set(resource.parentName, (list = []));
        list.push({ name: resource.name, spec: resource.spec });
        break;
      }
    }
  }
  return {
    meshName: contents.meshName,
    revision: contents.revision,
    spec,
    virtualNodes,
    virtualRouters,
    routes,
    virtualServices,
  };
}
