import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  meshContents,
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type TestControlPlane,
} from './support/control-plane';

/**
 * Every request here is wrong in one way. Each must get App Mesh's error format — status,
 * `x-amzn-ErrorType`, a message naming the field or resource — and change nothing.
 */
const run = randomUUID().slice(0, 8);
const mesh = `invalid-${run}`;
const newMesh = `invalid-new-${run}`;
const base = `/v20190125/meshes/${mesh}`;

const listener = { portMapping: { port: 8080, protocol: 'http' } };
const dns = { dns: { hostname: 'app.internal' } };
const healthCheck = {
  protocol: 'http',
  path: '/health',
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  intervalMillis: 5000,
  timeoutMillis: 2000,
};
const target = (virtualNode: string, weight: number) => ({ virtualNode, weight });
const httpRoute = (overrides: Record<string, unknown> = {}) => ({
  match: { prefix: '/' },
  action: { weightedTargets: [target('blue', 100)] },
  ...overrides,
});
const node = (spec: Record<string, unknown>, name = 'new-node') => ({
  virtualNodeName: name,
  spec,
});
const route = (spec: Record<string, unknown>, name = 'new-route') => ({ routeName: name, spec });

const gateways = `${base}/virtualGateways`;
const gatewayRoutes = `${base}/virtualGateway/ingress/gatewayRoutes`;
const gateway = (spec: Record<string, unknown>, name = 'new-gateway') => ({
  virtualGatewayName: name,
  spec,
});
const gatewayListener = { portMapping: { port: 8080, protocol: 'http' } };
const toService = (virtualServiceName: string, port?: number) => ({
  target: { virtualService: { virtualServiceName }, ...(port !== undefined && { port }) },
});
const gatewayRoute = (spec: Record<string, unknown>, name = 'new-gateway-route') => ({
  gatewayRouteName: name,
  spec,
});
const httpGatewayRoute = (match: Record<string, unknown>, action = toService('web.internal')) => ({
  httpRoute: { match, action },
});

interface Case {
  name: string;
  method: 'GET' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** Sent as is instead of JSON-encoding `body`. */
  rawBody?: string | Buffer;
  /** Replace the `content-type: application/json` every other case sends. */
  headers?: Record<string, string>;
  status: number;
  errorType: string;
  message: string | RegExp;
}

const cases: Case[] = [
  // Meshes
  {
    name: 'mesh name longer than 255',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: 'm'.repeat(256) },
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshName',
  },
  {
    name: 'empty mesh name',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: '' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshName',
  },
  {
    name: 'missing mesh name',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { spec: {} },
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshName: is required',
  },
  {
    name: 'unknown top-level field',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, colour: 'red' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'colour: unknown field',
  },
  {
    name: 'unknown egress filter type',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, spec: { egressFilter: { type: 'DENY' } } },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.egressFilter.type',
  },
  {
    name: 'egress filter without its required type',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, spec: { egressFilter: {} } },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.egressFilter.type: is required',
  },
  {
    name: 'unknown IP preference',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, spec: { serviceDiscovery: { ipPreference: 'IPv5_ONLY' } } },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.serviceDiscovery.ipPreference',
  },
  {
    name: 'malformed JSON',
    method: 'PUT',
    path: '/v20190125/meshes',
    rawBody: '{"meshName": "x",',
    status: 400,
    errorType: 'BadRequestException',
    message: 'not valid JSON',
  },
  {
    name: 'body that is not an object',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: [{ meshName: newMesh }],
    status: 400,
    errorType: 'BadRequestException',
    message: 'JSON object',
  },
  {
    name: '51 tags',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: {
      meshName: newMesh,
      tags: Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' })),
    },
    status: 400,
    errorType: 'BadRequestException',
    message: 'tags',
  },
  {
    name: 'empty tag key',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, tags: [{ key: '', value: 'v' }] },
    status: 400,
    errorType: 'BadRequestException',
    message: 'tags[0].key',
  },
  {
    name: 'duplicate mesh name',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: mesh },
    status: 409,
    errorType: 'ConflictException',
    message: mesh,
  },
  {
    name: 'meshOwner that is not an account id',
    method: 'GET',
    path: `${base}?meshOwner=123`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshOwner',
  },
  {
    name: 'mesh of another account',
    method: 'GET',
    path: `${base}?meshOwner=999999999999`,
    status: 404,
    errorType: 'NotFoundException',
    message: '999999999999',
  },
  {
    name: 'delete a mesh that still has resources',
    method: 'DELETE',
    path: base,
    status: 409,
    errorType: 'ResourceInUseException',
    message: /virtualNodes/,
  },
  // Virtual nodes
  {
    name: 'listener port 0',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ portMapping: { port: 0, protocol: 'http' } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.port',
  },
  {
    name: 'listener port 70000',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ portMapping: { port: 70000, protocol: 'http' } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.port',
  },
  {
    name: 'port given as a string',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ portMapping: { port: '8080', protocol: 'http' } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.port',
  },
  {
    name: 'unknown listener protocol',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ portMapping: { port: 80, protocol: 'udp' } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.protocol',
  },
  {
    name: 'listener without service discovery',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({ listeners: [listener] }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.serviceDiscovery',
  },
  {
    name: 'health check interval below 5000 ms',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ ...listener, healthCheck: { ...healthCheck, intervalMillis: 1000 } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].healthCheck.intervalMillis',
  },
  {
    name: 'healthy threshold above 10',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ ...listener, healthCheck: { ...healthCheck, healthyThreshold: 11 } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].healthCheck.healthyThreshold',
  },
  {
    name: 'tcp connection pool on an http listener',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [{ ...listener, connectionPool: { tcp: { maxConnections: 10 } } }],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].connectionPool',
  },
  {
    name: 'two service discovery methods',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      serviceDiscovery: { ...dns, awsCloudMap: { namespaceName: 'ns', serviceName: 'svc' } },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.serviceDiscovery',
  },
  {
    name: 'unknown DNS response type',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({ serviceDiscovery: { dns: { hostname: 'a', responseType: 'ROUND_ROBIN' } } }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.serviceDiscovery.dns.responseType',
  },
  {
    name: 'access log without a path',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({ logging: { accessLog: { file: {} } } }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.logging.accessLog.file.path',
  },
  {
    name: 'ejection percent above 100',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({
      listeners: [
        {
          ...listener,
          outlierDetection: {
            maxServerErrors: 5,
            maxEjectionPercent: 101,
            interval: { unit: 's', value: 10 },
            baseEjectionDuration: { unit: 's', value: 30 },
          },
        },
      ],
      serviceDiscovery: dns,
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].outlierDetection.maxEjectionPercent',
  },
  {
    name: 'unknown field inside a listener',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({ listeners: [{ ...listener, mtu: 1500 }], serviceDiscovery: dns }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].mtu',
  },
  {
    name: 'missing virtual node spec',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: { virtualNodeName: 'x' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec: is required',
  },
  {
    name: 'duplicate virtual node name',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({}, 'blue'),
    status: 409,
    errorType: 'ConflictException',
    message: 'blue',
  },
  {
    name: 'virtual node in a mesh that does not exist',
    method: 'PUT',
    path: `/v20190125/meshes/${newMesh}/virtualNodes`,
    body: node({}),
    status: 404,
    errorType: 'NotFoundException',
    message: newMesh,
  },
  {
    name: 'delete a virtual node that a route targets',
    method: 'DELETE',
    path: `${base}/virtualNodes/blue`,
    status: 409,
    errorType: 'ResourceInUseException',
    message: 'canary',
  },
  {
    name: 'delete a virtual node that provides a service',
    method: 'DELETE',
    path: `${base}/virtualNodes/solo`,
    status: 409,
    errorType: 'ResourceInUseException',
    message: 'solo.internal',
  },
  {
    name: 'describe a virtual node that does not exist',
    method: 'GET',
    path: `${base}/virtualNodes/ghost`,
    status: 404,
    errorType: 'NotFoundException',
    message: 'ghost',
  },
  // Routes
  {
    name: 'weight 101',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ action: { weightedTargets: [target('blue', 101)] } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.weightedTargets[0].weight',
  },
  {
    name: 'negative weight',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ action: { weightedTargets: [target('blue', -1)] } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.weightedTargets[0].weight',
  },
  {
    name: '11 weighted targets',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute({
        action: { weightedTargets: Array.from({ length: 11 }, () => target('blue', 9)) },
      }),
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.weightedTargets',
  },
  {
    name: 'no weighted targets',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ action: { weightedTargets: [] } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.weightedTargets',
  },
  {
    name: 'two route types',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute(),
      tcpRoute: { action: { weightedTargets: [target('blue', 1)] } },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: /httpRoute.*tcpRoute|exactly one/,
  },
  {
    name: 'no route type',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ priority: 1 }),
    status: 400,
    errorType: 'BadRequestException',
    message: /httpRoute/,
  },
  {
    name: 'prefix without a leading slash',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ match: { prefix: 'api' } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.prefix',
  },
  {
    name: 'header match with two methods',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute({
        match: { prefix: '/', headers: [{ name: 'x-canary', match: { exact: 'a', prefix: 'b' } }] },
      }),
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.headers[0].match',
  },
  {
    name: 'unknown HTTP method',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ match: { prefix: '/', method: 'FETCH' } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.method',
  },
  {
    name: 'priority above 1000',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ priority: 1001, httpRoute: httpRoute() }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.priority',
  },
  {
    name: 'retry policy without events',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute({
        retryPolicy: { maxRetries: 3, perRetryTimeout: { unit: 's', value: 1 } },
      }),
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.retryPolicy',
  },
  {
    name: 'unknown duration unit',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute({
        retryPolicy: {
          maxRetries: 3,
          perRetryTimeout: { unit: 'm', value: 1 },
          httpRetryEvents: ['server-error'],
        },
      }),
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.retryPolicy.perRetryTimeout.unit',
  },
  {
    name: 'gRPC method without service name',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      grpcRoute: {
        match: { methodName: 'Get' },
        action: { weightedTargets: [target('blue', 100)] },
      },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.grpcRoute.match',
  },
  {
    name: 'gRPC route on a router with only an http listener',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      grpcRoute: {
        match: { serviceName: 'svc' },
        action: { weightedTargets: [target('blue', 100)] },
      },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.grpcRoute',
  },
  {
    name: 'target that is not a virtual node of the mesh',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({
      httpRoute: httpRoute({
        action: { weightedTargets: [target('blue', 50), target('ghost', 50)] },
      }),
    }),
    status: 404,
    errorType: 'NotFoundException',
    message: /weightedTargets\[1\].*ghost/,
  },
  {
    name: 'route under a router that does not exist',
    method: 'PUT',
    path: `${base}/virtualRouter/nope/routes`,
    body: route({ httpRoute: httpRoute() }),
    status: 404,
    errorType: 'NotFoundException',
    message: 'VirtualRouter with name nope',
  },
  {
    name: 'duplicate route name',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute() }, 'canary'),
    status: 409,
    errorType: 'ConflictException',
    message: 'canary',
  },
  {
    name: 'update of a route that does not exist',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes/ghost`,
    body: { spec: { httpRoute: httpRoute() } },
    status: 404,
    errorType: 'NotFoundException',
    message: 'Route with name ghost',
  },
  {
    name: 'reused client token with another body',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes/canary`,
    body: {
      spec: { httpRoute: httpRoute({ match: { prefix: '/other' } }) },
      clientToken: `token-${run}`,
    },
    status: 409,
    errorType: 'ConflictException',
    message: 'client token',
  },
  {
    name: 'delete a router that has routes',
    method: 'DELETE',
    path: `${base}/virtualRouters/web`,
    status: 409,
    errorType: 'ResourceInUseException',
    message: 'routes',
  },
  // Virtual services
  {
    name: 'provider that does not exist',
    method: 'PUT',
    path: `${base}/virtualServices`,
    body: {
      virtualServiceName: 'new.internal',
      spec: { provider: { virtualNode: { virtualNodeName: 'ghost' } } },
    },
    status: 404,
    errorType: 'NotFoundException',
    message: 'spec.provider.virtualNode.virtualNodeName',
  },
  {
    name: 'provider that is both a node and a router',
    method: 'PUT',
    path: `${base}/virtualServices`,
    body: {
      virtualServiceName: 'new.internal',
      spec: {
        provider: {
          virtualNode: { virtualNodeName: 'blue' },
          virtualRouter: { virtualRouterName: 'web' },
        },
      },
    },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.provider',
  },
  // Lists, tags, unknown paths
  {
    name: 'page size 0',
    method: 'GET',
    path: `${base}/virtualNodes?limit=0`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'limit',
  },
  {
    name: 'page size 101',
    method: 'GET',
    path: `${base}/virtualNodes?limit=101`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'limit',
  },
  {
    name: 'forged page token',
    method: 'GET',
    path: `${base}/virtualNodes?nextToken=bm9wZQ`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'nextToken',
  },
  {
    name: 'tags of an unknown ARN',
    method: 'PUT',
    path: `/v20190125/tag?resourceArn=${encodeURIComponent(`arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${newMesh}`)}`,
    body: { tags: [{ key: 'a', value: 'b' }] },
    status: 404,
    errorType: 'NotFoundException',
    message: newMesh,
  },
  {
    name: 'tagging past 50 tags',
    method: 'PUT',
    path: `/v20190125/tag?resourceArn=${encodeURIComponent(`arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${mesh}`)}`,
    body: { tags: Array.from({ length: 6 }, (_, i) => ({ key: `extra${i}`, value: 'v' })) },
    status: 400,
    errorType: 'TooManyTagsException',
    message: 'tags',
  },
  {
    name: 'untag without tag keys',
    method: 'PUT',
    path: `/v20190125/untag?resourceArn=${encodeURIComponent(`arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${mesh}`)}`,
    body: {},
    status: 400,
    errorType: 'BadRequestException',
    message: 'tagKeys: is required',
  },
  // Hostile input (docs/operations.md, "Hostile HTTP clients")
  {
    name: 'spec key named like an Object.prototype member',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, spec: { toString: {} } },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.toString: unknown field',
  },
  {
    name: 'constructor key inside a listener',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({ listeners: [{ ...listener, constructor: {} }], serviceDiscovery: dns }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].constructor: unknown field',
  },
  {
    name: '__proto__ key in a route spec',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    rawBody: `{"routeName":"new-route","spec":{"__proto__":{"httpRoute":${JSON.stringify(httpRoute())}}}}`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.__proto__: unknown field',
  },
  {
    name: 'NUL in a mesh name',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: `${newMesh}\u0000` },
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshName: must not contain the NUL character',
  },
  {
    name: 'NUL in a client token',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, clientToken: 'a\u0000b' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'clientToken: must not contain the NUL character',
  },
  {
    name: 'NUL in a route path match',
    method: 'PUT',
    path: `${base}/virtualRouter/web/routes`,
    body: route({ httpRoute: httpRoute({ match: { path: { exact: '/a\u0000' } } }) }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.path.exact: must not contain the NUL character',
  },
  {
    name: 'NUL in a tag value',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, tags: [{ key: 'k', value: '\u0000' }] },
    status: 400,
    errorType: 'BadRequestException',
    message: 'tags[0].value: must not contain the NUL character',
  },
  {
    name: 'NUL in a URL path label',
    method: 'GET',
    path: `${base}/virtualNodes/blue%00`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'URL path: must not contain the NUL character',
  },
  {
    name: 'mesh name ..',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: '..' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'meshName: must not be ".."',
  },
  {
    name: 'virtual node name .',
    method: 'PUT',
    path: `${base}/virtualNodes`,
    body: node({}, '.'),
    status: 400,
    errorType: 'BadRequestException',
    message: 'virtualNodeName: must not be "."',
  },
  {
    name: 'control character in a virtual service name',
    method: 'PUT',
    path: `${base}/virtualServices`,
    body: { virtualServiceName: 'new\n.internal', spec: {} },
    status: 400,
    errorType: 'BadRequestException',
    message: 'virtualServiceName: must not contain control characters',
  },
  {
    name: 'JSON nested deeper than 32',
    method: 'PUT',
    path: '/v20190125/meshes',
    rawBody: `{"meshName":"${newMesh}","spec":${'['.repeat(40)}${']'.repeat(40)}}`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'nested more than 32 deep',
  },
  {
    name: 'body over 1 MiB',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh, clientToken: 'x'.repeat(1024 * 1024) },
    status: 413,
    errorType: 'RequestEntityTooLargeException',
    message: 'TRELLIS_HTTP_MAX_BODY_BYTES',
  },
  {
    name: 'body that is not JSON',
    method: 'PUT',
    path: '/v20190125/meshes',
    rawBody: `meshName=${newMesh}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    errorType: 'UnsupportedMediaTypeException',
    message: 'application/json',
  },
  {
    name: 'charset latin1',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh },
    headers: { 'content-type': 'application/json; charset=latin1' },
    status: 415,
    errorType: 'UnsupportedMediaTypeException',
    message: 'LATIN1',
  },
  {
    name: 'unknown Content-Encoding',
    method: 'PUT',
    path: '/v20190125/meshes',
    body: { meshName: newMesh },
    headers: { 'content-type': 'application/json', 'content-encoding': 'snappy' },
    status: 415,
    errorType: 'UnsupportedMediaTypeException',
    message: 'snappy',
  },
  {
    name: 'corrupt gzip body',
    method: 'PUT',
    path: '/v20190125/meshes',
    rawBody: gzipSync(JSON.stringify({ meshName: newMesh })).subarray(0, 15),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'could not be read',
  },

  // Virtual gateways
  {
    name: 'virtual gateway name longer than 255',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [gatewayListener] }, 'g'.repeat(256)),
    status: 400,
    errorType: 'BadRequestException',
    message: 'virtualGatewayName',
  },
  {
    name: 'virtual gateway without spec',
    method: 'PUT',
    path: gateways,
    body: { virtualGatewayName: 'new-gateway' },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec: is required',
  },
  {
    name: 'virtual gateway without listeners',
    method: 'PUT',
    path: gateways,
    body: gateway({}),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners: is required',
  },
  {
    name: 'virtual gateway listener with protocol tcp',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [{ portMapping: { port: 8080, protocol: 'tcp' } }] }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.protocol',
  },
  {
    name: 'virtual gateway listener on port 0',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [{ portMapping: { port: 0, protocol: 'http' } }] }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].portMapping.port',
  },
  {
    name: 'virtual gateway with two listeners on one port',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [gatewayListener, gatewayListener] }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[1].portMapping.port: port 8080 is already used by listeners[0]',
  },
  {
    name: 'virtual gateway connection pool of another protocol',
    method: 'PUT',
    path: gateways,
    body: gateway({
      listeners: [{ ...gatewayListener, connectionPool: { http2: { maxRequests: 10 } } }],
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].connectionPool: must be the http variant',
  },
  {
    name: 'virtual gateway http health check without path',
    method: 'PUT',
    path: gateways,
    body: gateway({
      listeners: [{ ...gatewayListener, healthCheck: { ...healthCheck, path: undefined } }],
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].healthCheck.path: is required',
  },
  {
    name: 'virtual gateway health check on another port',
    method: 'PUT',
    path: gateways,
    body: gateway({
      listeners: [{ ...gatewayListener, healthCheck: { ...healthCheck, port: 9 } }],
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].healthCheck.port',
  },
  {
    name: 'virtual gateway TLS mode that does not exist',
    method: 'PUT',
    path: gateways,
    body: gateway({
      listeners: [
        {
          ...gatewayListener,
          tls: {
            mode: 'LENIENT',
            certificate: { file: { certificateChain: '/c.pem', privateKey: '/k.pem' } },
          },
        },
      ],
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].tls.mode',
  },
  {
    name: 'virtual gateway TLS without a certificate',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [{ ...gatewayListener, tls: { mode: 'STRICT' } }] }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.listeners[0].tls.certificate: is required',
  },
  {
    name: 'virtual gateway client policy TLS without validation',
    method: 'PUT',
    path: gateways,
    body: gateway({
      listeners: [gatewayListener],
      backendDefaults: { clientPolicy: { tls: {} } },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.backendDefaults.clientPolicy.tls.validation: is required',
  },
  {
    name: 'virtual gateway file access log without path',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [gatewayListener], logging: { accessLog: { file: {} } } }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.logging.accessLog.file.path: is required',
  },
  {
    name: 'virtual gateway that already exists',
    method: 'PUT',
    path: gateways,
    body: gateway({ listeners: [gatewayListener] }, 'ingress'),
    status: 409,
    errorType: 'ConflictException',
    message: 'VirtualGateway with name ingress already exists',
  },
  {
    name: 'virtual gateway in a mesh that does not exist',
    method: 'PUT',
    path: `/v20190125/meshes/${newMesh}/virtualGateways`,
    body: gateway({ listeners: [gatewayListener] }),
    status: 404,
    errorType: 'NotFoundException',
    message: `Mesh with name ${newMesh}`,
  },
  {
    name: 'describe a virtual gateway that does not exist',
    method: 'GET',
    path: `${gateways}/nope`,
    status: 404,
    errorType: 'NotFoundException',
    message: 'VirtualGateway with name nope',
  },
  {
    name: 'update a virtual gateway with an unknown field',
    method: 'PUT',
    path: `${gateways}/ingress`,
    body: { spec: { listeners: [gatewayListener], colour: 'red' } },
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.colour: unknown field',
  },
  {
    name: 'delete a virtual gateway that has gateway routes',
    method: 'DELETE',
    path: `${gateways}/ingress`,
    status: 409,
    errorType: 'ResourceInUseException',
    message: 'gatewayRoutes',
  },
  {
    name: 'list virtual gateways with limit 0',
    method: 'GET',
    path: `${gateways}?limit=0`,
    status: 400,
    errorType: 'BadRequestException',
    message: 'limit',
  },
  // Gateway routes
  {
    name: 'gateway route name longer than 255',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' }), 'r'.repeat(256)),
    status: 400,
    errorType: 'BadRequestException',
    message: 'gatewayRouteName',
  },
  {
    name: 'gateway route prefix /aws-appmesh (reserved)',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/aws-appmesh' })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.prefix: /aws-appmesh* and /aws-app-mesh* are reserved',
  },
  {
    name: 'gateway route prefix /aws-app-mesh/admin (reserved)',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/aws-app-mesh/admin' })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.prefix',
  },
  {
    name: 'gateway route exact path under /aws-appmesh (reserved)',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ path: { exact: '/aws-appmesh-health' } })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.path.exact',
  },
  {
    name: 'gRPC gateway route for service aws.app-mesh.Admin (reserved)',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      grpcRoute: {
        match: { serviceName: 'aws.app-mesh.Admin' },
        action: toService('web.internal'),
      },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.grpcRoute.match.serviceName: aws.app-mesh* and aws.appmesh are reserved',
  },
  {
    name: 'gRPC gateway route for service aws.appmesh (reserved)',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      grpcRoute: { match: { serviceName: 'aws.appmesh' }, action: toService('web.internal') },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.grpcRoute.match.serviceName',
  },
  {
    name: 'gateway route prefix without a leading slash',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: 'web' })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.prefix: must start with /',
  },
  {
    name: 'gateway route matching nothing',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({})),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match: one of prefix, path, hostname or port must be set',
  },
  {
    name: 'gateway route with two route types',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      ...httpGatewayRoute({ prefix: '/' }),
      http2Route: { match: { prefix: '/' }, action: toService('web.internal') },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec: exactly one of httpRoute, http2Route, grpcRoute must be set, got 2',
  },
  {
    name: 'gateway route hostname match both exact and suffix',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(
      httpGatewayRoute({ hostname: { exact: 'a.example.com', suffix: '.example.com' } }),
    ),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.hostname: exactly one of exact, suffix',
  },
  {
    name: 'gateway route priority above 1000',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({ ...httpGatewayRoute({ prefix: '/' }), priority: 1001 }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.priority',
  },
  {
    name: 'gateway route method that does not exist',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/', method: 'FETCH' })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.method',
  },
  {
    name: 'gateway route with 11 header matches',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(
      httpGatewayRoute({
        prefix: '/',
        headers: Array.from({ length: 11 }, (_, i) => ({ name: `x-h${i}` })),
      }),
    ),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.headers',
  },
  {
    name: 'gateway route prefix rewrite with both default and value',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      httpRoute: {
        match: { prefix: '/web/' },
        action: {
          ...toService('web.internal'),
          rewrite: { prefix: { defaultPrefix: 'DISABLED', value: '/v2/' } },
        },
      },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.rewrite.prefix: exactly one of defaultPrefix, value',
  },
  {
    name: 'gateway route prefix rewrite on a path match',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      httpRoute: {
        match: { path: { exact: '/web' } },
        action: { ...toService('web.internal'), rewrite: { prefix: { value: '/v2/' } } },
      },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.rewrite.prefix: requires match.prefix',
  },
  {
    name: 'gateway route whose target virtual service does not exist',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' }, toService('nope.internal'))),
    status: 404,
    errorType: 'NotFoundException',
    message:
      'spec.httpRoute.action.target.virtualService.virtualServiceName: VirtualService with name nope.internal',
  },
  {
    name: 'gateway route under a virtual gateway that does not exist',
    method: 'PUT',
    path: `${base}/virtualGateway/nope/gatewayRoutes`,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' })),
    status: 404,
    errorType: 'NotFoundException',
    message: 'VirtualGateway with name nope',
  },
  {
    name: 'gateway route without target port to a provider with two listeners',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' }, toService('multi.internal'))),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.target.port: is required',
  },
  {
    name: 'gateway route target port that the provider does not listen on',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' }, toService('multi.internal', 9999))),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.action.target.port: 9999 is not a listener port',
  },
  {
    name: 'gateway route type without a gateway listener of its protocol',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute({
      http2Route: { match: { prefix: '/' }, action: toService('web.internal') },
    }),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.http2Route: virtual gateway ingress has no http2 listener',
  },
  {
    name: 'gateway route matching a port the gateway does not listen on',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/', port: 7000 })),
    status: 400,
    errorType: 'BadRequestException',
    message: 'spec.httpRoute.match.port: 7000 is not a listener port of virtual gateway ingress',
  },
  {
    name: 'gateway route that already exists',
    method: 'PUT',
    path: gatewayRoutes,
    body: gatewayRoute(httpGatewayRoute({ prefix: '/' }), 'to-web'),
    status: 409,
    errorType: 'ConflictException',
    message: 'GatewayRoute with name to-web already exists under virtual gateway ingress',
  },
  {
    name: 'update a gateway route to a target that does not exist',
    method: 'PUT',
    path: `${gatewayRoutes}/to-web`,
    body: { spec: httpGatewayRoute({ prefix: '/web' }, toService('nope.internal')) },
    status: 404,
    errorType: 'NotFoundException',
    message: 'virtualServiceName: VirtualService with name nope.internal',
  },
  {
    name: 'delete a virtual service that a gateway route targets',
    method: 'DELETE',
    path: `${base}/virtualServices/web.internal`,
    status: 409,
    errorType: 'ResourceInUseException',
    message: 'GatewayRoute ingress/to-web',
  },
  {
    name: 'describe a gateway route that does not exist',
    method: 'GET',
    path: `${gatewayRoutes}/nope`,
    status: 404,
    errorType: 'NotFoundException',
    message: 'GatewayRoute with name nope is not present under virtual gateway ingress',
  },
  {
    name: 'path that is no operation',
    method: 'GET',
    path: '/v20190125/meshes/x/virtualWidgets',
    status: 404,
    errorType: 'NotFoundException',
    message: '/v20190125/meshes/x/virtualWidgets',
  },
];

describe('invalid requests get App Mesh errors and change nothing', () => {
  let trellis: TestControlPlane;

  const send = (
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) =>
    fetch(`${trellis.httpUrl}${path}`, {
      method,
      headers,
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });

  beforeAll(async () => {
    trellis = await startTestControlPlane();
    const setup: Array<[string, string, unknown]> = [
      [
        'PUT',
        '/v20190125/meshes',
        {
          meshName: mesh,
          tags: Array.from({ length: 45 }, (_, i) => ({ key: `tag${i}`, value: 'v' })),
        },
      ],
      [
        'PUT',
        `${base}/virtualNodes`,
        node({ listeners: [listener], serviceDiscovery: dns }, 'blue'),
      ],
      ['PUT', `${base}/virtualNodes`, node({}, 'solo')],
      [
        'PUT',
        `${base}/virtualRouters`,
        { virtualRouterName: 'web', spec: { listeners: [listener] } },
      ],
      ['PUT', `${base}/virtualRouter/web/routes`, route({ httpRoute: httpRoute() }, 'canary')],
      [
        'PUT',
        `${base}/virtualRouter/web/routes/canary`,
        { spec: { httpRoute: httpRoute() }, clientToken: `token-${run}` },
      ],
      [
        'PUT',
        `${base}/virtualServices`,
        {
          virtualServiceName: 'solo.internal',
          spec: { provider: { virtualNode: { virtualNodeName: 'solo' } } },
        },
      ],
      [
        'PUT',
        `${base}/virtualServices`,
        {
          virtualServiceName: 'web.internal',
          spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
        },
      ],
      [
        'PUT',
        `${base}/virtualRouters`,
        {
          virtualRouterName: 'multi',
          spec: {
            listeners: [listener, { portMapping: { port: 8081, protocol: 'http' } }],
          },
        },
      ],
      [
        'PUT',
        `${base}/virtualServices`,
        {
          virtualServiceName: 'multi.internal',
          spec: { provider: { virtualRouter: { virtualRouterName: 'multi' } } },
        },
      ],
      [
        'PUT',
        gateways,
        gateway(
          {
            listeners: [gatewayListener, { portMapping: { port: 9090, protocol: 'grpc' } }],
          },
          'ingress',
        ),
      ],
      ['PUT', gatewayRoutes, gatewayRoute(httpGatewayRoute({ prefix: '/web/' }), 'to-web')],
    ];
    for (const [method, path, body] of setup) {
      const response = await send(method, path, body);
      expect(response.status).toBe(200);
    }
  });
  afterAll(() => trellis.close());

  it('covers at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('covers at least 25 gateway cases', () => {
    expect(cases.filter((c) => /gateway/i.test(c.name)).length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)(
    '$name → $errorType',
    async ({ method, path, body, rawBody, headers, status, errorType, message }) => {
      const before = await meshContents(trellis.db, mesh);
      const response = await send(method, path, body, rawBody, headers);
      const payload = (await response.json()) as { message: string };

      expect({
        status: response.status,
        errorType: response.headers.get('x-amzn-errortype'),
      }).toEqual({ status, errorType });
      expect(Object.keys(payload)).toEqual(['message']);
      if (typeof message === 'string') expect(payload.message).toContain(message);
      else expect(payload.message).toMatch(message);
      expect(await meshContents(trellis.db, mesh)).toEqual(before);
      expect(await meshContents(trellis.db, newMesh)).toEqual({
        resources: [],
        changes: { n: 0 },
        revision: 0,
      });
    },
  );
});
