import type { ResourceKind } from './resource-kinds';

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
  const listeners = router.spec.listeners;
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
        message: `virtual router ${router.name} has no ${protocol} listener (listener protocols: ${[...protocols].join(', ')})`,
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
