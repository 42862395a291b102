import { SocketAddress_Protocol } from '../../../envoy-api/generated/envoy/config/core/v3/address';
import { XRayConfig } from '../../../envoy-api/generated/envoy/config/trace/v3/xray';
import type { HttpConnectionManager_Tracing } from '../../../envoy-api/generated/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager';
import { packAny } from '../../../envoy-api/src/any';
import type { TracingIr } from '../ir';
import { socketAddress } from './addresses';

/**
 * HTTP connection manager tracing through the X-Ray tracer, configured as the App Mesh Envoy agent
 * configures it in the bootstrap (HCM `tracing.provider` replaces the deprecated bootstrap field).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/trace/v3/xray.proto
 */
export function xrayTracing(tracing: TracingIr): HttpConnectionManager_Tracing {
  return {
    provider: {
      name: 'envoy.tracers.xray',
      configType: { $case: 'typedConfig', value: packAny(XRayConfig, xrayConfig(tracing)) },
    },
  };
}

export function xrayConfig(tracing: TracingIr): XRayConfig {
  return {
    daemonEndpoint: socketAddress(tracing.daemonAddress, tracing.daemonPort, {
      protocol: SocketAddress_Protocol.UDP,
    }),
    segmentName: tracing.segmentName,
    ...(tracing.samplingRate !== undefined && {
      samplingRuleManifest: {
        specifier: { $case: 'inlineString', value: samplingRuleManifest(tracing.samplingRate) },
      },
    }),
    segmentFields: {
      origin: 'AWS::AppMesh::Proxy',
      aws: {
        app_mesh: { mesh_name: tracing.meshName, virtual_node_name: tracing.virtualNodeName },
      },
    },
  };
}

/**
 * A version-2 X-Ray sampling manifest: record the first request each second, then `rate` of the
 * rest, as the App Mesh agent writes for XRAY_SAMPLING_RATE. Envoy uses its built-in default
 * instead of the manifest's `default` when the manifest has no rules (LocalizedSamplingStrategy::
 * shouldTrace, source/extensions/tracers/xray/localized_sampling.cc), so one catch-all rule
 * carries the same values.
 */
export function samplingRuleManifest(rate: number): string {
  const rule = { fixed_target: 1, rate };
  return JSON.stringify({
    version: 2,
    rules: [{ host: '*', http_method: '*', url_path: '*', ...rule }],
    default: rule,
  });
}
