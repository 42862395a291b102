import {
  ApiConfigSource_ApiType,
  ApiVersion,
  type ConfigSource,
} from '../../../envoy-api/generated/envoy/config/core/v3/config_source';
import { SDS_CLUSTER } from '../names';

/** Resources named in a listener or cluster come over the same ADS stream as the proxy's LDS. */
export const ADS: ConfigSource = {
  resourceApiVersion: ApiVersion.V3,
  configSourceSpecifier: { $case: 'ads', value: {} },
};

/**
 * SDS secrets come from the local agent (SPIRE) through the static cluster App Mesh's Envoy
 * bootstrap adds when `APPMESH_SDS_SOCKET_PATH` is set.
 */
export const LOCAL_SDS: ConfigSource = {
  resourceApiVersion: ApiVersion.V3,
  configSourceSpecifier: {
    $case: 'apiConfigSource',
    value: {
      apiType: ApiConfigSource_ApiType.GRPC,
      transportApiVersion: ApiVersion.V3,
      grpcServices: [
        { targetSpecifier: { $case: 'envoyGrpc', value: { clusterName: SDS_CLUSTER } } },
      ],
    },
  },
};
