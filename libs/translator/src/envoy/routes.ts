import {
  HeaderValueOption_HeaderAppendAction,
  type HeaderValueOption,
} from '../../../envoy-api/generated/envoy/config/core/v3/base';
import { RouteConfiguration } from '../../../envoy-api/generated/envoy/config/route/v3/route';
import type {
  HeaderMatcher,
  QueryParameterMatcher,
  RetryPolicy,
  Route,
  RouteAction,
  RouteMatch,
  VirtualHost,
  WeightedCluster,
} from '../../../envoy-api/generated/envoy/config/route/v3/route_components';
import { PreviousHostsPredicate } from '../../../envoy-api/generated/envoy/extensions/retry/host/previous_hosts/v3/previous_hosts';
import type { StringMatcher } from '../../../envoy-api/generated/envoy/type/matcher/v3/string';
import { packAny } from '../../../envoy-api/src/any';
import type {
  DestinationIr,
  HeaderMatchIr,
  HeaderValueIr,
  QueryParameterMatchIr,
  RetryIr,
  RewriteIr,
  RouteActionIr,
  RouteConfigurationIr,
  RouteIr,
  RouteMatchIr,
  StringMatchIr,
  VirtualHostIr,
  WeightedClusterIr,
} from '../ir';
import { duration } from './addresses';
import { aggregateStatsMetadata } from './metadata';

export function routeConfiguration(config: RouteConfigurationIr): RouteConfiguration {
  return { name: config.name, virtualHosts: config.virtualHosts.map(virtualHost) };
}

export function virtualHost(host: VirtualHostIr): VirtualHost {
  return {
    name: host.name,
    domains: [...host.domains],
    routes: host.routes.map(route),
    ...(host.statsTags !== undefined && { metadata: aggregateStatsMetadata(host.statsTags) }),
  };
}

export function route(ir: RouteIr): Route {
  return {
    name: ir.name,
    match: routeMatch(ir.match),
    action: { $case: 'route', value: routeAction(ir.action) },
    ...(ir.requestHeadersToAdd !== undefined &&
      ir.requestHeadersToAdd.length > 0 && {
        requestHeadersToAdd: ir.requestHeadersToAdd.map(headerValueOption),
      }),
    ...(ir.requestHeadersToRemove !== undefined &&
      ir.requestHeadersToRemove.length > 0 && {
        requestHeadersToRemove: [...ir.requestHeadersToRemove],
      }),
    ...(ir.responseHeadersToAdd !== undefined &&
      ir.responseHeadersToAdd.length > 0 && {
        responseHeadersToAdd: ir.responseHeadersToAdd.map(headerValueOption),
      }),
    ...(ir.responseHeadersToRemove !== undefined &&
      ir.responseHeadersToRemove.length > 0 && {
        responseHeadersToRemove: [...ir.responseHeadersToRemove],
      }),
  };
}

export function headerValueOption(header: HeaderValueIr): HeaderValueOption {
  return {
    header: { key: header.name, value: header.value },
    appendAction: header.overwrite
      ? HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
      : HeaderValueOption_HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
  };
}

export function routeMatch(match: RouteMatchIr): RouteMatch {
  return {
    pathSpecifier: pathSpecifier(match.path),
    ...(match.headers.length > 0 && { headers: match.headers.map(headerMatcher) }),
    ...(match.queryParameters.length > 0 && {
      queryParameters: match.queryParameters.map(queryParameterMatcher),
    }),
  };
}

function pathSpecifier(path: RouteMatchIr['path']): RouteMatch['pathSpecifier'] {
  switch (path.kind) {
    case 'prefix':
      return { $case: 'prefix', value: path.value };
    case 'exact':
      return { $case: 'path', value: path.value };
    case 'regex':
      return { $case: 'safeRegex', value: { regex: path.value } };
  }
}

/** String matches use `string_match`; Envoy deprecated the exact/prefix/suffix/regex fields. */
export function headerMatcher(header: HeaderMatchIr): HeaderMatcher {
  return {
    name: header.name,
    headerMatchSpecifier: headerMatchSpecifier(header.match),
    ...(header.invert && { invertMatch: true }),
  };
}

function headerMatchSpecifier(
  match: HeaderMatchIr['match'],
): HeaderMatcher['headerMatchSpecifier'] {
  switch (match.kind) {
    case 'present':
      return { $case: 'presentMatch', value: true };
    case 'range':
      return { $case: 'rangeMatch', value: { start: match.start, end: match.end } };
    case 'exact':
    case 'prefix':
    case 'suffix':
    case 'regex':
      return { $case: 'stringMatch', value: stringMatcher(match) };
  }
}

export function stringMatcher(match: StringMatchIr): StringMatcher {
  switch (match.kind) {
    case 'exact':
      return { matchPattern: { $case: 'exact', value: match.value } };
    case 'prefix':
      return { matchPattern: { $case: 'prefix', value: match.value } };
    case 'suffix':
      return { matchPattern: { $case: 'suffix', value: match.value } };
    case 'regex':
      return { matchPattern: { $case: 'safeRegex', value: { regex: match.value } } };
  }
}

export function queryParameterMatcher(parameter: QueryParameterMatchIr): QueryParameterMatcher {
  return {
    name: parameter.name,
    queryParameterMatchSpecifier:
      parameter.exact === undefined
        ? { $case: 'presentMatch', value: true }
        : { $case: 'stringMatch', value: stringMatcher({ kind: 'exact', value: parameter.exact }) },
  };
}

export function routeAction(action: RouteActionIr): RouteAction {
  return {
    clusterSpecifier: clusterSpecifier(action.destination),
    ...(action.timeoutMs !== undefined && { timeout: duration(action.timeoutMs) }),
    ...(action.idleTimeoutMs !== undefined && { idleTimeout: duration(action.idleTimeoutMs) }),
    ...(action.retry !== undefined && { retryPolicy: retryPolicy(action.retry) }),
    ...(action.maxStreamDurationMs !== undefined && {
      maxStreamDuration: { maxStreamDuration: duration(action.maxStreamDurationMs) },
    }),
    ...(action.rewrite !== undefined && rewrite(action.rewrite)),
  };
}

/**
 * A path rewrite replaces the whole path: one anchored match, so the substitution happens once.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#envoy-v3-api-field-config-route-v3-routeaction-regex-rewrite
 */
function rewrite(ir: RewriteIr): Partial<RouteAction> {
  return {
    ...(ir.prefix !== undefined && { prefixRewrite: ir.prefix }),
    ...(ir.path !== undefined && {
      regexRewrite: { pattern: { regex: '^.*$' }, substitution: ir.path },
    }),
    ...(ir.host !== undefined && {
      hostRewriteSpecifier: { $case: 'hostRewriteLiteral', value: ir.host },
    }),
  };
}

function clusterSpecifier(destination: DestinationIr): RouteAction['clusterSpecifier'] {
  return destination.kind === 'cluster'
    ? { $case: 'cluster', value: destination.name }
    : { $case: 'weightedClusters', value: weightedClusters(destination.clusters) };
}

/** Envoy divides by the sum of the weights (`total_weight` is deprecated). */
export function weightedClusters(clusters: readonly WeightedClusterIr[]): WeightedCluster {
  return { clusters: clusters.map(({ name, weight }) => ({ name, weight })) };
}

export function retryPolicy(retry: RetryIr): RetryPolicy {
  return {
    retryOn: retry.retryOn.join(','),
    numRetries: retry.numRetries,
    ...(retry.perTryTimeoutMs !== undefined && { perTryTimeout: duration(retry.perTryTimeoutMs) }),
    ...(retry.retriableStatusCodes.length > 0 && {
      retriableStatusCodes: [...retry.retriableStatusCodes],
    }),
    ...(retry.otherHostAttempts !== undefined && {
      retryHostPredicate: [
        {
          name: 'envoy.retry_host_predicates.previous_hosts',
          configType: { $case: 'typedConfig', value: packAny(PreviousHostsPredicate, {}) },
        },
      ],
      hostSelectionRetryMaxAttempts: retry.otherHostAttempts,
    }),
  };
}

export { RouteConfiguration };
