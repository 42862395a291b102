import { TrafficDirection } from '../../../envoy-api/generated/envoy/config/core/v3/base';
import { Listener } from '../../../envoy-api/generated/envoy/config/listener/v3/listener';
import type {
  Filter,
  FilterChain,
  ListenerFilter,
} from '../../../envoy-api/generated/envoy/config/listener/v3/listener_components';
import { Router } from '../../../envoy-api/generated/envoy/extensions/filters/http/router/v3/router';
import { OriginalDst } from '../../../envoy-api/generated/envoy/extensions/filters/listener/original_dst/v3/original_dst';
import { TlsInspector } from '../../../envoy-api/generated/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector';
import {
  HttpConnectionManager,
  HttpConnectionManager_CodecType,
  type HttpFilter,
} from '../../../envoy-api/generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { TcpProxy } from '../../../envoy-api/generated/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy';
import { packAny } from '../../../envoy-api/src/any';
import type {
  ApiListenerIr,
  DestinationIr,
  FilterChainIr,
  HttpNetworkIr,
  SocketListenerIr,
  TcpNetworkIr,
} from '../ir';
import { fileAccessLog } from './access-logs';
import { address, duration, socketAddress } from './addresses';
import { ADS } from './config-sources';
import { routeConfiguration } from './routes';
import { downstreamTlsTransportSocket } from './tls';
import { xrayTracing } from './tracing';

/**
 * A listener bound to a port. When iptables redirects the application's connections to it
 * (sidecars), the original destination listener filter restores the address the application
 * dialled: filter chains match on that port.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/listener_filters/original_dst_filter
 */
export function socketListener(listener: SocketListenerIr): Listener {
  return {
    name: listener.name,
    address: address(
      socketAddress(listener.address.host, listener.address.port, {
        ipv4Compat: listener.address.ipv4Compat,
      }),
    ),
    filterChains: listener.filterChains.map(filterChain),
    ...(listener.defaultFilterChain !== undefined && {
      defaultFilterChain: filterChain(listener.defaultFilterChain),
    }),
    ...listenerFilters(listener),
    trafficDirection:
      listener.direction === 'inbound' ? TrafficDirection.INBOUND : TrafficDirection.OUTBOUND,
  };
}

function listenerFilters(listener: SocketListenerIr): Pick<Listener, 'listenerFilters'> {
  const filters = [
    ...(listener.redirected ? [originalDstListenerFilter()] : []),
    ...(listener.filterChains.some(readsTlsHandshake) ? [tlsInspectorListenerFilter()] : []),
  ];
  return filters.length > 0 ? { listenerFilters: filters } : {};
}

export function originalDstListenerFilter(): ListenerFilter {
  return {
    name: 'envoy.filters.listener.original_dst',
    configType: { $case: 'typedConfig', value: packAny(OriginalDst, {}) },
  };
}

/**
 * Reads the first bytes of a connection to tell TLS from plaintext and find the SNI, which filter
 * chains matching on `transport_protocol` or `server_names` need.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/listener_filters/tls_inspector
 */
export function tlsInspectorListenerFilter(): ListenerFilter {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    configType: { $case: 'typedConfig', value: packAny(TlsInspector, {}) },
  };
}

function readsTlsHandshake(chain: FilterChainIr): boolean {
  return chain.transportProtocol !== undefined || chain.serverNames !== undefined;
}

export function filterChain(chain: FilterChainIr): FilterChain {
  const matched =
    chain.destinationPort !== undefined || readsTlsHandshake(chain)
      ? {
          filterChainMatch: {
            ...(chain.destinationPort !== undefined && { destinationPort: chain.destinationPort }),
            ...(chain.serverNames !== undefined && { serverNames: [...chain.serverNames] }),
            ...(chain.transportProtocol !== undefined && {
              transportProtocol: chain.transportProtocol,
            }),
          },
        }
      : {};
  return {
    ...matched,
    filters: [
      chain.network.kind === 'http'
        ? httpConnectionManagerFilter(httpConnectionManager(chain.network))
        : tcpProxyFilter(tcpProxy(chain.network)),
    ],
    ...(chain.tls !== undefined && { transportSocket: downstreamTlsTransportSocket(chain.tls) }),
  };
}

export function httpConnectionManagerFilter(manager: HttpConnectionManager): Filter {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    configType: { $case: 'typedConfig', value: packAny(HttpConnectionManager, manager) },
  };
}

export function tcpProxyFilter(proxy: TcpProxy): Filter {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    configType: { $case: 'typedConfig', value: packAny(TcpProxy, proxy) },
  };
}

/**
 * An HTTP connection manager: the codec follows what the client speaks (HTTP/1.1 or HTTP/2), the
 * router is the last (and only) HTTP filter.
 */
export function httpConnectionManager(network: HttpNetworkIr): HttpConnectionManager {
  return {
    codecType: HttpConnectionManager_CodecType.AUTO,
    statPrefix: network.statPrefix,
    routeSpecifier:
      network.routes.kind === 'rds'
        ? { $case: 'rds', value: { configSource: ADS, routeConfigName: network.routes.name } }
        : { $case: 'routeConfig', value: routeConfiguration(network.routes.config) },
    httpFilters: [routerFilter()],
    ...(network.normalizePath && { normalizePath: true, mergeSlashes: true }),
    ...(network.tracing !== undefined && { tracing: xrayTracing(network.tracing) }),
    ...(network.accessLog !== undefined && { accessLog: [fileAccessLog(network.accessLog)] }),
    ...(network.websocket && { upgradeConfigs: [{ upgradeType: 'websocket' }] }),
  };
}

export function routerFilter(): HttpFilter {
  return {
    name: 'envoy.filters.http.router',
    configType: { $case: 'typedConfig', value: packAny(Router, {}) },
  };
}

export function tcpProxy(network: TcpNetworkIr): TcpProxy {
  return {
    statPrefix: network.statPrefix,
    clusterSpecifier: tcpClusterSpecifier(network.destination),
    ...(network.idleTimeoutMs !== undefined && { idleTimeout: duration(network.idleTimeoutMs) }),
    ...(network.accessLog !== undefined && { accessLog: [fileAccessLog(network.accessLog)] }),
  };
}

function tcpClusterSpecifier(destination: DestinationIr): TcpProxy['clusterSpecifier'] {
  return destination.kind === 'cluster'
    ? { $case: 'cluster', value: destination.name }
    : {
        $case: 'weightedClusters',
        value: {
          clusters: destination.clusters.map(({ name, weight }) => ({ name, weight })),
        },
      };
}

/**
 * A proxyless gRPC client's listener: an HTTP connection manager in `api_listener`, its routes
 * over RDS on the ADS stream and the router as the last HTTP filter, as gRFC A27 and A39 require
 * (a listener with listener filters would be NACKed).
 */
export function apiListener(listener: ApiListenerIr): Listener {
  const manager: HttpConnectionManager = {
    statPrefix: listener.name,
    routeSpecifier: {
      $case: 'rds',
      value: { configSource: ADS, routeConfigName: listener.routeConfigurationName },
    },
    httpFilters: [routerFilter()],
  };
  return {
    name: listener.name,
    apiListener: { apiListener: packAny(HttpConnectionManager, manager) },
  };
}

export { Listener };
