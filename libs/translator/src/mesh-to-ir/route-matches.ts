import type {
  GrpcRouteMatch,
  HeaderMatchMethod,
  HttpRouteMatch,
} from '../../../mesh-model/src/validation';
import type { HeaderMatchIr, RouteMatchIr } from '../ir';
import { grpcPath } from './route-order';

/** Every request: the match of virtual-node providers, ingress and the passthrough host. */
export const MATCH_EVERYTHING: RouteMatchIr = {
  path: { kind: 'prefix', value: '/' },
  headers: [],
  queryParameters: [],
};

/**
 * An HTTP or HTTP/2 route match. Method and scheme are the `:method` and `:scheme` pseudo-headers
 * in Envoy; `port` is not a request match: it selects the router listener (see virtual-services).
 */
export function httpRouteMatch(match: HttpRouteMatch): RouteMatchIr {
  const headers: HeaderMatchIr[] = (match.headers ?? []).map((header) => ({
    name: header.name,
    match: headerMatch(header.match),
    invert: header.invert ?? false,
  }));
  if (match.method !== undefined) {
    headers.push({ name: ':method', match: { kind: 'exact', value: match.method }, invert: false });
  }
  if (match.scheme !== undefined) {
    headers.push({ name: ':scheme', match: { kind: 'exact', value: match.scheme }, invert: false });
  }
  return {
    path: httpPath(match),
    headers,
    queryParameters: (match.queryParameters ?? []).map((parameter) => ({
      name: parameter.name,
      ...(parameter.match?.exact !== undefined && { exact: parameter.match.exact }),
    })),
  };
}

function httpPath(match: HttpRouteMatch): RouteMatchIr['path'] {
  if (match.path?.exact !== undefined) return { kind: 'exact', value: match.path.exact };
  if (match.path?.regex !== undefined) return { kind: 'regex', value: match.path.regex };
  return { kind: 'prefix', value: match.prefix ?? '/' };
}

/** A gRPC route match: service and method are the request path, metadata are headers. */
export function grpcRouteMatch(match: GrpcRouteMatch): RouteMatchIr {
  return {
    path: grpcPath(match),
    headers: (match.metadata ?? []).map((metadata) => ({
      name: metadata.name,
      match: headerMatch(metadata.match),
      invert: metadata.invert ?? false,
    })),
    queryParameters: [],
  };
}

/**
 * App Mesh's header match methods. A header without a match method matches when it is present.
 * App Mesh ranges are end-exclusive ("1-100 matches 1-99"), like Envoy's Int64Range.
 */
export function headerMatch(method: HeaderMatchMethod | undefined): HeaderMatchIr['match'] {
  if (method === undefined) return { kind: 'present' };
  if ('exact' in method) return { kind: 'exact', value: method.exact };
  if ('prefix' in method) return { kind: 'prefix', value: method.prefix };
  if ('suffix' in method) return { kind: 'suffix', value: method.suffix };
  if ('regex' in method) return { kind: 'regex', value: method.regex };
  return { kind: 'range', start: method.range.start, end: method.range.end };
}
