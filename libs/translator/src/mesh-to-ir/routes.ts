import type { DestinationIr, RouteIr, WeightedClusterIr } from '../ir';
import { compareStrings } from '../translation-errors';
import { routeHeaders } from './header-rules';
import { retryPolicy } from './retry-policies';
import { MATCH_EVERYTHING } from './route-matches';
import type { ResolvedRoute, ResolvedTarget } from './virtual-services';

/** `host_selection_retry_max_attempts` of App Mesh's route retry policies. */
export const OTHER_HOST_ATTEMPTS = 5;

/** Names the cluster of a target: sidecars and proxyless clients name theirs differently. */
export type ClusterNameOf = (target: ResolvedTarget) => string;

/**
 * Weighted clusters of an HTTP route, as App Mesh renders them: every target kept, weight 0
 * included (a canary at 0 % keeps its cluster warm); targets on one cluster add up; sorted by name.
 */
export function weightedClusters(
  targets: readonly ResolvedTarget[],
  clusterNameOf: ClusterNameOf,
): WeightedClusterIr[] {
  const weights = new Map<string, number>();
  for (const target of targets) {
    const name = clusterNameOf(target);
    weights.set(name, (weights.get(name) ?? 0) + target.weight);
  }
  return [...weights.entries()]
    .map(([name, weight]) => ({ name, weight }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/**
 * An HTTP, HTTP/2 or gRPC route. Sidecars enforce the per-request timeout as the route timeout;
 * proxyless gRPC clients read only `max_stream_duration` (gRFC A31), so they get it there. The
 * route's header rule applies on Envoy (sidecars and gateways' egress); gRPC clients ignore route
 * header mutations (gRFC A28), so they get none and the caller reports it.
 */
export function httpRoute(
  route: ResolvedRoute,
  clusterNameOf: ClusterNameOf,
  client: 'sidecar' | 'proxyless',
): RouteIr {
  const timeoutMs = route.timeoutMs;
  return {
    name: route.name,
    match: route.match ?? MATCH_EVERYTHING,
    action: {
      destination: {
        kind: 'weightedClusters',
        clusters: weightedClusters(route.targets, clusterNameOf),
      },
      ...(timeoutMs !== undefined &&
        (client === 'sidecar' ? { timeoutMs } : { maxStreamDurationMs: timeoutMs })),
      ...(route.idleTimeoutMs !== undefined && { idleTimeoutMs: route.idleTimeoutMs }),
      retry: {
        ...retryPolicy(route.retryPolicy),
        // App Mesh's Envoy retried on another host (previous_hosts), up to 5 host picks; gRPC
        // clients have no host predicates (gRFC A44).
        ...(client === 'sidecar' && { otherHostAttempts: OTHER_HOST_ATTEMPTS }),
      },
    },
    ...(client === 'sidecar' && routeHeaders(route.headerRules?.rules)),
  };
}

/**
 * A TCP route's destination. Envoy's TCP proxy needs weights of at least 1, so zero-weight
 * targets are left out; one cluster left is a plain cluster.
 */
export function tcpDestination(route: ResolvedRoute, clusterNameOf: ClusterNameOf): DestinationIr {
  const clusters = weightedClusters(
    route.targets.filter((target) => target.weight > 0),
    clusterNameOf,
  );
  const only = clusters.length === 1 ? clusters[0] : undefined;
  return only !== undefined
    ? { kind: 'cluster', name: only.name }
    : { kind: 'weightedClusters', clusters };
}
