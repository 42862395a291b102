import {
  Cluster,
  Cluster_LbPolicy,
  Cluster_PreconnectPolicy,
  Cluster_RingHashLbConfig,
} from '../../generated/envoy/config/cluster/v3/cluster';
import { Address, SocketAddress } from '../../generated/envoy/config/core/v3/address';
import {
  HeaderValue,
  HeaderValueOption,
  Metadata,
  RequestMethod,
} from '../../generated/envoy/config/core/v3/base';
import { ExtensionConfigSource } from '../../generated/envoy/config/core/v3/config_source';
import { TypedExtensionConfig } from '../../generated/envoy/config/core/v3/extension';
import {
  HealthCheck,
  HealthCheck_HttpHealthCheck,
} from '../../generated/envoy/config/core/v3/health_check';
import {
  AlternateProtocolsCacheOptions_AlternateProtocolsCacheEntry,
  Http2ProtocolOptions_SettingsParameter,
  QuicKeepAliveSettings,
  SchemeHeaderTransformation,
} from '../../generated/envoy/config/core/v3/protocol';
import { Listener } from '../../generated/envoy/config/listener/v3/listener';
import {
  FilterChainMatch,
  ListenerFilterChainMatchPredicate,
} from '../../generated/envoy/config/listener/v3/listener_components';
import { RouteConfiguration } from '../../generated/envoy/config/route/v3/route';
import {
  HeaderMatcher,
  HedgePolicy,
  InternalRedirectPolicy,
  Route,
  RouteMatch,
  VirtualHost,
  WeightedCluster,
} from '../../generated/envoy/config/route/v3/route_components';
import { XRayConfig } from '../../generated/envoy/config/trace/v3/xray';
import { Router } from '../../generated/envoy/extensions/filters/http/router/v3/router';
import { HttpConnectionManager } from '../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { DownstreamTlsContext } from '../../generated/envoy/extensions/transport_sockets/tls/v3/tls';
import { Matcher_MatcherTree_MatchMap } from '../../generated/xds/type/matcher/v3/matcher';
import type { MessageType } from '../../generated/typeRegistry';
import { packAny } from '../any';
import { validateResource } from './validate-resource';

interface RuleCase {
  title: string;
  typeName: string;
  valid: unknown;
  invalid: unknown;
  path: string;
  rule: string;
}

/** A message of `type` that passes, one that breaks exactly `rule` at `path`. */
function ruleCase<M>(
  title: string,
  type: MessageType<M>,
  valid: M,
  invalid: M,
  path: string,
  rule: string,
): RuleCase {
  return { title, typeName: type.$type, valid, invalid, path, rule };
}

const seconds = (s: number, nanos = 0) => ({ seconds: s, nanos });
const socketAddress = (address: string, port: number): SocketAddress => ({
  address,
  portSpecifier: { $case: 'portValue', value: port },
});
const rdsHcm = (statPrefix: string): HttpConnectionManager => ({
  statPrefix,
  routeSpecifier: {
    $case: 'rds',
    value: {
      routeConfigName: 'rds_egress_http_8080',
      configSource: { configSourceSpecifier: { $case: 'ads', value: {} } },
    },
  },
  httpFilters: [
    {
      name: 'envoy.filters.http.router',
      configType: { $case: 'typedConfig', value: packAny(Router, {}) },
    },
  ],
});
const listenerWith = (hcm: HttpConnectionManager): Listener => ({
  name: 'lds_egress_0.0.0.0_15001',
  address: { address: { $case: 'socketAddress', value: socketAddress('0.0.0.0', 15001) } },
  filterChains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          configType: { $case: 'typedConfig', value: packAny(HttpConnectionManager, hcm) },
        },
      ],
    },
  ],
});
const header = (key: string): HeaderValueOption => ({ header: { key, value: 'v' } });
const httpHealthCheck = (method: RequestMethod): HealthCheck => ({
  timeout: seconds(1),
  interval: seconds(5),
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  healthChecker: { $case: 'httpHealthCheck', value: { path: '/health', method } },
});

// One passing and one failing message per kind of rule Envoy's protos use; the failing one breaks
// exactly one rule. Rule kinds Envoy does not use are covered in resource-validator.spec.ts.
const cases: RuleCase[] = [
  ruleCase(
    'string.min_len: Cluster name',
    Cluster,
    { name: 'cds_egress_mesh_web_http_8080' },
    { name: '' },
    'name',
    'string.min_len',
  ),
  ruleCase(
    'string.min_len: HttpConnectionManager stat_prefix',
    HttpConnectionManager,
    rdsHcm('egress_http_8080'),
    rdsHcm(''),
    'stat_prefix',
    'string.min_len',
  ),
  ruleCase(
    'string.min_len: XRayConfig segment_name',
    XRayConfig,
    { segmentName: 'mesh/web' },
    { segmentName: '' },
    'segment_name',
    'string.min_len',
  ),
  ruleCase(
    'string.max_bytes: HeaderValue key',
    HeaderValue,
    { key: 'x-request-id', value: 'abc' },
    { key: 'x'.repeat(16385) },
    'key',
    'string.max_bytes',
  ),
  ruleCase(
    'string.well_known_regex (HTTP_HEADER_NAME, not strict): HeaderMatcher name',
    HeaderMatcher,
    { name: 'x-canary', headerMatchSpecifier: { $case: 'presentMatch', value: true } },
    {
      name: 'x-canary\r\nx-injected',
      headerMatchSpecifier: { $case: 'presentMatch', value: true },
    },
    'name',
    'string.well_known_regex',
  ),
  ruleCase(
    'string.well_known_regex (HTTP_HEADER_VALUE, strict): HttpHealthCheck host',
    HealthCheck_HttpHealthCheck,
    { path: '/health', host: 'web.local' },
    { path: '/health', host: 'web\u0001.local' },
    'host',
    'string.well_known_regex',
  ),
  ruleCase(
    'string.well_known_regex with ignore_empty: AlternateProtocolsCacheEntry hostname',
    AlternateProtocolsCacheOptions_AlternateProtocolsCacheEntry,
    { hostname: '', port: 443 },
    { hostname: 'bad host', port: 443 },
    'hostname',
    'string.well_known_regex',
  ),
  ruleCase(
    'string.in: SchemeHeaderTransformation scheme_to_overwrite',
    SchemeHeaderTransformation,
    { transformation: { $case: 'schemeToOverwrite', value: 'https' } },
    { transformation: { $case: 'schemeToOverwrite', value: 'ftp' } },
    'scheme_to_overwrite',
    'string.in',
  ),
  ruleCase(
    'string.pattern: RouteMatch path_separated_prefix',
    RouteMatch,
    { pathSpecifier: { $case: 'pathSeparatedPrefix', value: '/api' } },
    { pathSpecifier: { $case: 'pathSeparatedPrefix', value: '/api/' } },
    'path_separated_prefix',
    'string.pattern',
  ),
  ruleCase(
    'repeated.min_items: VirtualHost domains',
    VirtualHost,
    { name: 'web', domains: ['web.local', 'web.local:8080'] },
    { name: 'web', domains: [] },
    'domains',
    'repeated.min_items',
  ),
  ruleCase(
    'repeated.items: VirtualHost domains are header values',
    VirtualHost,
    { name: 'web', domains: ['*'] },
    { name: 'web', domains: ['*', 'web\n.local'] },
    'domains[1]',
    'repeated.items.string.well_known_regex',
  ),
  ruleCase(
    'repeated.min_items: WeightedCluster clusters',
    WeightedCluster,
    {
      clusters: [
        { name: 'cds_egress_mesh_web-v1_http_8080', weight: 90 },
        { name: 'cds_egress_mesh_web-v2_http_8080', weight: 10 },
      ],
    },
    { clusters: [] },
    'clusters',
    'repeated.min_items',
  ),
  ruleCase(
    'repeated.max_items: VirtualHost request_headers_to_add',
    VirtualHost,
    { name: 'web', domains: ['*'], requestHeadersToAdd: [header('x-mesh')] },
    {
      name: 'web',
      domains: ['*'],
      requestHeadersToAdd: Array.from({ length: 1001 }, (_, i) => header(`x-h${i}`)),
    },
    'request_headers_to_add',
    'repeated.max_items',
  ),
  ruleCase(
    'repeated.unique: InternalRedirectPolicy response_headers_to_copy',
    InternalRedirectPolicy,
    { responseHeadersToCopy: ['x-a', 'x-b'] },
    { responseHeadersToCopy: ['x-a', 'x-a'] },
    'response_headers_to_copy',
    'repeated.unique',
  ),
  ruleCase(
    'repeated.items uint32 range: FilterChainMatch source_ports',
    FilterChainMatch,
    { sourcePorts: [1, 65535] },
    { sourcePorts: [80, 0] },
    'source_ports[1]',
    'repeated.items.uint32.gte',
  ),
  ruleCase(
    'map.keys: Metadata filter_metadata keys',
    Metadata,
    { filterMetadata: { 'envoy.lb': { canary: true } } },
    { filterMetadata: { '': { canary: true } } },
    'filter_metadata[""]',
    'map.keys.string.min_len',
  ),
  ruleCase(
    'map.min_pairs: xds MatchMap map',
    Matcher_MatcherTree_MatchMap,
    {
      map: {
        web: {
          onMatch: { $case: 'action', value: { name: 'a', typedConfig: packAny(Router, {}) } },
        },
      },
    },
    { map: {} },
    'map',
    'map.min_pairs',
  ),
  ruleCase(
    'message.required: Route match',
    Route,
    {
      match: { pathSpecifier: { $case: 'prefix', value: '/' } },
      action: { $case: 'route', value: { clusterSpecifier: { $case: 'cluster', value: 'c' } } },
    },
    { action: { $case: 'route', value: { clusterSpecifier: { $case: 'cluster', value: 'c' } } } },
    'match',
    'message.required',
  ),
  ruleCase(
    'message.required and uint32 on a wrapper: Http2 SettingsParameter identifier',
    Http2ProtocolOptions_SettingsParameter,
    { identifier: 8, value: 1 },
    { value: 1 },
    'identifier',
    'message.required',
  ),
  ruleCase(
    'uint32.lte on a wrapper: Http2 SettingsParameter identifier',
    Http2ProtocolOptions_SettingsParameter,
    { identifier: 65535, value: 1 },
    { identifier: 65536, value: 1 },
    'identifier',
    'uint32.lte',
  ),
  ruleCase(
    'oneof required: Listener address needs socket_address, pipe or internal address',
    Listener,
    {
      name: 'l',
      address: { address: { $case: 'socketAddress', value: socketAddress('0.0.0.0', 15000) } },
    },
    { name: 'l', address: {} },
    'address.address',
    'oneof.required',
  ),
  ruleCase(
    'oneof required: HttpConnectionManager route_specifier',
    HttpConnectionManager,
    rdsHcm('ingress_http'),
    { statPrefix: 'ingress_http' },
    'route_specifier',
    'oneof.required',
  ),
  ruleCase(
    'uint32.lte in a oneof: SocketAddress port_value',
    SocketAddress,
    socketAddress('10.0.0.1', 65535),
    socketAddress('10.0.0.1', 65536),
    'port_value',
    'uint32.lte',
  ),
  ruleCase(
    'uint32 exclusive-bounds range: AlternateProtocolsCacheEntry port',
    AlternateProtocolsCacheOptions_AlternateProtocolsCacheEntry,
    { hostname: 'example.com', port: 65534 },
    { hostname: 'example.com', port: 65535 },
    'port',
    'uint32.lt',
  ),
  ruleCase(
    'uint32.gte on a wrapper: HedgePolicy initial_requests',
    HedgePolicy,
    { initialRequests: 2 },
    { initialRequests: 0 },
    'initial_requests',
    'uint32.gte',
  ),
  ruleCase(
    'uint64.lte on a wrapper: RingHashLbConfig maximum_ring_size',
    Cluster_RingHashLbConfig,
    { maximumRingSize: 8388608 },
    { maximumRingSize: 8388609 },
    'maximum_ring_size',
    'uint64.lte',
  ),
  ruleCase(
    'double range on a wrapper: PreconnectPolicy per_upstream_preconnect_ratio',
    Cluster_PreconnectPolicy,
    { perUpstreamPreconnectRatio: 1.5 },
    { perUpstreamPreconnectRatio: 0.5 },
    'per_upstream_preconnect_ratio',
    'double.gte',
  ),
  ruleCase(
    'enum.defined_only: Cluster lb_policy',
    Cluster,
    { name: 'c', lbPolicy: Cluster_LbPolicy.LEAST_REQUEST },
    // An undefined value, as a stale enum table or a bad cast could produce.
    { name: 'c', lbPolicy: 99 as Cluster_LbPolicy },
    'lb_policy',
    'enum.defined_only',
  ),
  ruleCase(
    'enum.not_in: HTTP health checks cannot use CONNECT',
    HealthCheck,
    httpHealthCheck(RequestMethod.GET),
    httpHealthCheck(RequestMethod.CONNECT),
    'http_health_check.method',
    'enum.not_in',
  ),
  ruleCase(
    'bool.const: ListenerFilterChainMatchPredicate any_match',
    ListenerFilterChainMatchPredicate,
    { rule: { $case: 'anyMatch', value: true } },
    { rule: { $case: 'anyMatch', value: false } },
    'any_match',
    'bool.const',
  ),
  ruleCase(
    'bytes.max_len: HeaderValue raw_value',
    HeaderValue,
    { key: 'x-bin', rawValue: new Uint8Array(16) },
    { key: 'x-bin', rawValue: new Uint8Array(16385) },
    'raw_value',
    'bytes.max_len',
  ),
  ruleCase(
    'duration.gt: Cluster connect_timeout',
    Cluster,
    { name: 'c', connectTimeout: seconds(0, 250_000_000) },
    { name: 'c', connectTimeout: seconds(0) },
    'connect_timeout',
    'duration.gt',
  ),
  ruleCase(
    'duration.required: HealthCheck timeout',
    HealthCheck,
    httpHealthCheck(RequestMethod.GET),
    { ...httpHealthCheck(RequestMethod.GET), timeout: undefined },
    'timeout',
    'duration.required',
  ),
  ruleCase(
    'duration.lt: DownstreamTlsContext session_timeout',
    DownstreamTlsContext,
    { sessionTimeout: seconds(300) },
    { sessionTimeout: seconds(4294967296) },
    'session_timeout',
    'duration.lt',
  ),
  ruleCase(
    'duration exclusive range {lte: 0s, gte: 1s}: QuicKeepAliveSettings max_interval',
    QuicKeepAliveSettings,
    { maxInterval: seconds(0) },
    { maxInterval: seconds(0, 500_000_000) },
    'max_interval',
    'duration.gte+lte',
  ),
  ruleCase(
    'any.required: TypedExtensionConfig typed_config',
    TypedExtensionConfig,
    { name: 'envoy.filters.http.router', typedConfig: packAny(Router, {}) },
    { name: 'envoy.filters.http.router' },
    'typed_config',
    'any.required',
  ),
  ruleCase(
    'any.required on a message field: ExtensionConfigSource config_source',
    ExtensionConfigSource,
    {
      configSource: { configSourceSpecifier: { $case: 'ads', value: {} } },
      typeUrls: ['type.googleapis.com/x'],
    },
    { typeUrls: ['type.googleapis.com/x'] },
    'config_source',
    'any.required',
  ),
  ruleCase(
    'Any contents are validated: HCM stat_prefix inside a Listener filter',
    Listener,
    listenerWith(rdsHcm('egress_http')),
    listenerWith(rdsHcm('')),
    'filter_chains[0].filters[0].typed_config.stat_prefix',
    'string.min_len',
  ),
  ruleCase(
    'nested messages are validated: RouteConfiguration virtual host domains',
    RouteConfiguration,
    { name: 'rds_egress_http_8080', virtualHosts: [{ name: 'web', domains: ['web.local'] }] },
    {
      name: 'rds_egress_http_8080',
      virtualHosts: [
        { name: 'web', domains: ['web.local'] },
        { name: 'api', domains: [] },
      ],
    },
    'virtual_hosts[1].domains',
    'repeated.min_items',
  ),
];

describe('validateResource', () => {
  it.each(cases)('$title', ({ typeName, valid, invalid, path, rule }) => {
    expect(validateResource(typeName, valid)).toEqual([]);
    expect(validateResource(typeName, invalid)).toEqual([
      { path, rule, message: expect.any(String) },
    ]);
  });

  it('reports every failure, each with its own path', () => {
    const cluster: Cluster = {
      name: '',
      connectTimeout: seconds(0),
      lbPolicy: 42 as Cluster_LbPolicy,
    };

    expect(
      validateResource(Cluster.$type, cluster).map(({ path, rule }) => `${path}: ${rule}`),
    ).toEqual([
      'name: string.min_len',
      'connect_timeout: duration.gt',
      'lb_policy: enum.defined_only',
    ]);
  });

  it('validates decoded messages the same as built ones', () => {
    const address: Address = { address: { $case: 'socketAddress', value: socketAddress('', 80) } };

    const decoded = Address.decode(Address.encode(address).finish());

    expect(validateResource(Address.$type, decoded)).toEqual([
      {
        path: 'socket_address.address',
        rule: 'string.min_len',
        message: 'must be at least 1 characters long',
      },
    ]);
  });

  it('rejects a type name that is not a generated message', () => {
    expect(() => validateResource('envoy.config.listener.v3.Listner', {})).toThrow(
      /not a generated Envoy message/,
    );
  });
});
