import { register } from '@grpc/grpc-js-xds';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type';
import type {
  XdsDecodeContext,
  XdsResourceType,
} from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type';
import { messageTypeRegistry } from '../../envoy-api/generated/typeRegistry';
import '../../envoy-api/generated/register-all';
import { typeNameOf } from '../../envoy-api/src/any';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  type TypeUrl,
} from '../../xds-types/src/resource-types';
import { caseNames, readCase } from '../test/golden-cases';
import { translate } from './translate';

// Proxyless resources must satisfy the gRPC client itself, not only Envoy's rules: each one is
// decoded and validated by @grpc/grpc-js-xds's own resource types, as the client does on receipt.

// gRPC clients take certificates from their bootstrap (gRFC A29): they are never sent secrets.
const GRPC_RESOURCE_TYPES: Partial<Record<TypeUrl, XdsResourceType>> = {
  [LISTENER]: ListenerResourceType.get(),
  [ROUTE_CONFIGURATION]: RouteConfigurationResourceType.get(),
  [CLUSTER]: ClusterResourceType.get(),
  [CLUSTER_LOAD_ASSIGNMENT]: EndpointResourceType.get(),
};

// The client's HTTP filters (the router among them) are known once the xds plugin is registered.
register();

// Only what the validators read: no certificate providers are configured.
const context = {
  server: {
    serverUri: 'localhost:18000',
    channelCredentials: { type: 'insecure' },
    serverFeatures: [],
  },
  bootstrap: { certificateProviders: {} },
} as unknown as XdsDecodeContext;

const proxylessCases = caseNames().filter((name) => readCase(name).proxy.kind === 'proxyless');

describe.each(proxylessCases)('proxyless golden case %s', (name) => {
  const goldenCase = readCase(name);
  const { resources } = translate(goldenCase.mesh, goldenCase.proxy, goldenCase.registry);

  it('produces resources a grpc-js-xds client accepts', () => {
    expect(resources.length).toBeGreaterThan(0);
    const rejected = resources.flatMap((resource) => {
      const type = messageTypeRegistry.get(typeNameOf(resource.typeUrl));
      if (type === undefined) throw new Error(`no generated type for ${resource.typeUrl}`);
      const value = Buffer.from(type.encode(resource.message).finish());
      const grpcType = GRPC_RESOURCE_TYPES[resource.typeUrl];
      if (grpcType === undefined) return [`${resource.name}: gRPC has no ${resource.typeUrl}`];
      const decoded = grpcType.decode(context, {
        type_url: resource.typeUrl,
        value,
      });
      return decoded.error === undefined ? [] : [`${resource.name}: ${decoded.error}`];
    });
    expect(rejected).toEqual([]);
  });
});

it('has proxyless golden cases', () => {
  expect(proxylessCases.length).toBeGreaterThan(0);
});
