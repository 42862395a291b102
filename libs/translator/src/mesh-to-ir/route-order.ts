import type { RouteSpec } from '../../../mesh-model/src/validation';
import type { NamedRoute } from '../mesh-snapshot';
import { compareStrings } from '../translation-errors';

/**
 * Routes in the order Envoy must try them, App Mesh's order:
 * 1. `priority` ascending (0 is the highest); routes without a priority come after all others.
 * 2. Equal priority: the longer match first. Before priorities existed App Mesh ordered routes by
 *    the length of their match (aws-app-mesh-roadmap#77), so `/api/v2` wins over `/api` and `/`;
 *    the length is the prefix, the exact path or the regex, and for gRPC the path
 *    `/<service>/<method>` the route matches.
 * 3. Then the route name, so the order never depends on storage order.
 */
export function inMatchOrder<R extends NamedRoute>(routes: readonly R[]): R[] {
  return inPriorityOrder<RouteSpec, R>(routes, (a, b) => matchLength(b) - matchLength(a));
}

/**
 * Routes or gateway routes by `priority`, then the more specific first (`moreSpecificFirst`), then
 * by name.
 */
export function inPriorityOrder<
  S extends { priority?: number },
  R extends { name: string; spec: S },
>(routes: readonly R[], moreSpecificFirst: (a: S, b: S) => number): R[] {
  return [...routes].sort(
    (a, b) =>
      priorityRank(a.spec) - priorityRank(b.spec) ||
      moreSpecificFirst(a.spec, b.spec) ||
      compareStrings(a.name, b.name),
  );
}

/** Unset priorities sort after 1000, the lowest settable priority. */
function priorityRank(spec: { priority?: number }): number {
  return spec.priority ?? 1001;
}

/** What route and gateway route specs have in common: the path a route type matches. */
interface PathMatchingSpec {
  httpRoute?: { match: HttpPathMatching };
  http2Route?: { match: HttpPathMatching };
  grpcRoute?: { match: { serviceName?: string; methodName?: string } };
}

interface HttpPathMatching {
  prefix?: string;
  path?: { exact?: string; regex?: string };
}

/** The length of what the route (or gateway route) matches on; 0 for TCP routes, which match no path. */
export function matchLength(spec: PathMatchingSpec): number {
  const http = spec.httpRoute ?? spec.http2Route;
  if (http !== undefined) {
    return (http.match.prefix ?? http.match.path?.exact ?? http.match.path?.regex ?? '').length;
  }
  if (spec.grpcRoute !== undefined) return grpcPath(spec.grpcRoute.match).value.length;
  return 0;
}

/**
 * The request path a gRPC route matches: `/<service>/<method>` exactly, every method of
 * `/<service>/`, or every call (`/`).
 */
export function grpcPath(match: { serviceName?: string; methodName?: string }): {
  kind: 'prefix' | 'exact';
  value: string;
} {
  if (match.serviceName === undefined) return { kind: 'prefix', value: '/' };
  if (match.methodName === undefined) return { kind: 'prefix', value: `/${match.serviceName}/` };
  return { kind: 'exact', value: `/${match.serviceName}/${match.methodName}` };
}
