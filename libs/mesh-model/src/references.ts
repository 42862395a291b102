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
 * The references App Mesh enforces: a route's weighted targets name virtual nodes; a
 * virtual service's provider names a virtual node or router. Backends are not enforced
 * (a backend may name a virtual service created later). The spec is already validated.
 */
export function enforcedReferences(kind: ResourceKind, spec: unknown): EnforcedReference[] {
  const found: EnforcedReference[] = [];
  if (kind === 'route') {
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
  }
  if (kind === 'virtualService') {
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
  }
  return found;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
