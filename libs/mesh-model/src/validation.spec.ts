import { BadRequestException } from './errors';
import {
  validateOperationInput,
  type GrpcRoute,
  type HttpRoute,
  type Listener,
  type MeshSpec,
  type TcpRoute,
  type VirtualNodeSpec,
  type VirtualServiceSpec,
} from './validation';

/** The message of the BadRequestException the input is rejected with, or undefined if accepted. */
function rejection(operation: string, input: Record<string, unknown>): string | undefined {
  try {
    validateOperationInput(operation, input);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).message;
  }
}

const meshSpec: MeshSpec = {
  egressFilter: { type: 'DROP_ALL' },
  serviceDiscovery: { ipPreference: 'IPv4_PREFERRED' },
};

const httpListener = (): Listener => ({
  portMapping: { port: 8080, protocol: 'http' },
  healthCheck: {
    protocol: 'http',
    path: '/ping',
    port: 8080,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    intervalMillis: 5000,
    timeoutMillis: 2000,
  },
  timeout: {
    http: { perRequest: { unit: 's', value: 15 }, idle: { unit: 's', value: 300 } },
  },
  connectionPool: { http: { maxConnections: 100, maxPendingRequests: 50 } },
  outlierDetection: {
    maxServerErrors: 5,
    interval: { unit: 's', value: 10 },
    baseEjectionDuration: { unit: 's', value: 30 },
    maxEjectionPercent: 50,
  },
  tls: {
    mode: 'STRICT',
    certificate: {
      file: { certificateChain: '/certs/chain.pem', privateKey: '/certs/key.pem' },
    },
    validation: {
      trust: { file: { certificateChain: '/certs/ca.pem' } },
      subjectAlternativeNames: { match: { exact: ['payments.shop.local'] } },
    },
  },
});

const virtualNodeSpec = (): VirtualNodeSpec => ({
  listeners: [
    httpListener(),
    {
      portMapping: { port: 9090, protocol: 'grpc' },
      healthCheck: {
        protocol: 'grpc',
        healthyThreshold: 2,
        unhealthyThreshold: 2,
        intervalMillis: 10000,
        timeoutMillis: 5000,
      },
      timeout: { grpc: { perRequest: { unit: 'ms', value: 2500 } } },
      connectionPool: { grpc: { maxRequests: 200 } },
    },
  ],
  backends: [
    {
      virtualService: {
        virtualServiceName: 'payments.shop.local',
        clientPolicy: {
          tls: {
            enforce: true,
            ports: [8080],
            validation: {
              trust: { acm: { certificateAuthorityArns: ['arn:aws:acm-pca:us-east-1:1:ca/x'] } },
            },
          },
        },
      },
    },
  ],
  backendDefaults: {
    clientPolicy: {
      tls: { validation: { trust: { sds: { secretName: 'spiffe://shop.local' } } } },
    },
  },
  serviceDiscovery: {
    dns: {
      hostname: 'checkout.shop.svc.cluster.local',
      responseType: 'ENDPOINTS',
      ipPreference: 'IPv4_ONLY',
    },
  },
  logging: {
    accessLog: {
      file: {
        path: '/dev/stdout',
        format: { json: [{ key: 'status', value: '%RESPONSE_CODE%' }] },
      },
    },
  },
});

const httpRoute = (): HttpRoute => ({
  match: {
    prefix: '/checkout',
    method: 'POST',
    headers: [
      { name: 'x-canary', match: { exact: 'true' } },
      { name: 'x-user-id', invert: true, match: { range: { start: 1, end: 100 } } },
      { name: 'x-debug' },
    ],
    queryParameters: [{ name: 'version', match: { exact: 'v2' } }],
  },
  action: {
    weightedTargets: [
      { virtualNode: 'checkout-v1', weight: 90 },
      { virtualNode: 'checkout-v2', weight: 10, port: 8080 },
    ],
  },
  retryPolicy: {
    maxRetries: 3,
    perRetryTimeout: { unit: 'ms', value: 250 },
    httpRetryEvents: ['server-error', 'gateway-error'],
    tcpRetryEvents: ['connection-error'],
  },
  timeout: { perRequest: { unit: 's', value: 5 } },
});

const grpcRoute = (): GrpcRoute => ({
  match: {
    serviceName: 'shop.Checkout',
    methodName: 'PlaceOrder',
    metadata: [{ name: 'x-region', match: { prefix: 'eu-' } }],
  },
  action: { weightedTargets: [{ virtualNode: 'checkout-v1', weight: 100 }] },
  retryPolicy: {
    maxRetries: 2,
    perRetryTimeout: { unit: 's', value: 1 },
    grpcRetryEvents: ['unavailable', 'deadline-exceeded'],
  },
});

const tcpRoute = (): TcpRoute => ({
  match: { port: 5432 },
  action: { weightedTargets: [{ virtualNode: 'postgres', weight: 1 }] },
  timeout: { idle: { unit: 's', value: 600 } },
});

const virtualServiceSpec: VirtualServiceSpec = {
  provider: { virtualRouter: { virtualRouterName: 'checkout-router' } },
};

const createMesh = (fields: Record<string, unknown>) => ({ meshName: 'shop', ...fields });
const createVirtualNode = (spec: unknown) => ({
  meshName: 'shop',
  virtualNodeName: 'checkout-v1',
  spec,
  clientToken: '5f0c7a4e-1111-4c8e-9a55-0a1b2c3d4e5f',
});
const createRoute = (spec: unknown) => ({
  meshName: 'shop',
  virtualRouterName: 'checkout-router',
  routeName: 'checkout',
  spec,
});
/** A virtual node whose first listener is the HTTP listener with `changes` applied. */
const nodeWithListener = (changes: Record<string, unknown>) =>
  createVirtualNode({
    ...virtualNodeSpec(),
    listeners: [{ ...httpListener(), ...changes }],
  });
/** A route whose httpRoute is the valid one with `changes` applied. */
const routeWithHttp = (changes: Record<string, unknown>) =>
  createRoute({ httpRoute: { ...httpRoute(), ...changes } });
const headerMatch = (match: unknown) =>
  routeWithHttp({ match: { prefix: '/', headers: [{ name: 'x-canary', match }] } });

describe('validateOperationInput', () => {
  it.each<{ name: string; operation: string; input: Record<string, unknown> }>([
    { name: 'a mesh without spec', operation: 'CreateMesh', input: createMesh({}) },
    {
      name: 'a mesh with egress filter, IP preference and tags',
      operation: 'CreateMesh',
      input: createMesh({ spec: meshSpec, tags: [{ key: 'team', value: '' }] }),
    },
    {
      name: 'a virtual node with listeners, health checks, timeouts, pools, TLS, backends, DNS and logging',
      operation: 'CreateVirtualNode',
      input: createVirtualNode(virtualNodeSpec()),
    },
    {
      name: 'a virtual node with Cloud Map discovery and text logging',
      operation: 'UpdateVirtualNode',
      input: {
        meshName: 'shop',
        virtualNodeName: 'checkout-v1',
        meshOwner: '123456789012',
        spec: {
          listeners: [{ portMapping: { port: 5432, protocol: 'tcp' } }],
          serviceDiscovery: {
            awsCloudMap: {
              namespaceName: 'shop.local',
              serviceName: 'checkout',
              attributes: [{ key: 'stage', value: 'blue green' }],
            },
          },
          logging: {
            accessLog: { file: { path: '/dev/stdout', format: { text: '%START_TIME%' } } },
          },
        },
      },
    },
    {
      name: 'a tcp health check with a path (App Mesh ignores it)',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({
        portMapping: { port: 8080, protocol: 'tcp' },
        healthCheck: { ...httpListener().healthCheck, protocol: 'tcp' },
        timeout: { tcp: { idle: { unit: 's', value: 60 } } },
        connectionPool: { tcp: { maxConnections: 10 } },
      }),
    },
    {
      name: 'a virtual node without listeners',
      operation: 'CreateVirtualNode',
      input: createVirtualNode({}),
    },
    {
      name: 'a virtual router with two listeners',
      operation: 'CreateVirtualRouter',
      input: {
        meshName: 'shop',
        virtualRouterName: 'checkout-router',
        spec: {
          listeners: [
            { portMapping: { port: 8080, protocol: 'http' } },
            { portMapping: { port: 9090, protocol: 'grpc' } },
          ],
        },
      },
    },
    {
      name: 'an http route with header and query matches, retries and timeout',
      operation: 'CreateRoute',
      input: createRoute({ priority: 10, httpRoute: httpRoute() }),
    },
    {
      name: 'an http2 route matching an exact path',
      operation: 'CreateRoute',
      input: createRoute({
        http2Route: { ...httpRoute(), match: { path: { exact: '/health' }, scheme: 'https' } },
      }),
    },
    {
      name: 'an http route matching only a listener port (howto-multiple-listeners)',
      operation: 'CreateRoute',
      input: createRoute({ httpRoute: { ...httpRoute(), match: { port: 8080 } } }),
    },
    {
      name: 'an http route with both prefix and path (the translator reports its choice)',
      operation: 'CreateRoute',
      input: createRoute({
        httpRoute: { ...httpRoute(), match: { prefix: '/a', path: { exact: '/b' } } },
      }),
    },
    {
      name: 'a grpc route with metadata match and gRPC retry events only',
      operation: 'CreateRoute',
      input: createRoute({ grpcRoute: grpcRoute() }),
    },
    {
      name: 'a tcp route',
      operation: 'UpdateRoute',
      input: createRoute({ tcpRoute: tcpRoute() }),
    },
    {
      name: 'a virtual service provided by a router',
      operation: 'CreateVirtualService',
      input: {
        meshName: 'shop',
        virtualServiceName: 'checkout.shop.local',
        spec: virtualServiceSpec,
      },
    },
    {
      name: 'a virtual service without provider',
      operation: 'CreateVirtualService',
      input: { meshName: 'shop', virtualServiceName: 'checkout.shop.local', spec: {} },
    },
    {
      name: 'a list limit as it arrives in the query string',
      operation: 'ListMeshes',
      input: { limit: '100', nextToken: '12345' },
    },
    { name: 'a numeric list limit', operation: 'ListMeshes', input: { limit: 1 } },
    { name: 'a list without limit', operation: 'ListMeshes', input: {} },
  ])('accepts $name', ({ operation, input }) => {
    expect(rejection(operation, input)).toBeUndefined();
  });

  it.each<{ name: string; operation: string; input: Record<string, unknown>; message: string }>([
    // Model rules: structures.
    {
      name: 'a missing required member',
      operation: 'CreateVirtualNode',
      input: { meshName: 'shop', spec: {} },
      message: 'virtualNodeName: is required',
    },
    {
      name: 'an unknown field',
      operation: 'CreateMesh',
      input: createMesh({ spec: { ...meshSpec, foo: 1 } }),
      message: 'spec.foo: unknown field',
    },
    {
      name: 'a spec that is not an object',
      operation: 'CreateMesh',
      input: createMesh({ spec: ['DROP_ALL'] }),
      message: 'spec: must be an object, got list',
    },
    {
      name: 'null as a value',
      operation: 'CreateVirtualNode',
      input: createVirtualNode({ listeners: null }),
      message: 'spec.listeners: must be a list, got null',
    },
    {
      name: 'a spec key named like an Object.prototype member',
      operation: 'CreateMesh',
      input: createMesh({ spec: { toString: {}, constructor: 1 } }),
      message: 'spec.toString: unknown field; spec.constructor: unknown field',
    },
    {
      name: 'a __proto__ key',
      operation: 'CreateMesh',
      input: createMesh({ spec: JSON.parse('{"__proto__": {"egressFilter": 1}}') as object }),
      message: 'spec.__proto__: unknown field',
    },
    // Names: URL path segments, ARN and Envoy name parts.
    {
      name: 'a name that is a dot segment',
      operation: 'CreateMesh',
      input: { meshName: '..' },
      message: 'meshName: must not be "..": a URL path segment cannot name it',
    },
    {
      name: 'a name with a control character',
      operation: 'CreateVirtualService',
      input: { meshName: 'shop', virtualServiceName: 'a\tb', spec: {} },
      message:
        'virtualServiceName: must not contain control characters (U+0000 to U+001F, U+007F to U+009F), got "a\\tb"',
    },
    {
      name: 'a weighted target naming a virtual node with DEL',
      operation: 'CreateRoute',
      input: {
        meshName: 'shop',
        virtualRouterName: 'web',
        routeName: 'r',
        spec: {
          httpRoute: {
            match: { prefix: '/' },
            action: { weightedTargets: [{ virtualNode: 'blue\u007f', weight: 1 }] },
          },
        },
      },
      message:
        'spec.httpRoute.action.weightedTargets[0].virtualNode: must not contain control characters (U+0000 to U+001F, U+007F to U+009F), got "blue\u007f"',
    },
    // Model rules: unions.
    {
      name: 'a union with two members',
      operation: 'CreateRoute',
      input: headerMatch({ exact: 'a', prefix: 'b' }),
      message:
        'spec.httpRoute.match.headers[0].match: exactly one of exact, prefix, range, regex, suffix must be set, got 2',
    },
    {
      name: 'a union with no member',
      operation: 'CreateVirtualService',
      input: {
        meshName: 'shop',
        virtualServiceName: 'checkout.shop.local',
        spec: { provider: {} },
      },
      message: 'spec.provider: exactly one of virtualNode, virtualRouter must be set, got 0',
    },
    // Model rules: lists.
    {
      name: 'a list below its minimum',
      operation: 'CreateRoute',
      input: routeWithHttp({ action: { weightedTargets: [] } }),
      message: 'spec.httpRoute.action.weightedTargets: must have at least 1 item(s), got 0',
    },
    {
      name: 'a list above its maximum',
      operation: 'CreateRoute',
      input: routeWithHttp({
        action: {
          weightedTargets: Array.from({ length: 11 }, (_, i) => ({
            virtualNode: `v${i}`,
            weight: 1,
          })),
        },
      }),
      message: 'spec.httpRoute.action.weightedTargets: must have at most 10 item(s), got 11',
    },
    // Model rules: strings.
    {
      name: 'a string below its minimum length',
      operation: 'CreateMesh',
      input: { meshName: '' },
      message: 'meshName: must be at least 1 character(s) long, got 0',
    },
    {
      name: 'a string above its maximum length',
      operation: 'CreateMesh',
      input: { meshName: 'm'.repeat(256) },
      message: 'meshName: must be at most 255 character(s) long, got 256',
    },
    {
      name: 'a string that does not match the model pattern',
      operation: 'CreateVirtualNode',
      input: createVirtualNode({
        serviceDiscovery: {
          awsCloudMap: {
            namespaceName: 'shop.local',
            serviceName: 'checkout',
            attributes: [{ key: 'stage name', value: 'blue' }],
          },
        },
      }),
      message:
        'spec.serviceDiscovery.awsCloudMap.attributes[0].key: must match the pattern ^[a-zA-Z0-9!-~]+$',
    },
    {
      name: 'a value outside an enum',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ portMapping: { port: 8080, protocol: 'udp' } }),
      message:
        'spec.listeners[0].portMapping.protocol: must be one of http, tcp, http2, grpc, got "udp"',
    },
    {
      name: 'a number where a string belongs',
      operation: 'CreateVirtualService',
      input: { meshName: 'shop', virtualServiceName: 42, spec: {} },
      message: 'virtualServiceName: must be a string, got number',
    },
    // Model rules: integers and booleans.
    {
      name: 'an integer above its maximum',
      operation: 'CreateRoute',
      input: routeWithHttp({
        action: { weightedTargets: [{ virtualNode: 'checkout-v1', weight: 101 }] },
      }),
      message: 'spec.httpRoute.action.weightedTargets[0].weight: must be at most 100, got 101',
    },
    {
      name: 'an integer below its minimum',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ portMapping: { port: 0, protocol: 'http' } }),
      message: 'spec.listeners[0].portMapping.port: must be at least 1, got 0',
    },
    {
      name: 'a fraction where an integer belongs',
      operation: 'CreateRoute',
      input: routeWithHttp({
        action: { weightedTargets: [{ virtualNode: 'checkout-v1', weight: 50.5 }] },
      }),
      message: 'spec.httpRoute.action.weightedTargets[0].weight: must be an integer, got 50.5',
    },
    {
      name: 'a numeric string in the body where an integer belongs',
      operation: 'CreateRoute',
      input: createRoute({ priority: '1', tcpRoute: tcpRoute() }),
      message: 'spec.priority: must be an integer, got "1"',
    },
    {
      name: 'a string where a boolean belongs',
      operation: 'CreateRoute',
      input: routeWithHttp({
        match: { prefix: '/', headers: [{ name: 'x-canary', invert: 'yes' }] },
      }),
      message: 'spec.httpRoute.match.headers[0].invert: must be a boolean, got string',
    },
    {
      name: 'a query-string limit of zero',
      operation: 'ListMeshes',
      input: { limit: '0' },
      message: 'limit: must be at least 1, got 0',
    },
    {
      name: 'a query-string limit above 100',
      operation: 'ListMeshes',
      input: { limit: '101' },
      message: 'limit: must be at most 100, got 101',
    },
    {
      name: 'a query-string limit that is not a number',
      operation: 'ListMeshes',
      input: { limit: 'ten' },
      message: 'limit: must be an integer, got "ten"',
    },
    // Documented rules: routes.
    {
      name: 'a route spec without route type',
      operation: 'CreateRoute',
      input: createRoute({ priority: 1 }),
      message: 'spec: exactly one of httpRoute, http2Route, grpcRoute, tcpRoute must be set, got 0',
    },
    {
      name: 'a route spec with two route types',
      operation: 'UpdateRoute',
      input: createRoute({ httpRoute: httpRoute(), tcpRoute: tcpRoute() }),
      message: 'spec: exactly one of httpRoute, http2Route, grpcRoute, tcpRoute must be set, got 2',
    },
    {
      name: 'a prefix without leading slash',
      operation: 'CreateRoute',
      input: routeWithHttp({ match: { prefix: 'checkout' } }),
      message: 'spec.httpRoute.match.prefix: must start with /, got "checkout"',
    },
    {
      name: 'an http match with neither prefix, path nor port',
      operation: 'CreateRoute',
      input: routeWithHttp({ match: { method: 'GET' } }),
      message: 'spec.httpRoute.match: one of prefix, path or port must be set',
    },
    {
      name: 'a path match with both exact and regex',
      operation: 'CreateRoute',
      input: routeWithHttp({ match: { path: { exact: '/a', regex: '/a.*' } } }),
      message: 'spec.httpRoute.match.path: exactly one of exact, regex must be set, got 2',
    },
    {
      name: 'a gRPC method name without service name',
      operation: 'CreateRoute',
      input: createRoute({ grpcRoute: { ...grpcRoute(), match: { methodName: 'PlaceOrder' } } }),
      message: 'spec.grpcRoute.match.methodName: requires serviceName',
    },
    {
      name: 'an http retry policy without retry events',
      operation: 'CreateRoute',
      input: routeWithHttp({
        retryPolicy: { maxRetries: 3, perRetryTimeout: { unit: 'ms', value: 250 } },
      }),
      message:
        'spec.httpRoute.retryPolicy: at least one of httpRetryEvents, tcpRetryEvents must be set',
    },
    {
      name: 'a gRPC retry policy without retry events',
      operation: 'CreateRoute',
      input: createRoute({
        grpcRoute: {
          ...grpcRoute(),
          retryPolicy: { maxRetries: 1, perRetryTimeout: { unit: 's', value: 1 } },
        },
      }),
      message:
        'spec.grpcRoute.retryPolicy: at least one of grpcRetryEvents, httpRetryEvents, tcpRetryEvents must be set',
    },
    {
      name: 'an undocumented http retry event',
      operation: 'CreateRoute',
      input: routeWithHttp({
        retryPolicy: {
          maxRetries: 3,
          perRetryTimeout: { unit: 'ms', value: 250 },
          httpRetryEvents: ['server-error', '5xx'],
        },
      }),
      message:
        'spec.httpRoute.retryPolicy.httpRetryEvents[1]: must be one of server-error, gateway-error, client-error, stream-error, got "5xx"',
    },
    {
      name: 'a duration without value',
      operation: 'CreateRoute',
      input: routeWithHttp({ timeout: { perRequest: { unit: 's' } } }),
      message: 'spec.httpRoute.timeout.perRequest: a duration needs both unit and value',
    },
    {
      name: 'weights that add up to more than 100',
      operation: 'UpdateRoute',
      input: createRoute({
        tcpRoute: {
          action: {
            weightedTargets: [
              { virtualNode: 'a', weight: 60 },
              { virtualNode: 'b', weight: 60 },
            ],
          },
        },
      }),
      message: 'spec.tcpRoute.action.weightedTargets: total weight must be at most 100, got 120',
    },
    // Documented rules: virtual nodes and routers.
    {
      name: 'a connection pool for another protocol than the listener',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ connectionPool: { tcp: { maxConnections: 10 } } }),
      message:
        'spec.listeners[0].connectionPool: must be the http variant to match portMapping.protocol, got tcp',
    },
    {
      name: 'a timeout for another protocol than the listener',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ timeout: { grpc: { idle: { unit: 's', value: 1 } } } }),
      message:
        'spec.listeners[0].timeout: must be the http variant to match portMapping.protocol, got grpc',
    },
    {
      name: 'a health check on another port than the listener',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ healthCheck: { ...httpListener().healthCheck, port: 8081 } }),
      message: 'spec.listeners[0].healthCheck.port: must equal the listener port 8080, got 8081',
    },
    {
      name: 'an http health check without path',
      operation: 'CreateVirtualNode',
      input: nodeWithListener({ healthCheck: { ...httpListener().healthCheck, path: undefined } }),
      message: 'spec.listeners[0].healthCheck.path: is required for protocol http',
    },
    {
      name: 'listeners without service discovery',
      operation: 'CreateVirtualNode',
      input: createVirtualNode({ listeners: [httpListener()] }),
      message: 'spec.serviceDiscovery: is required when listeners are set',
    },
    {
      name: 'two node listeners on one port',
      operation: 'UpdateVirtualNode',
      input: createVirtualNode({
        ...virtualNodeSpec(),
        listeners: [httpListener(), { portMapping: { port: 8080, protocol: 'tcp' } }],
      }),
      message: 'spec.listeners[1].portMapping.port: port 8080 is already used by listeners[0]',
    },
    {
      name: 'two router listeners on one port',
      operation: 'UpdateVirtualRouter',
      input: {
        meshName: 'shop',
        virtualRouterName: 'checkout-router',
        spec: {
          listeners: [
            { portMapping: { port: 8080, protocol: 'http' } },
            { portMapping: { port: 8080, protocol: 'http2' } },
          ],
        },
      },
      message: 'spec.listeners[1].portMapping.port: port 8080 is already used by listeners[0]',
    },
  ])('rejects $name', ({ operation, input, message }) => {
    expect(rejection(operation, input)).toBe(message);
  });

  it('reports every issue of a request in one message', () => {
    const message = rejection('CreateRoute', {
      meshName: 'shop',
      virtualRouterName: 'checkout-router',
      spec: { httpRoute: { ...httpRoute(), match: { prefix: 'checkout' }, timeout: 'soon' } },
    });
    expect(message).toBe(
      'routeName: is required; ' +
        'spec.httpRoute.match.prefix: must start with /, got "checkout"; ' +
        'spec.httpRoute.timeout: must be an object, got string',
    );
  });

  it('lists at most ten issues and counts the rest', () => {
    const spec = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`field${i}`, i]));
    const message = rejection('CreateMesh', createMesh({ spec }));
    expect(message?.split('; ')).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `spec.field${i}: unknown field`),
      'and 2 more',
    ]);
  });

  it('reports documented rules next to each other', () => {
    const message = rejection(
      'CreateVirtualNode',
      createVirtualNode({
        listeners: [{ ...httpListener(), connectionPool: { grpc: { maxRequests: 1 } } }],
      }),
    );
    expect(message).toBe(
      'spec.listeners[0].connectionPool: must be the http variant to match portMapping.protocol, got grpc; ' +
        'spec.serviceDiscovery: is required when listeners are set',
    );
  });

  it('refuses an operation App Mesh does not have', () => {
    expect(() => validateOperationInput('CreateMeshes', {})).toThrow(
      'unknown App Mesh operation CreateMeshes',
    );
  });
});
