import { SocketAddress_Protocol } from '../../../envoy-api/generated/envoy/config/core/v3/address';
import type { TracingIr } from '../ir';
import { socketAddress } from './addresses';
import { samplingRuleManifest, xrayConfig } from './tracing';

describe('xrayConfig', () => {
  const tracing: TracingIr = {
    segmentName: 'shop/web',
    daemonAddress: '127.0.0.1',
    daemonPort: 2000,
    meshName: 'shop',
    virtualNodeName: 'web',
  };
  const segmentFields = {
    origin: 'AWS::AppMesh::Proxy',
    aws: { app_mesh: { mesh_name: 'shop', virtual_node_name: 'web' } },
  };

  it.each([
    [
      'App Mesh defaults: UDP daemon, no sampling manifest',
      tracing,
      {
        daemonEndpoint: socketAddress('127.0.0.1', 2000, { protocol: SocketAddress_Protocol.UDP }),
        segmentName: 'shop/web',
        segmentFields,
      },
    ],
    [
      'a sampling rate becomes an inline manifest',
      { ...tracing, samplingRate: 0.1 },
      {
        daemonEndpoint: socketAddress('127.0.0.1', 2000, { protocol: SocketAddress_Protocol.UDP }),
        segmentName: 'shop/web',
        samplingRuleManifest: {
          specifier: { $case: 'inlineString', value: samplingRuleManifest(0.1) },
        },
        segmentFields,
      },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(xrayConfig(ir)).toEqual(expected);
  });
});

describe('samplingRuleManifest', () => {
  it.each([0, 0.05, 1])(
    'is a version-2 manifest whose default and only rule sample at %d',
    (rate) => {
      expect(JSON.parse(samplingRuleManifest(rate))).toEqual({
        version: 2,
        rules: [{ host: '*', http_method: '*', url_path: '*', fixed_target: 1, rate }],
        default: { fixed_target: 1, rate },
      });
    },
  );
});
