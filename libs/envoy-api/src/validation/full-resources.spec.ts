import {
  Cluster,
  Cluster_DiscoveryType,
  Cluster_LbPolicy,
} from '../../generated/envoy/config/cluster/v3/cluster';
import {
  SocketAddress_Protocol,
  type SocketAddress,
} from '../../generated/envoy/config/core/v3/address';
import { ApiVersion, type ConfigSource } from '../../generated/envoy/config/core/v3/config_source';
import { Listener } from '../../generated/envoy/config/listener/v3/listener';
import { XRayConfig } from '../../generated/envoy/config/trace/v3/xray';
import { FileAccessLog } from '../../generated/envoy/extensions/access_loggers/file/v3/file';
import { Router } from '../../generated/envoy/extensions/filters/http/router/v3/router';
import { OriginalDst } from '../../generated/envoy/extensions/filters/listener/original_dst/v3/original_dst';
import {
  HttpConnectionManager,
  HttpConnectionManager_CodecType,
} from '../../generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { TcpProxy } from '../../generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';
import { UpstreamTlsContext } from '../../generated/envoy/extensions/transport_sockets/tls/v3/tls';
import { HttpProtocolOptions } from '../../generated/envoy/extensions/upstreams/http/v3/http_protocol_options';
import { packAny, typeUrl, unpackAny } from '../any';
import { validateResource } from './validate-resource';

// Whole resources as Trellis will send them, through encode and decode, as a proxy receives them.

const ads: ConfigSource = {
  resourceApiVersion: ApiVersion.V3,
  configSourceSpecifier: { $case: 'ads', value: {} },
};
const socketAddress = (
  address: string,
  port: number,
  protocol = SocketAddress_Protocol.TCP,
): SocketAddress => ({
  protocol,
  address,
  portSpecifier: { $case: 'portValue', value: port },
});

const xray: XRayConfig = {
  segmentName: 'mesh-a/web',
  daemonEndpoint: socketAddress('127.0.0.1', 2000, SocketAddress_Protocol.UDP),
  segmentFields: {
    origin: 'AWS::AppMesh::Proxy',
    aws: { app_mesh: { mesh_name: 'mesh-a', virtual_node_name: 'web' } },
  },
};

const egressHcm = (segmentName: string): HttpConnectionManager => ({
  statPrefix: 'egress_http_8080',
  codecType: HttpConnectionManager_CodecType.AUTO,
  routeSpecifier: {
    $case: 'rds',
    value: { routeConfigName: 'rds_egress_http_8080', configSource: ads },
  },
  httpFilters: [
    {
      name: 'envoy.filters.http.router',
      configType: { $case: 'typedConfig', value: packAny(Router, {}) },
    },
  ],
  tracing: {
    provider: {
      name: 'envoy.tracers.xray',
      configType: { $case: 'typedConfig', value: packAny(XRayConfig, { ...xray, segmentName }) },
    },
  },
  accessLog: [
    {
      name: 'envoy.access_loggers.file',
      configType: { $case: 'typedConfig', value: packAny(FileAccessLog, { path: '/dev/stdout' }) },
    },
  ],
  commonHttpProtocolOptions: { idleTimeout: { seconds: 300, nanos: 0 } },
});

const egressListener = (segmentName = 'mesh-a/web'): Listener => ({
  name: 'lds_egress_0.0.0.0_15001',
  address: { address: { $case: 'socketAddress', value: socketAddress('0.0.0.0', 15001) } },
  listenerFilters: [
    {
      name: 'envoy.filters.listener.original_dst',
      configType: { $case: 'typedConfig', value: packAny(OriginalDst, {}) },
    },
  ],
  filterChains: [
    {
      filterChainMatch: { destinationPort: 8080 },
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          configType: {
            $case: 'typedConfig',
            value: packAny(HttpConnectionManager, egressHcm(segmentName)),
          },
        },
      ],
    },
    {
      filterChainMatch: { destinationPort: 5432 },
      filters: [
        {
          name: 'envoy.filters.network.tcp_proxy',
          configType: {
            $case: 'typedConfig',
            value: packAny(TcpProxy, {
              statPrefix: 'egress_tcp_5432',
              clusterSpecifier: { $case: 'cluster', value: 'cds_egress_mesh-a_db_tcp_5432' },
            }),
          },
        },
      ],
    },
  ],
});

describe('full resources', () => {
  it('an egress Listener with an HCM, X-Ray tracing, an access log and a TCP proxy is valid', () => {
    const received = Listener.decode(Listener.encode(egressListener()).finish());

    expect(validateResource(Listener.$type, received)).toEqual([]);

    const filter = received.filterChains?.[0]?.filters?.[0];
    if (filter?.configType?.$case !== 'typedConfig')
      throw new Error('the HCM is not a typed_config');
    const hcm = unpackAny(filter.configType.value, HttpConnectionManager);
    const tracer = hcm.tracing?.provider?.configType;
    if (tracer?.$case !== 'typedConfig') throw new Error('the tracer is not a typed_config');
    expect(tracer.value.typeUrl).toBe('type.googleapis.com/envoy.config.trace.v3.XRayConfig');
    expect(unpackAny(tracer.value, XRayConfig)).toEqual(XRayConfig.fromPartial(xray));
  });

  it('finds a rule broken two Any levels down', () => {
    const received = Listener.decode(Listener.encode(egressListener('')).finish());

    expect(validateResource(Listener.$type, received)).toEqual([
      {
        path: 'filter_chains[0].filters[0].typed_config.tracing.provider.typed_config.segment_name',
        rule: 'string.min_len',
        message: 'must be at least 1 characters long',
      },
    ]);
  });

  it('renders Any contents in proto3 JSON with their @type', () => {
    const json = Listener.toJSON(egressListener()) as {
      filterChains: { filters: { typedConfig: object }[] }[];
    };

    expect(json.filterChains[0]!.filters[0]!.typedConfig).toMatchObject({
      '@type': typeUrl(HttpConnectionManager),
      statPrefix: 'egress_http_8080',
    });
  });

  it('an EDS Cluster with upstream TLS and HTTP/2 protocol options is valid', () => {
    const cluster: Cluster = {
      name: 'cds_egress_mesh-a_api_http2_8080',
      clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
      edsClusterConfig: { edsConfig: ads, serviceName: 'cds_egress_mesh-a_api_http2_8080' },
      connectTimeout: { seconds: 1, nanos: 0 },
      lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
      transportSocket: {
        name: 'envoy.transport_sockets.tls',
        configType: {
          $case: 'typedConfig',
          value: packAny(UpstreamTlsContext, {
            sni: 'api.mesh-a.local',
            commonTlsContext: { alpnProtocols: ['h2'] },
          }),
        },
      },
      typedExtensionProtocolOptions: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(HttpProtocolOptions, {
          upstreamProtocolOptions: {
            $case: 'explicitHttpConfig',
            value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } },
          },
        }),
      },
    };

    const received = Cluster.decode(Cluster.encode(cluster).finish());

    expect(validateResource(Cluster.$type, received)).toEqual([]);
    expect(
      validateResource(Cluster.$type, { ...received, connectTimeout: { seconds: 0, nanos: 0 } }),
    ).toEqual([
      { path: 'connect_timeout', rule: 'duration.gt', message: 'must be greater than 0s' },
    ]);
  });
});
