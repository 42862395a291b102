import { egressClusterName, egressClusterNamePattern } from './names';

describe('the egress cluster pattern of a target node (metric gates select traffic with it)', () => {
  // Prometheus anchors label regular expressions at both ends.
  const matches = (pattern: string, name: string) => new RegExp(`^(?:${pattern})$`).test(name);

  it.each([
    ['its HTTP listener', 'green', egressClusterName('demo', 'green', 'http', 8080), true],
    ['its gRPC listener', 'green', egressClusterName('demo', 'green', 'grpc', 9000), true],
    [
      'a node named like it plus a suffix',
      'green',
      egressClusterName('demo', 'green_http_80', 'http', 8080),
      false,
    ],
    ['the node in another mesh', 'green', egressClusterName('demo2', 'green', 'http', 8080), false],
    [
      'a dot in the name, literally',
      'green.v2',
      egressClusterName('demo', 'greenXv2', 'http', 8080),
      false,
    ],
    [
      'a dot in the name, matched',
      'green.v2',
      egressClusterName('demo', 'green.v2', 'http', 8080),
      true,
    ],
  ])('%s (%s): %s', (_case, node, name, expected) => {
    expect(matches(egressClusterNamePattern('demo', node), name)).toBe(expected);
  });
});
