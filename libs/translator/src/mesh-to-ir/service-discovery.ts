import { isIP } from 'node:net';
import type {
  AwsCloudMapServiceDiscovery,
  IpPreference,
  MeshSpec,
  VirtualNodeSpec,
} from '../../../mesh-model/src/validation';
import type { BindAddressIr, ClusterDiscoveryIr, DnsLookupFamilyIr, SocketAddressIr } from '../ir';
import type { EndpointRegistry } from '../mesh-snapshot';
import { compareStrings, type TranslationErrors } from '../translation-errors';

/** A virtual node's IP preference: its own service discovery's, else the mesh's (meshes.md). */
export function ipPreferenceOf(node: VirtualNodeSpec, mesh: MeshSpec): IpPreference | undefined {
  const discovery = node.serviceDiscovery;
  const own =
    discovery === undefined
      ? undefined
      : 'dns' in discovery
        ? discovery.dns.ipPreference
        : discovery.awsCloudMap.ipPreference;
  return own ?? mesh.serviceDiscovery?.ipPreference;
}

/**
 * Where the sidecar binds its listeners (aws-app-mesh-examples, walkthroughs/howto-ipv6): all
 * IPv4 addresses without a preference, all IPv4 and IPv6 addresses with any preference.
 */
export function bindAddress(preference: IpPreference | undefined, port: number): BindAddressIr {
  return preference === undefined
    ? { host: '0.0.0.0', port, ipv4Compat: false }
    : { host: '::', port, ipv4Compat: true };
}

/** The local application's address: IPv6 loopback only when the preference is IPv6 (howto-ipv6). */
export function localAppAddress(preference: IpPreference | undefined): string {
  return preference === 'IPv6_PREFERRED' || preference === 'IPv6_ONLY' ? '::1' : '127.0.0.1';
}

/**
 * Envoy's DNS lookup family for a preference (howto-ipv6): without a preference "Envoy's DNS
 * resolver will prefer IPv6 and fall back to IPv4", which is Envoy's AUTO.
 */
export function dnsLookupFamily(preference: IpPreference | undefined): DnsLookupFamilyIr {
  switch (preference) {
    case undefined:
    case 'IPv6_PREFERRED':
      return 'auto';
    case 'IPv4_PREFERRED':
      return 'v4Preferred';
    case 'IPv4_ONLY':
      return 'v4Only';
    case 'IPv6_ONLY':
      return 'v6Only';
  }
}

/** What a sidecar's cluster for one listener of a target node resolves. */
export interface TargetDiscovery {
  discovery: ClusterDiscoveryIr;
  /** The ClusterLoadAssignment of an EDS cluster. */
  edsEndpoints?: SocketAddressIr[];
}

export interface TargetListener {
  nodeName: string;
  node: VirtualNodeSpec;
  port: number;
}

/**
 * A sidecar cluster's endpoints, from the target node's service discovery:
 * - DNS with an IP literal: STATIC, nothing to resolve.
 * - DNS: LOGICAL_DNS for responseType LOADBALANCER (the default: "the Envoy proxy chooses one of
 *   the addresses"), STRICT_DNS for ENDPOINTS (every address is an endpoint).
 * - Cloud Map: EDS, endpoints from the registry.
 * - None: a STATIC cluster without endpoints (requests fail with 503) and an error.
 */
export function sidecarTargetDiscovery(
  target: TargetListener,
  mesh: MeshSpec,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
  path: string,
): TargetDiscovery {
  const discovery = target.node.serviceDiscovery;
  const preference = ipPreferenceOf(target.node, mesh);
  if (discovery === undefined) {
    errors.add(
      'missing-reference',
      path,
      `virtual node ${target.nodeName} has no serviceDiscovery to send traffic to`,
    );
    return { discovery: { kind: 'static', endpoints: [] } };
  }
  if ('awsCloudMap' in discovery) {
    return {
      discovery: { kind: 'eds' },
      edsEndpoints: cloudMapEndpoints(discovery.awsCloudMap, preference, target, registry, errors),
    };
  }
  const { hostname, responseType } = discovery.dns;
  if (isIP(hostname) !== 0) {
    return { discovery: { kind: 'static', endpoints: [{ address: hostname, port: target.port }] } };
  }
  return {
    discovery: {
      kind: responseType === 'ENDPOINTS' ? 'strictDns' : 'logicalDns',
      hostname,
      port: target.port,
      dnsLookupFamily: dnsLookupFamily(preference),
    },
  };
}

/**
 * A proxyless client's endpoints: gRPC resolves no names from EDS, so the control plane resolves
 * a DNS hostname for it (the registry's `addresses`) and sends the addresses: all of them for
 * responseType ENDPOINTS, the first for LOADBALANCER (as Envoy's LOGICAL_DNS uses one), in the
 * family the IP preference picks (without one, IPv6 first as Envoy's AUTO). Cloud Map comes from
 * the registry.
 */
export function proxylessTargetEndpoints(
  target: TargetListener,
  mesh: MeshSpec,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
  path: string,
): SocketAddressIr[] {
  const discovery = target.node.serviceDiscovery;
  if (discovery === undefined) {
    errors.add(
      'missing-reference',
      path,
      `virtual node ${target.nodeName} has no serviceDiscovery to send traffic to`,
    );
    return [];
  }
  const preference = ipPreferenceOf(target.node, mesh);
  if ('awsCloudMap' in discovery) {
    return cloudMapEndpoints(discovery.awsCloudMap, preference, target, registry, errors);
  }
  const { hostname, responseType } = discovery.dns;
  if (isIP(hostname) !== 0) return [{ address: hostname, port: target.port }];
  const addresses = registry?.addresses?.(hostname);
  if (addresses === undefined || addresses.length === 0) {
    errors.add(
      'unsupported',
      path,
      `virtual node ${target.nodeName} uses DNS name ${hostname}, which the control plane has ` +
        'not resolved (yet); proxyless gRPC clients get no endpoints until it does',
    );
    return [];
  }
  const endpoints = inPreferredFamily(
    addresses.map((address) => ({ address, port: target.port })),
    preference ?? 'IPv6_PREFERRED',
  );
  return responseType === 'ENDPOINTS' ? uniqueSorted(endpoints) : endpoints.slice(0, 1);
}

/**
 * The instances of a Cloud Map service that have every configured attribute, in the address
 * family the IP preference picks (howto-ipv6: without a preference IPv4, falling back to IPv6).
 * Each instance carries one address, so "preferred" applies to the set: the preferred family's
 * addresses when there are any, the other family's otherwise.
 *
 * The port is the listener's: the cluster belongs to one listener and the target's sidecar
 * matches inbound traffic on that port. An instance's own port (ECS bridge networking maps
 * ports) is used only when the node has a single listener, the only case where it is unambiguous.
 * The registry gives only healthy instances. An empty endpoint set is reported as an error
 * (a service that does not exist, or no healthy instance matches), never silently.
 */
export function cloudMapEndpoints(
  cloudMap: AwsCloudMapServiceDiscovery,
  preference: IpPreference | undefined,
  target: TargetListener,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): SocketAddressIr[] {
  const path = `virtualNode/${target.nodeName}.spec.serviceDiscovery.awsCloudMap`;
  const service = `${cloudMap.namespaceName}/${cloudMap.serviceName}`;
  if (registry === undefined) {
    errors.add(
      'unsupported',
      path,
      `no service registry is available to resolve Cloud Map service ${service}`,
    );
    return [];
  }
  const instances = registry.instances(cloudMap.namespaceName, cloudMap.serviceName);
  if (instances === undefined) {
    errors.add(
      'missing-reference',
      path,
      `Cloud Map service ${service} does not exist, so it has no endpoints`,
    );
    return [];
  }
  const singleListener = (target.node.listeners?.length ?? 0) === 1;
  const matching = instances.filter((instance) =>
    (cloudMap.attributes ?? []).every(({ key, value }) => instance.attributes?.[key] === value),
  );
  const endpoints: SocketAddressIr[] = [];
  for (const instance of matching) {
    if (isIP(instance.address) === 0) {
      errors.add(
        'invalid-resource',
        path,
        `Cloud Map instance address ${instance.address} is not an IP address`,
      );
      continue;
    }
    const port = singleListener ? (instance.port ?? target.port) : target.port;
    endpoints.push({ address: instance.address, port });
  }
  const chosen = uniqueSorted(inPreferredFamily(endpoints, preference));
  if (chosen.length === 0) {
    const attributes = (cloudMap.attributes ?? []).map(({ key, value }) => `${key}=${value}`);
    errors.add(
      'no-endpoints',
      path,
      `Cloud Map service ${service} has no healthy instances` +
        (attributes.length > 0 ? ` with ${attributes.join(', ')}` : '') +
        (preference === undefined ? '' : ` and an address for ${preference}`) +
        ', so it has no endpoints',
    );
  }
  return chosen;
}

function inPreferredFamily(
  endpoints: SocketAddressIr[],
  preference: IpPreference | undefined,
): SocketAddressIr[] {
  const v4 = endpoints.filter((endpoint) => isIP(endpoint.address) === 4);
  const v6 = endpoints.filter((endpoint) => isIP(endpoint.address) === 6);
  switch (preference) {
    case undefined:
    case 'IPv4_PREFERRED':
      return v4.length > 0 ? v4 : v6;
    case 'IPv6_PREFERRED':
      return v6.length > 0 ? v6 : v4;
    case 'IPv4_ONLY':
      return v4;
    case 'IPv6_ONLY':
      return v6;
  }
}

function uniqueSorted(endpoints: SocketAddressIr[]): SocketAddressIr[] {
  const byKey = new Map(
    endpoints.map((endpoint) => [`${endpoint.address}|${endpoint.port}`, endpoint]),
  );
  return [...byKey.values()].sort(
    (a, b) => compareStrings(a.address, b.address) || a.port - b.port,
  );
}

/**
 * The name a virtual node is discovered by: its DNS hostname, or `<service>.<namespace>` in Cloud
 * Map. App Mesh required an ACM certificate of a virtual node to name it, and checked it when a
 * client policy trusted ACM Private CAs without naming subject alternative names.
 */
export function serviceDiscoveryName(node: VirtualNodeSpec): string | undefined {
  const discovery = node.serviceDiscovery;
  if (discovery === undefined) return undefined;
  if ('dns' in discovery) return discovery.dns.hostname;
  return `${discovery.awsCloudMap.serviceName}.${discovery.awsCloudMap.namespaceName}`;
}
