import type { ResourceKind, ResourceReader } from './resource-kinds';

/** A reference from a spec to another resource of the same mesh that must exist. */
export interface EnforcedReference {
  kind: ResourceKind;
  name: string;
  /** Where in the spec the name appears, for error messages. */
  path: string;
}

const ROUTE_TYPES = ['httpRoute', 'http2Route', 'grpcRoute', 'tcpRoute'] as const;

/**
 * The references App Mesh enforces, one function per kind that has any (the kind descriptors in
 * resource-kinds.ts name them). Backends are not enforced (a backend may name a virtual service
 * created later). Specs are already validated.
 */

/** A route's weighted targets name virtual nodes. */
export function routeReferences(spec: unknown): EnforcedReference[] {
  const found: EnforcedReference[] = [];
  for (const routeType of ROUTE_TYPES) {
    const targets = field(field(field(spec, routeType), 'action'), 'weightedTargets');
    if (!Array.isArray(targets)) continue;
    targets.forEach((target, i) => {
      const name = field(target, 'virtualNode');
      if (typeof name === 'string') {
        found.push({
          kind: 'virtualNode',
          name,
          path: `spec.${routeType}.action.weightedTargets[${i}].virtualNode`,
        });
      }
    });
  }
  return found;
}

/** A virtual service's provider names a virtual node or router. */
export function virtualServiceReferences(spec: unknown): EnforcedReference[] {
  const found: EnforcedReference[] = [];
  const provider = field(spec, 'provider');
  const node = field(field(provider, 'virtualNode'), 'virtualNodeName');
  const router = field(field(provider, 'virtualRouter'), 'virtualRouterName');
  if (typeof node === 'string') {
    found.push({
      kind: 'virtualNode',
      name: node,
      path: 'spec.provider.virtualNode.virtualNodeName',
    });
  }
  if (typeof router === 'string') {
    found.push({
      kind: 'virtualRouter',
      name: router,
      path: 'spec.provider.virtualRouter.virtualRouterName',
    });
  }
  return found;
}

const GATEWAY_ROUTE_TYPES = ['httpRoute', 'http2Route', 'grpcRoute'] as const;

/** The virtual service a gateway route's target names, with its path in the spec. */
function gatewayRouteTarget(
  spec: unknown,
): { routeType: string; name: string; port: unknown } | undefined {
  for (const routeType of GATEWAY_ROUTE_TYPES) {
    const target = field(field(field(spec, routeType), 'action'), 'target');
    const name = field(field(target, 'virtualService'), 'virtualServiceName');
    if (typeof name === 'string') return { routeType, name, port: field(target, 'port') };
  }
  return undefined;
}

/** A gateway route's target names a virtual service (App Mesh user guide, gateway routes). */
export function gatewayRouteReferences(spec: unknown): EnforcedReference[] {
  const target = gatewayRouteTarget(spec);
  return target
    ? [
        {
          kind: 'virtualService',
          name: target.name,
          path: `spec.${target.routeType}.action.target.virtualService.virtualServiceName`,
        },
      ]
    : [];
}

/**
 * App Mesh user guide, gateway routes: "Virtual service provider port is required when the
 * provider … has multiple listeners"; a port that is given must be one of the provider's.
 */
export async function gatewayRouteTargetPort(
  spec: Record<string, unknown>,
  read: ResourceReader,
): Promise<{ field: string; message: string } | undefined> {
  const target = gatewayRouteTarget(spec);
  if (!target) return undefined;
  const service = await read('virtualService', target.name);
  const provider = field(service, 'provider');
  const node = field(field(provider, 'virtualNode'), 'virtualNodeName');
  const router = field(field(provider, 'virtualRouter'), 'virtualRouterName');
  const providerId =
    typeof node === 'string'
      ? { kind: 'virtualNode' as const, name: node, displayName: 'virtual node' }
      : typeof router === 'string'
        ? { kind: 'virtualRouter' as const, name: router, displayName: 'virtual router' }
        : undefined;
  if (!providerId) return undefined;
  const listeners = field(await read(providerId.kind, providerId.name), 'listeners');
  const ports = Array.isArray(listeners)
    ? listeners.map((listener) => field(field(listener, 'portMapping'), 'port'))
    : [];
  const path = `spec.${target.routeType}.action.target.port`;
  const provided = `the provider of virtual service ${target.name}, ${providerId.displayName} ${providerId.name}`;
  if (target.port === undefined) {
    return ports.length > 1
      ? {
          field: path,
          message: `is required: ${provided}, has ${ports.length} listeners (ports ${ports.join(', ')})`,
        }
      : undefined;
  }
  return ports.length > 0 && !ports.includes(target.port)
    ? {
        field: path,
        message: `${JSON.stringify(target.port)} is not a listener port of ${provided} (ports ${ports.join(', ')})`,
      }
    : undefined;
}

export function noReferences(): EnforcedReference[] {
  return [];
}

const ROUTE_PROTOCOLS = {
  httpRoute: 'http',
  http2Route: 'http2',
  grpcRoute: 'grpc',
  tcpRoute: 'tcp',
} as const;

/**
 * A route's type must match one of its virtual router's listener protocols; a router without
 * listeners takes any route. Returns the problem, or undefined.
 */
export function routeAgainstRouter(
  spec: Record<string, unknown>,
  router: { name: string; spec: Record<string, unknown> },
): { field: string; message: string } | undefined {
  return routeAgainstListeners(spec, `virtual router ${router.name}`, router.spec);
}

/**
 * A gateway route's type must match one of its virtual gateway's listener protocols, and a
 * matched port must be one of the gateway's listener ports (App Mesh user guide, gateway routes).
 */
export function gatewayRouteAgainstGateway(
  spec: Record<string, unknown>,
  gateway: { name: string; spec: Record<string, unknown> },
): { field: string; message: string } | undefined {
  const owner = `virtual gateway ${gateway.name}`;
  const problem = routeAgainstListeners(spec, owner, gateway.spec);
  if (problem) return problem;
  const listeners = gateway.spec.listeners;
  const ports = Array.isArray(listeners)
    ? listeners.map((listener) => field(field(listener, 'portMapping'), 'port'))
    : [];
  for (const routeType of GATEWAY_ROUTE_TYPES) {
    const port = field(field(spec[routeType], 'match'), 'port');
    if (port !== undefined && !ports.includes(port)) {
      return {
        field: `spec.${routeType}.match.port`,
        message: `${JSON.stringify(port)} is not a listener port of ${owner} (ports ${ports.join(', ')})`,
      };
    }
  }
  return undefined;
}

function routeAgainstListeners(
  spec: Record<string, unknown>,
  owner: string,
  ownerSpec: Record<string, unknown>,
): { field: string; message: string } | undefined {
  const listeners = ownerSpec.listeners;
  if (!Array.isArray(listeners) || listeners.length === 0) return undefined;
  const protocols = new Set(
    listeners.map(
      (listener: { portMapping?: { protocol?: string } }) => listener.portMapping?.protocol,
    ),
  );
  for (const [routeType, protocol] of Object.entries(ROUTE_PROTOCOLS)) {
    if (spec[routeType] !== undefined && !protocols.has(protocol)) {
      return {
        field: `spec.${routeType}`,
        message: `${owner} has no ${protocol} listener (listener protocols: ${[...protocols].join(', ')})`,
      };
    }
  }
  return undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
