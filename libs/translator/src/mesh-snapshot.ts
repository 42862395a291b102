import type {
  MeshSpec,
  RouteSpec,
  VirtualNodeSpec,
  VirtualRouterSpec,
  VirtualServiceSpec,
} from '../../mesh-model/src/validation';

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
export interface TracingSettings {
  enabled: boolean;
  /** The X-Ray daemon's IP, `127.0.0.1` in App Mesh. */
  daemonAddress: string;
  /** The X-Ray daemon's UDP port, 2000 in App Mesh. */
  daemonPort: number;
  /** Fraction of requests sampled after the first each second; unset leaves Envoy's default. */
  samplingRate?: number;
  /** Overrides the segment name `<mesh>/<virtual node>`. */
  segmentName?: string;
}

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
